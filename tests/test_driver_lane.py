"""The request's driver lane (service.platform.db.DriverLane): a request whose first database work
goes straight to asyncpg holds one pooled connection without SQLAlchemy's bookkeeping, and whatever
SQLAlchemy executes later in that request joins the same connection and transaction. The
request's status still decides (service.platform.transaction): commit on 2xx/3xx, else nothing
stays, and the connection always goes back to the pool. Checked through real routes on the real
app."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from litestar import Litestar, Response, post
from litestar.params import FromPath
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.edge.dependencies import DB
from service.platform.db import driver_transaction, lane_of
from service.platform.jobs import enqueue_after_commit
from service.platform.transaction import abandon

DRIVER_INSERT = "INSERT INTO organizations (name, kind) VALUES ($1, 'organizer')"
ORM_INSERT = text("INSERT INTO organizations (name, kind) VALUES (:n, 'organizer')")
BACKEND = text("SELECT pg_backend_pid()")


async def _driver_write(db: AsyncSession, name: str) -> int:
    driver, began = await driver_transaction(db)
    assert began and lane_of(db) is not None
    await driver.execute(DRIVER_INSERT, name)
    pid: int = await driver.fetchval("SELECT pg_backend_pid()")
    return pid


@post("/api/test-lane/{status:int}/{name:str}", include_in_schema=False)
async def driver_then_orm(db: DB, status: FromPath[int], name: FromPath[str]) -> Response[Any]:
    """The booking's shape: the driver first, then SQLAlchemy (the slow path, a stored reply)."""
    pid = await _driver_write(db, name)
    await db.execute(ORM_INSERT, {"n": name + "（続き）"})
    enqueue_after_commit(db, "send_notification", f"lane:{name}", 1)
    same = (await db.scalar(BACKEND)) == pid
    return Response({"same_connection": same}, status_code=status)


@post("/api/test-lane-only/{status:int}/{name:str}", include_in_schema=False)
async def driver_only(db: DB, status: FromPath[int], name: FromPath[str]) -> Response[Any]:
    await _driver_write(db, name)
    return Response({}, status_code=status)


@post("/api/test-lane-raise/{name:str}", include_in_schema=False)
async def driver_then_raise(db: DB, name: FromPath[str]) -> None:
    await _driver_write(db, name)
    raise RuntimeError("a fault after the booking statement")


@post("/api/test-lane-abandon/{name:str}", include_in_schema=False)
async def driver_abandon_then_orm(db: DB, name: FromPath[str]) -> Response[Any]:
    """A refused attempt abandoned (as a page does before re-rendering), then a write that
    belongs to the answer: only the second stays."""
    await _driver_write(db, name)
    await abandon(db)
    await db.execute(ORM_INSERT, {"n": name + "（続き）"})
    return Response({}, status_code=201)


@post("/api/test-lane-second/{name:str}", include_in_schema=False)
async def orm_first(db: DB, name: FromPath[str]) -> Response[Any]:
    """SQLAlchemy first: the driver then runs inside its transaction, no lane is opened."""
    await db.execute(ORM_INSERT, {"n": name})
    driver, began = await driver_transaction(db)
    assert not began and lane_of(db) is None
    await driver.execute(DRIVER_INSERT, name + "（続き）")
    return Response({}, status_code=201)


@pytest.fixture
def lane_app(app: Litestar) -> Litestar:
    for route in (driver_then_orm, driver_only, driver_then_raise, driver_abandon_then_orm):
        app.register(route)
    app.register(orm_first)
    return app


async def _names(db: AsyncSession, prefix: str) -> list[str]:
    rows = await db.scalars(
        text("SELECT name FROM organizations WHERE name LIKE :p ORDER BY name"), {"p": prefix + "%"}
    )
    return list(rows)


def _pool_idle(app: Litestar) -> bool:
    pool: Any = app.state.resources.engine.sync_engine.pool
    return bool(pool.checkedout() == 0)


@pytest.mark.parametrize(("status", "kept"), [(201, True), (303, True), (409, False)])
async def test_driver_then_sqlalchemy_is_one_transaction_on_one_connection(
    lane_app: Litestar, client: AsyncClient, db: AsyncSession, status: int, kept: bool
) -> None:
    name = f"車線{status}"
    r = await client.post(f"/api/test-lane/{status}/{name}", follow_redirects=False)
    assert r.status_code == status
    if status != 303:
        assert r.json()["same_connection"] is True
    assert await _names(db, name) == ([name, name + "（続き）"] if kept else [])
    assert _pool_idle(lane_app)


