"""The request owns the transaction: committed when the handler returns, rolled back (and its
jobs dropped) when it raises."""

from __future__ import annotations

import pytest
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.dependencies import provide_db
from service.jobs import enqueue_after_commit

INSERT = text("INSERT INTO organizations (name, kind) VALUES (:n, 'organizer')")


async def _exists(db: AsyncSession, name: str) -> bool:
    found = await db.scalar(text("SELECT count(*) FROM organizations WHERE name = :n"), {"n": name})
    return bool(found)


async def test_a_handler_that_raises_leaves_nothing_behind(app: Litestar, db: AsyncSession) -> None:
    gen = provide_db(app.state)
    session = await gen.__anext__()
    await session.execute(INSERT, {"n": "失敗した要求の団体"})
    enqueue_after_commit(session, "send_notification", "notify:1", 1)
    with pytest.raises(RuntimeError):
        await gen.athrow(RuntimeError("handler failed"))
    assert not await _exists(db, "失敗した要求の団体")
    await app.state.resources.jobs.flush()
    assert app.state.resources.jobs._pending == []


async def test_a_handler_that_returns_commits(app: Litestar, db: AsyncSession) -> None:
    gen = provide_db(app.state)
    session = await gen.__anext__()
    await session.execute(INSERT, {"n": "成功した要求の団体"})
    with pytest.raises(StopAsyncIteration):
        await gen.__anext__()
    assert await _exists(db, "成功した要求の団体")
