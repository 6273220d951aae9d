"""Real PostgreSQL and Redis for every test: throwaway embedded servers unless TEST_DATABASE_URL /
TEST_REDIS_URL are set. Each test gets its own database, cloned from a migrated template."""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from httpx import ASGITransport, AsyncClient
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession

from service.devtools.embedded_servers import remove_throwaway, throwaway_postgres, throwaway_redis
from service.platform.db import make_engine, make_session_factory
from service.platform.migrations import upgrade
from service.platform.settings import Settings, load_settings, to_plain_pg_url
from tests.mail_support import Mailbox, open_dispatcher, smtp_server, with_smtp_port

_counter = itertools.count()


@asynccontextmanager
async def open_app(settings: Settings) -> AsyncIterator[Litestar]:
    """The app with its resources open. Not app.lifespan(): its anyio task group must be left
    in the task that entered it, which pytest-asyncio fixtures do not guarantee."""
    from service.app import create_app, open_resources

    application = create_app(settings)
    async with open_resources(settings) as resources:
        application.state.resources = resources
        with open_dispatcher(resources.jobs):
            yield application


def _with_database(url: str, name: str) -> str:
    base = to_plain_pg_url(url).rsplit("/", 1)[0]
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        yield to_plain_pg_url(external)
        return
    pg = throwaway_postgres()
    pg.start()
    try:
        yield pg.url
    finally:
        pg.stop()
        remove_throwaway(pg, None)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    external = os.environ.get("TEST_REDIS_URL")
    if external:
        yield external
        return
    server = throwaway_redis()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
        remove_throwaway(None, server)


@pytest.fixture(scope="session")
async def template_db(pg_admin_url: str) -> AsyncIterator[str]:
    name = f"nw_tpl_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(pg_admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        await asyncio.to_thread(upgrade, _with_database(pg_admin_url, name))
        yield name
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def database_url(pg_admin_url: str, template_db: str) -> AsyncIterator[str]:
    """A database of the test's own, at the head migration, dropped afterwards."""
    name = f"nw_t_{os.getpid()}_{next(_counter)}"
    conn = await asyncpg.connect(pg_admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
        yield _with_database(pg_admin_url, name)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def clean_redis(redis_url: str) -> AsyncIterator[str]:
    client = aioredis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    yield redis_url


@pytest.fixture
def settings(database_url: str, clean_redis: str) -> Settings:
    return load_settings(
        {
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": clean_redis,
            "DB_POOL_SIZE": "20",
            "RATE_LIMIT_PER_MINUTE": "100000",
            # Tests book from one address; tests/test_abuse_limits.py sets its own limit.
            "BOOKING_LIMIT_PER_MINUTE": "0",
            "LOG_LEVEL": "WARNING",
        }
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[AsyncSession]:
    """A session on the test's own database, for domain-level tests."""
    engine = make_engine(settings.sqlalchemy_url, 5)
    async with make_session_factory(engine)() as session:
        yield session
    await engine.dispose()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    async with open_app(settings) as application:
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=app)
    async with AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on loopback (aiosmtpd) and the mailbox it delivers to."""
    with smtp_server() as server:
        yield server


@pytest.fixture
def mail_settings(settings: Settings, smtp: tuple[Mailbox, int]) -> Settings:
    return with_smtp_port(settings, smtp[1])
