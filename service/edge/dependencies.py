"""Request-scoped dependencies. The request owns the transaction (service.platform.transaction): it
commits on a 2xx/3xx response and rolls back otherwise; jobs queued on the session are handed
over only after the commit."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from arq.connections import ArqRedis
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from service.platform.db import LANE_ALLOWED, close_session
from service.platform.settings import Settings
from service.platform.state import Resources
from service.platform.transaction import drop, finish, request_commits


def resources(state: State) -> Resources:
    res: Resources = state.resources
    return res


async def provide_db(state: State) -> AsyncGenerator[AsyncSession, None]:
    res = resources(state)
    session = res.session_factory()
    session.info[LANE_ALLOWED] = True
    try:
        yield session
    except Exception:
        await drop(session)
        raise
    else:
        res.jobs.submit(await finish(session, commit=request_commits(session)))
    finally:
        await close_session(session)


def provide_settings(state: State) -> Settings:
    return resources(state).settings


def provide_redis(state: State) -> ArqRedis:
    return resources(state).redis


# Handler parameters name their dependencies explicitly (Litestar 3 drops inferred ones).
DB = NamedDependency[AsyncSession]
AppSettings = NamedDependency[Settings]
Redis = NamedDependency[ArqRedis]
