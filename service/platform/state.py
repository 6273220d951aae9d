"""Process-wide resources held on the app: the engine, the session factory, Redis and the
dispatcher of after-commit jobs."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service.platform.jobs import JobDispatcher
from service.platform.settings import Settings


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    redis: ArqRedis
    jobs: JobDispatcher
