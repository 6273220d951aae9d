"""The booking hot path runs on asyncpg directly, inside the session's own transaction."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.platform.db import DriverStatement, driver_connection

INSERT = DriverStatement.of(
    text("INSERT INTO organizations (name, kind) VALUES (:name, 'organizer') RETURNING id")
)


async def _count(db: AsyncSession, name: str) -> int:
    return int(
        await db.scalar(text("SELECT count(*) FROM organizations WHERE name = :n"), {"n": name})
        or 0
    )


def test_compiled_statement_names_its_parameters_in_order() -> None:
    assert INSERT.sql.count("$1") == 1
    assert INSERT.args({"name": "x"}) == ["x"]


async def test_driver_statements_roll_back_with_the_session(db: AsyncSession) -> None:
    conn = await driver_connection(db)
    await conn.fetchval(INSERT.sql, *INSERT.args({"name": "取り消される団体"}))
    # The same transaction as the session's own statements: it sees the row...
    assert await _count(db, "取り消される団体") == 1
    await db.rollback()
    # ...and the session's rollback removes it.
    assert await _count(db, "取り消される団体") == 0


async def test_driver_statements_commit_with_the_session(db: AsyncSession) -> None:
    conn = await driver_connection(db)
    await conn.fetchval(INSERT.sql, *INSERT.args({"name": "残る団体"}))
    assert conn.is_in_transaction()
    await db.commit()
    assert not conn.is_in_transaction()
    assert await _count(db, "残る団体") == 1


async def test_driver_connection_joins_a_transaction_already_begun(db: AsyncSession) -> None:
    await db.execute(text("INSERT INTO organizations (name, kind) VALUES ('先の団体', 'cohost')"))
    conn = await driver_connection(db)
    await conn.fetchval(INSERT.sql, *INSERT.args({"name": "後の団体"}))
    await db.rollback()
    assert await _count(db, "先の団体") == 0
    assert await _count(db, "後の団体") == 0
