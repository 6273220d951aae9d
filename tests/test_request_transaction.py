"""The request owns the transaction: it commits on a 2xx or 3xx response and rolls back on
anything else, whether the handler raised or returned the error page itself; jobs queued for
after the commit reach Redis only when it commits. Checked through real routes of the real app
(registered for the test) against the database and Redis themselves."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from litestar import Litestar, Response, post
from litestar.params import FromPath
from redis.asyncio import Redis as RawRedis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.errors import Conflict
from service.edge.dependencies import DB
from service.platform.jobs import enqueue_after_commit

INSERT = text("INSERT INTO organizations (name, kind) VALUES (:n, 'organizer')")


async def _write(db: AsyncSession, name: str) -> None:
    await db.execute(INSERT, {"n": name})
    enqueue_after_commit(db, "send_notification", f"job:{name}", 1)


@post("/api/test-tx/{status:int}/{name:str}", include_in_schema=False)
async def answer_with(db: DB, status: FromPath[int], name: FromPath[str]) -> Response[Any]:
    await _write(db, name)
    headers = {"Location": "/"} if 300 <= status < 400 else {}
    return Response({"status": status}, status_code=status, headers=headers)


@post("/api/test-tx-default/{name:str}", include_in_schema=False, status_code=201)
async def answer_without_a_status(db: DB, name: FromPath[str]) -> Response[bytes]:
    await _write(db, name)
    return Response(b"made")  # the route's 201


@post("/api/test-tx-raise/{name:str}", include_in_schema=False)
async def raise_after_writing(db: DB, name: FromPath[str]) -> None:
    await _write(db, name)
    raise Conflict("だめです。", code="refused_for_the_test")


@pytest.fixture
def tx_app(app: Litestar) -> Litestar:
    app.register(answer_with)
    app.register(raise_after_writing)
    app.register(answer_without_a_status)
    return app


async def _exists(db: AsyncSession, name: str) -> bool:
    found = await db.scalar(text("SELECT count(*) FROM organizations WHERE name = :n"), {"n": name})
    return bool(found)


async def _job_in_redis(app: Litestar, redis_url: str, name: str) -> bool:
    await app.state.resources.jobs.flush()
    redis = RawRedis.from_url(redis_url)
    try:
        return bool(await redis.exists(f"arq:job:job:{name}"))
    finally:
        await redis.aclose()


@pytest.mark.parametrize(
    ("status", "kept"), [(200, True), (201, True), (303, True), (409, False), (422, False)]
)
async def test_the_response_status_decides(
    tx_app: Litestar,
    client: AsyncClient,
    db: AsyncSession,
    clean_redis: str,
    status: int,
    kept: bool,
) -> None:
    name = f"団体{status}"
    r = await client.post(f"/api/test-tx/{status}/{name}", follow_redirects=False)
    assert r.status_code == status
    assert await _exists(db, name) is kept
    assert await _job_in_redis(tx_app, clean_redis, name) is kept


async def test_a_handler_that_raises_leaves_nothing_behind(
    tx_app: Litestar, client: AsyncClient, db: AsyncSession, clean_redis: str
) -> None:
    r = await client.post("/api/test-tx-raise/失敗した要求の団体")
    assert r.status_code == 409 and r.json()["error"] == "refused_for_the_test"
    assert not await _exists(db, "失敗した要求の団体")
    assert not await _job_in_redis(tx_app, clean_redis, "失敗した要求の団体")


async def test_requests_after_a_refusal_commit_again(
    tx_app: Litestar, client: AsyncClient, db: AsyncSession
) -> None:
    """The status is per request: a refused request does not make the next one roll back."""
    assert (await client.post("/api/test-tx/409/拒否")).status_code == 409
    assert (await client.post("/api/test-tx/201/次の要求")).status_code == 201
    assert not await _exists(db, "拒否")
    assert await _exists(db, "次の要求")


async def test_a_response_without_a_status_commits_with_its_route_default(
    tx_app: Litestar, client: AsyncClient, db: AsyncSession
) -> None:
    r = await client.post("/api/test-tx-default/既定の状態")
    assert r.status_code == 201
    assert await _exists(db, "既定の状態")


def test_every_route_answers_success_or_redirect_by_default(app: Litestar) -> None:
    """What a Response without a status relies on."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            status = getattr(handler, "status_code", 200)
            assert 200 <= status < 400, (route.path, status)