@pytest.mark.parametrize(("status", "kept"), [(201, True), (422, False)])
async def test_driver_only_commits_or_rolls_back_on_the_driver(
    lane_app: Litestar, client: AsyncClient, db: AsyncSession, status: int, kept: bool
) -> None:
    name = f"車線のみ{status}"
    assert (await client.post(f"/api/test-lane-only/{status}/{name}")).status_code == status
    assert await _names(db, name) == ([name] if kept else [])
    assert _pool_idle(lane_app)


async def test_a_fault_after_the_driver_leaves_nothing_and_frees_the_connection(
    lane_app: Litestar, client: AsyncClient, db: AsyncSession
) -> None:
    r = await client.post("/api/test-lane-raise/故障")
    assert r.status_code == 500
    assert await _names(db, "故障") == []
    assert _pool_idle(lane_app)
    # The connection went back clean: the next request on the pool commits as usual.
    assert (await client.post("/api/test-lane-only/201/故障の後")).status_code == 201
    assert await _names(db, "故障の後") == ["故障の後"]


async def test_abandon_undoes_the_driver_work_and_the_request_goes_on(
    lane_app: Litestar, client: AsyncClient, db: AsyncSession
) -> None:
    assert (await client.post("/api/test-lane-abandon/放棄")).status_code == 201
    assert await _names(db, "放棄") == ["放棄（続き）"]
    assert _pool_idle(lane_app)


async def test_no_lane_when_sqlalchemy_came_first(
    lane_app: Litestar, client: AsyncClient, db: AsyncSession
) -> None:
    assert (await client.post("/api/test-lane-second/先に")).status_code == 201
    assert await _names(db, "先に") == ["先に", "先に（続き）"]
    assert _pool_idle(lane_app)


async def test_sessions_outside_requests_never_open_a_lane(db: AsyncSession) -> None:
    """Workers, the CLI and tests end their own sessions with commit(): no lane to forget."""
    _, began = await driver_transaction(db)
    assert began and lane_of(db) is None
    await db.rollback()


async def test_a_refused_booking_through_the_api_keeps_the_pool_whole(
    app: Litestar, client: AsyncClient, db: AsyncSession
) -> None:
    """The hot path's own refusal (a Conflict raised after the lane's statement)."""
    from tests.browser.data import add_event

    seeded = await add_event(db, capacity=1, waitlist_limit=0)
    url = f"/api/v1/sessions/{seeded.session_ids[0]}/bookings"
    person = {"name": "静岡 太郎", "name_kana": "しずおか たろう", "phone": "090-1111-2222"}
    assert (await client.post(url, json=person)).status_code == 201
    second = {**person, "phone": "090-1111-3333"}
    refused = await client.post(url, json=second)
    assert refused.status_code == 409 and refused.json()["error"] == "session_full"
    assert _pool_idle(app)
    count = await db.scalar(
        text("SELECT count(*) FROM bookings WHERE session_id = :s"), {"s": seeded.session_ids[0]}
    )
    assert count == 1


async def test_lanes_get_connections_in_arrival_order(settings: Any) -> None:
    """With every connection taken, waiting lanes are served first come, first served: one that
    arrives just as a connection is handed back does not take it from those already waiting
    (asyncio.Queue under the pool would let it, and under a rush some waited several times)."""
    import asyncio

    from service.platform.db import LANE_ALLOWED, make_engine, make_session_factory, release_lane

    engine = make_engine(settings.sqlalchemy_url, pool_size=1)
    sessions = make_session_factory(engine)
    got: list[str] = []

    async def lane(name: str) -> None:
        async with sessions() as session:
            session.info[LANE_ALLOWED] = True
            await driver_transaction(session)
            got.append(name)
            await abandon(session)
            await release_lane(session)

    try:
        async with sessions() as holder:
            holder.info[LANE_ALLOWED] = True
            await driver_transaction(holder)  # the only connection
            waiting = [asyncio.create_task(lane(n)) for n in ("second", "third")]
            await asyncio.sleep(0.1)  # both are in line now
            await abandon(holder)
            # A newcomer whose first step is due before the woken waiter's, as under load.
            late = asyncio.create_task(lane("late"))
            await release_lane(holder)  # hands the connection back without yielding
            await asyncio.gather(*waiting, late)
        assert got == ["second", "third", "late"]
    finally:
        await engine.dispose()
