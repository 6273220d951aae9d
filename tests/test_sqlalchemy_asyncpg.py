"""service/platform/sqlalchemy_asyncpg.py relies on private parts of SQLAlchemy's asyncpg adapter
(its transaction and how it begins and ends one). These fail when an upgrade of SQLAlchemy changes
any of them, before the booking lane breaks silently."""

from __future__ import annotations

import inspect
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.ext.asyncio import AsyncSession

from service.platform import sqlalchemy_asyncpg

COUNT = text("SELECT count(*) FROM organizations WHERE name = :n")
INSERT = "INSERT INTO organizations (name, kind) VALUES ($1, 'organizer')"


def test_the_adapter_still_has_every_private_part_relied_on() -> None:
    cls: Any = AsyncAdapt_asyncpg_connection
    members = {name for klass in cls.__mro__ for name in vars(klass)}
    slots = {name for klass in cls.__mro__ for name in getattr(klass, "__slots__", ())}
    for name in sqlalchemy_asyncpg.RELIES_ON:
        assert name in members | slots, f"{name} is gone from SQLAlchemy's asyncpg adapter"
    assert inspect.iscoroutinefunction(cls._start_transaction)
    assert list(inspect.signature(cls._call_and_discard).parameters) == ["self", "fn"]
    # The adapter itself begins with _start_transaction when _transaction is None.
    cursor_source = inspect.getsource(inspect.getmodule(cls))  # type: ignore[arg-type]
    assert "if adapt_connection._transaction is None:" in cursor_source
    assert "await adapt_connection._start_transaction()" in cursor_source


async def _adapted(db: AsyncSession) -> Any:
    conn = await db.connection()
    return (await conn.get_raw_connection()).dbapi_connection


async def test_begin_then_sqlalchemy_share_one_transaction(db: AsyncSession) -> None:
    adapted = await _adapted(db)
    assert not sqlalchemy_asyncpg.has_begun(adapted)
    assert await sqlalchemy_asyncpg.begin(adapted) is True
    assert await sqlalchemy_asyncpg.begin(adapted) is False
    assert sqlalchemy_asyncpg.has_begun(adapted)
    driver = adapted.driver_connection
    await driver.execute(INSERT, "共有の団体")
    # SQLAlchemy joins the transaction begun on the driver: it sees the row, and its rollback
    # takes the row back (one transaction, not two).
    assert await db.scalar(COUNT, {"n": "共有の団体"}) == 1
    await db.rollback()
    assert not sqlalchemy_asyncpg.has_begun(adapted)
    assert await db.scalar(COUNT, {"n": "共有の団体"}) == 0


async def test_end_commits_or_rolls_back_and_forgets_the_transaction(db: AsyncSession) -> None:
    for name, commit, kept in (("残す団体", True, 1), ("消す団体", False, 0)):
        adapted = await _adapted(db)
        await sqlalchemy_asyncpg.begin(adapted)
        await adapted.driver_connection.execute(INSERT, name)
        await sqlalchemy_asyncpg.end(adapted, commit=commit)
        assert not sqlalchemy_asyncpg.has_begun(adapted)
        assert not adapted.driver_connection.is_in_transaction()
        await sqlalchemy_asyncpg.end(adapted, commit=commit)  # nothing open: nothing sent
        assert await db.scalar(COUNT, {"n": name}) == kept
        await db.rollback()
