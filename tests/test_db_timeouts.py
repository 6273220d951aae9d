"""Every connection waits on a lock and runs a statement for a bounded time (settings), and a
request that hits either bound is answered 503 with Retry-After, having changed nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import asyncpg
import pytest
from httpx import ASGITransport, AsyncClient
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.platform.settings import Settings, load_settings, to_plain_pg_url
from tests.conftest import open_app
from tests.factories import make_session

GOOD = {"name": "静岡 太郎", "name_kana": "しずおか たろう", "phone": "090-1234-5678"}


@pytest.fixture
async def tight_app(settings: Settings) -> AsyncIterator[Litestar]:
    tight = dataclasses.replace(settings, db_lock_timeout_ms=300, db_statement_timeout_ms=2000)
    async with open_app(tight) as app:
        yield app


def test_the_bounds_come_from_the_environment() -> None:
    env = {"APP_ENV": "test", "DATABASE_URL": "postgresql://x@h/d", "REDIS_URL": "redis://h/0"}
    loaded = load_settings({**env, "DB_LOCK_TIMEOUT_MS": "1500", "DB_STATEMENT_TIMEOUT_MS": "9000"})
    assert (loaded.db_lock_timeout_ms, loaded.db_statement_timeout_ms) == (1500, 9000)
    defaults = load_settings(env)
    assert (defaults.db_lock_timeout_ms, defaults.db_statement_timeout_ms) == (3000, 15000)


async def test_every_connection_has_the_bounds(tight_app: Litestar) -> None:
    engine = tight_app.state.resources.engine
    async with engine.connect() as conn:
        assert await conn.scalar(text("SHOW lock_timeout")) == "300ms"
        assert await conn.scalar(text("SHOW statement_timeout")) == "2s"


async def test_a_lock_held_too_long_is_503_try_again_and_nothing_is_kept(
    tight_app: Litestar, settings: Settings, db: AsyncSession
) -> None:
    session_id = (await make_session(db, capacity=5)).id
    await db.commit()
    holder = await asyncpg.connect(to_plain_pg_url(settings.database_url))
    try:
        tx = holder.transaction()
        await tx.start()
        # Booking inserts take KEY SHARE on the session row: a FOR UPDATE holder blocks them.
        await holder.execute("SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE", session_id)
        transport = ASGITransport(app=tight_app)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            r = await client.post(f"/api/v1/sessions/{session_id}/bookings", json=GOOD)
        await tx.rollback()
    finally:
        await holder.close()
    assert r.status_code == 503
    assert r.headers["retry-after"] == "5"
    assert r.json()["error"] == "try_again"
    assert await db.scalar(text("SELECT count(*) FROM bookings")) == 0
    assert await db.scalar(text("SELECT count(*) FROM persons")) == 0
