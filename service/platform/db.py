"""SQLAlchemy base, engine and session factory (async, asyncpg)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import (
    CheckConstraint,
    Connection,
    DateTime,
    MetaData,
    event,
    func,
)
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.util.concurrency import greenlet_spawn

from service.platform import sqlalchemy_asyncpg
from service.platform.exception_chain import causes
from service.platform.settings import Settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


# CheckConstraint.info key: (column, values) of a vocabulary's CHECK list, for
# tests/test_vocabulary_checks.py to compare with the migrated database.
ONE_OF = "one_of"


def one_of(column: str, values: Iterable[str], name: str | None = None) -> CheckConstraint:
    """A CHECK that column holds one of values (a vocabulary: an enum's or a tuple's values)."""
    chosen = tuple(values)
    allowed = ", ".join(f"'{v}'" for v in chosen)
    return CheckConstraint(
        f"{column} IN ({allowed})", name=name or f"{column}_valid", info={ONE_OF: (column, chosen)}
    )


# Seconds to wait for a new connection: a database that does not answer (a host gone, not a port
# refusing) becomes a 503 in this time instead of the driver's default minute.
CONNECT_TIMEOUT_SECONDS = 5


def make_engine(
    url: str,
    pool_size: int = 10,
    *,
    lock_timeout_ms: int = 3000,
    statement_timeout_ms: int = 15000,
) -> AsyncEngine:
    """Every connection gets the timezone, a name, and bounds on waiting for a lock and on any
    statement (set as connection parameters at startup: no extra round trip per request)."""
    server_settings = {
        "timezone": "UTC",
        "application_name": "nextwork",
        "lock_timeout": str(lock_timeout_ms),
        "statement_timeout": str(statement_timeout_ms),
    }
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        # A fixed pool: overflow connections are opened and closed per burst, and each new
        # connection re-prepares the booking statement (make bench showed the churn).
        max_overflow=0,
        # No pre-ping: on asyncpg it is three round trips (begin, ";", rollback) per checkout.
        # drop_closed_connections below catches the connections a restart closed, for free.
        pool_pre_ping=False,
        connect_args={"server_settings": server_settings, "timeout": CONNECT_TIMEOUT_SECONDS},
    )
    event.listen(engine.sync_engine, "checkout", drop_closed_connections)
    return engine


def drop_closed_connections(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """A pooled connection whose server went away (a PostgreSQL restart or failover closes every
    session) is noticed by asyncpg as soon as the socket closes, while it sits idle in the pool.
    Raising DisconnectionError here makes the pool discard it and hand out a fresh one (it tries
    three times), so the first request after a restart succeeds without a ping round trip."""
    driver: asyncpg.Connection = dbapi_connection.driver_connection
    if driver.is_closed():
        raise DisconnectionError("pooled connection was closed by the server")


def engine_for(settings: Settings, pool_size: int) -> AsyncEngine:
    return make_engine(
        settings.sqlalchemy_url,
        pool_size,
        lock_timeout_ms=settings.db_lock_timeout_ms,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )


def constraint_name(exc: BaseException) -> str | None:
    """The constraint a write violated, whether it went through SQLAlchemy (IntegrityError
    wraps the driver's error) or straight to asyncpg (the booking hot path)."""
    for seen in causes(exc, context=False):
        name = getattr(seen, "constraint_name", None)
        if isinstance(name, str):
            return name
    return None


def contains_pattern(value: str) -> str:
    """A LIKE / ILIKE pattern matching `value` anywhere, its own % _ and \\ taken literally."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        engine, expire_on_commit=False, autoflush=False, sync_session_class=LaneSession
    )


# session.info keys: the driver lane of this session, and whether it may open one (only the
# request's own session, whose end in service.platform.transaction knows about lanes).
_LANE = "driver_lane"
LANE_ALLOWED = "driver_lane_allowed"


@dataclass(slots=True)
class DriverLane:
    """A pooled connection held by a session without SQLAlchemy's Connection and transaction
    bookkeeping, which cost more CPU than the booking statement itself (make bench: about a
    sixth of a booking request). The booking hot path (BEGIN, one statement, COMMIT) runs on
    it alone; anything SQLAlchemy executes later in the same session joins it (LaneSession), so
    there is still one connection and one transaction per request."""

    engine: Any  # the sync Engine
    fairy: PoolProxiedConnection
    gate: asyncio.Semaphore
    joined: Connection | None = None

    @property
    def adapted(self) -> Any:
        """SQLAlchemy's adapter around the asyncpg connection (platform/sqlalchemy_asyncpg.py)."""
        return self.fairy.dbapi_connection

    @property
    def driver(self) -> asyncpg.Connection:
        driver: asyncpg.Connection = self.fairy.driver_connection
        return driver

    def connection(self) -> Connection:
        if self.joined is None:
            self.joined = Connection(self.engine, connection=self.fairy)
        return self.joined


class LaneSession(Session):
    """A Session that runs on its driver lane once one is open (see DriverLane)."""

    def get_bind(self, mapper: Any = None, **kw: Any) -> Any:
        lane: DriverLane | None = self.info.get(_LANE)
        if lane is not None:
            return lane.connection()
        return super().get_bind(mapper, **kw)


# One fair line per pool for the lanes. asyncio.Queue, under SQLAlchemy's async pool, lets a
# newcomer take a connection just handed back while the waiter it woke has not run yet, which
# sends that waiter to the back of the line again: under a rush some requests waited several
# times over (make bench, the spread case: p99 1.9x the floor's; 0.8-1.0x with this line).
# asyncio.Semaphore hands a freed place to its first waiter, so lanes check out in arrival order.
_LINES: weakref.WeakKeyDictionary[Any, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _line_for(engine: Any) -> asyncio.Semaphore:
    line = _LINES.get(engine.pool)
    if line is None:
        line = _LINES[engine.pool] = asyncio.Semaphore(engine.pool.size())
    return line


async def _open_lane(engine: AsyncEngine) -> DriverLane:
    line = _line_for(engine.sync_engine)
    await line.acquire()
    try:
        return DriverLane(engine.sync_engine, await engine.raw_connection(), line)
    except BaseException:
        line.release()
        raise


async def close_session(session: AsyncSession) -> None:
    """session.close(), without its task and greenlet when there is no transaction to end, and
    not at all when nothing was loaded either (the booking hot path: its lane is already back
    in the pool, and closing would only walk empty collections)."""
    if session.in_transaction() or lane_of(session) is not None:
        await asyncio.shield(session.close())
        return
    sync = session.sync_session
    if sync.identity_map or sync.new or sync.deleted:
        sync.close()


def lane_of(session: AsyncSession) -> DriverLane | None:
    lane: DriverLane | None = session.info.get(_LANE)
    return lane


async def release_lane(session: AsyncSession) -> None:
    """Back to the pool, rolling back whatever is still open (the pool's reset on return)."""
    lane: DriverLane | None = session.info.pop(_LANE, None)
    if lane is None:
        return
    try:
        if (
            lane.joined is None
            and not sqlalchemy_asyncpg.has_begun(lane.adapted)
            and not lane.driver.is_closed()
        ):
            # Nothing left to roll back, so the return to the pool does no I/O: no greenlet.
            lane.fairy.close()
        else:
            await greenlet_spawn(lane.joined.close if lane.joined is not None else lane.fairy.close)
    finally:
        lane.gate.release()


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A text() clause or a Core statement compiled once for asyncpg: $n placeholders and the
    names behind them."""

    sql: str
    names: tuple[str, ...]

    @classmethod
    def of(cls, clause: ClauseElement) -> DriverStatement:
        compiled = clause.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
        assert isinstance(compiled, SQLCompiler)
        return cls(compiled.string, tuple(compiled.positiontup or ()))

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session's transaction, for the booking hot path, where
    SQLAlchemy's per-statement work costs more than the statement (make bench). The transaction
    stays SQLAlchemy's: begun here when it is not yet (as the asyncpg adapter itself does before
    its first statement), committed or rolled back by the session as usual."""
    driver, _ = await driver_transaction(session)
    return driver


async def driver_transaction(session: AsyncSession) -> tuple[asyncpg.Connection, bool]:
    """driver_connection, and whether its transaction began just now (nothing done in it yet).
    The request's session opens a driver lane when this is the first thing it does."""
    lane = lane_of(session)
    if lane is None and session.info.get(LANE_ALLOWED) and not session.in_transaction():
        assert isinstance(session.bind, AsyncEngine)
        lane = session.info[_LANE] = await _open_lane(session.bind)
    if lane is not None:
        raw: Any = lane.fairy
    else:
        conn = await session.connection()
        raw = await conn.get_raw_connection()
    began = await sqlalchemy_asyncpg.begin(raw.dbapi_connection)
    driver: asyncpg.Connection = raw.driver_connection
    return driver, began
