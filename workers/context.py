"""The worker's resources (settings, engine, sessions) and its unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from service.platform.db import engine_for, make_session_factory
from service.platform.jobs import enqueue
from service.platform.settings import Settings
from service.platform.transaction import abandon, finish

WORKER_POOL_SIZE = 4


async def open_context(ctx: dict[str, Any], settings: Settings) -> None:
    ctx["settings"] = settings
    ctx["engine"] = engine_for(settings, WORKER_POOL_SIZE)
    ctx["session_factory"] = make_session_factory(ctx["engine"])


async def close_context(ctx: dict[str, Any]) -> None:
    engine = ctx.pop("engine", None)
    if engine is not None:
        await engine.dispose()


def settings_of(ctx: dict[str, Any]) -> Settings:
    settings: Settings = ctx["settings"]
    return settings


@asynccontextmanager
async def transaction(ctx: dict[str, Any]) -> AsyncIterator[AsyncSession]:
    """Like a web request: commit at the end, roll back on error, and enqueue the jobs the
    domain queued only once the commit has happened."""
    factory: async_sessionmaker[AsyncSession] = ctx["session_factory"]
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await abandon(session)
            raise
        await enqueue(ctx["redis"], await finish(session, commit=True))
