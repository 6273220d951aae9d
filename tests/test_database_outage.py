"""PostgreSQL going down and coming back, on a throwaway embedded server stopped and started
inside the test: every route answers 503 with Retry-After and the try-again message while it is
down (pages with the desk's phone number), and the first requests after a restart succeed."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from httpx import ASGITransport, AsyncClient, Response

from service.devtools.embedded_servers import Postgres, remove_throwaway, throwaway_postgres
from service.edge.staff_auth import SESSION_COOKIE
from service.platform.db import make_engine, make_session_factory
from service.platform.migrations import upgrade
from service.platform.settings import Settings
from tests.conftest import open_app
from tests.factories import make_session
from tests.manage_support import bearer, issue_token, make_staff

TRY_AGAIN = "少し時間をおいて"


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[Postgres]:
    pg = throwaway_postgres()
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()
        remove_throwaway(pg, None)


@pytest.fixture
async def outage_settings(own_postgres: Postgres, settings: Settings) -> Settings:
    """The test's settings, with the database on the server the test may stop."""
    if not own_postgres.running():
        await asyncio.to_thread(own_postgres.start)
    conn = await asyncpg.connect(own_postgres.url)
    try:
        await conn.execute("DROP DATABASE IF EXISTS outage WITH (FORCE)")
        await conn.execute("CREATE DATABASE outage")
    finally:
        await conn.close()
    url = own_postgres.url.rsplit("/", 1)[0] + "/outage"
    await asyncio.to_thread(upgrade, url)
    return dataclasses.replace(settings, database_url=url)


@dataclasses.dataclass
class World:
    session_id: int
    event_id: int
    token: str
    web_token: str = ""


async def _world(settings: Settings) -> World:
    from sqlalchemy.ext.asyncio import AsyncSession

    engine = make_engine(settings.sqlalchemy_url, 2)
    try:
        db: AsyncSession
        async with make_session_factory(engine)() as db:
            session = await make_session(db, capacity=50)
            staff = await make_staff(db, "organizer")
            token = await issue_token(db, staff)
            web_token = await issue_token(db, staff, "web")
            return World(session.id, session.event_id, token, web_token)
    finally:
        await engine.dispose()


@pytest.fixture
async def outage(outage_settings: Settings) -> AsyncIterator[tuple[AsyncClient, World]]:
    world = await _world(outage_settings)
    async with open_app(outage_settings) as app:
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c, world


def _booking(n: int) -> dict[str, Any]:
    return {"name": f"静岡 花子{n}", "name_kana": "シズオカ ハナコ", "phone": f"080{n:08d}"}


async def _every_route(c: AsyncClient, world: World, n: int) -> dict[str, Response]:
    return {
        "booking": await c.post(f"/api/v1/sessions/{world.session_id}/bookings", json=_booking(n)),
        "events": await c.get("/api/v1/events"),
        "event": await c.get(f"/api/v1/events/{world.event_id}"),
        "staff": await c.get("/api/v1/manage/events", headers=bearer(world.token)),
        "home": await c.get("/"),
        "event_page": await c.get(f"/events/{world.event_id}"),
    }


async def _fill_pool(c: AsyncClient, world: World) -> None:
    """Several connections in the pool, as after a busy morning."""
    answers = await asyncio.gather(*(c.get("/api/v1/events") for _ in range(12)))
    assert {a.status_code for a in answers} == {200}


async def test_every_route_answers_503_with_retry_after_while_postgres_is_down(
    outage: tuple[AsyncClient, World], own_postgres: Postgres
) -> None:
    c, world = outage
    await _fill_pool(c, world)
    await asyncio.to_thread(own_postgres.stop)
    try:
        answers = await _every_route(c, world, 1)
        # Twice: once with the pool's dead connections, once opening new ones.
        again = await _every_route(c, world, 2)
    finally:
        await asyncio.to_thread(own_postgres.start)

    for name, r in [*answers.items(), *again.items()]:
        assert r.status_code == 503, (name, r.status_code, r.text[:300])
        assert r.headers["retry-after"] == "30", name
        assert r.headers["x-content-type-options"] == "nosniff", name
        if r.request.url.path.startswith("/api/"):
            assert r.json()["error"] == "service_unavailable", name
            assert TRY_AGAIN in r.json()["message"], name
        else:
            assert "text/html" in r.headers["content-type"], name
            assert "ただいまご利用いただけません" in r.text, name
            assert TRY_AGAIN in r.text, name
            assert "054-254-2770" in r.text, name


async def test_first_requests_after_a_restart_succeed(
    outage: tuple[AsyncClient, World], own_postgres: Postgres
) -> None:
    """No traffic during the outage: every pooled connection is stale when it comes back."""
    c, world = outage
    await _fill_pool(c, world)
    await asyncio.to_thread(own_postgres.stop)
    await asyncio.to_thread(own_postgres.start)

    for n in range(15):
        for name, r in (await _every_route(c, world, 100 + n)).items():
            assert r.status_code in (200, 201), (n, name, r.status_code, r.text[:300])


async def test_pages_and_api_recover_after_requests_during_the_outage(
    outage: tuple[AsyncClient, World], own_postgres: Postgres
) -> None:
    c, world = outage
    await _fill_pool(c, world)
    await asyncio.to_thread(own_postgres.stop)
    down = await c.get("/api/v1/events")
    await asyncio.to_thread(own_postgres.start)
    assert down.status_code == 503
    for n in range(5):
        for name, r in (await _every_route(c, world, 200 + n)).items():
            assert r.status_code in (200, 201), (n, name, r.status_code, r.text[:300])


async def _new_areas(c: AsyncClient, world: World) -> dict[str, Response]:
    """The routes of this round's areas (people, follow-up, matching, the report, search)."""
    c.cookies.set(SESSION_COOKIE, world.web_token, path="/manage")
    csrf = (await c.get("/register")).cookies.get("csrftoken") or c.cookies["csrftoken"]
    staff = bearer(world.token)
    person = {"name": "静岡 花子", "name_kana": "シズオカ ハナコ", "phone": "0543334444"}
    return {
        "register": await c.post(
            "/register",
            data={**person, "consent_privacy": "yes", "_csrf_token": csrf},
        ),
        "my": await c.post(
            "/my", data={"phone": person["phone"], "code": "123456789012", "_csrf_token": csrf}
        ),
        "follow_up_form": await c.get("/f/0123456789"),
        "people_api": await c.get("/api/v1/manage/people", headers=staff),
        "matching_api": await c.get(
            f"/api/v1/manage/events/{world.event_id}/matching", headers=staff
        ),
        "people_page": await c.get("/manage/people"),
        "search_page": await c.get("/manage/search", params={"q": "静岡"}),
        "report_pdf": await c.get("/manage/indicators/report.pdf"),
    }


async def test_the_new_areas_answer_503_with_retry_after_while_postgres_is_down(
    outage: tuple[AsyncClient, World], own_postgres: Postgres
) -> None:
    """Registration, 予約の確認, the follow-up form, people, matching, search and the report:
    a clean 503 in plain Japanese while the database is away, and their answers back after."""
    c, world = outage
    await _fill_pool(c, world)
    await asyncio.to_thread(own_postgres.stop)
    try:
        answers = await _new_areas(c, world)
    finally:
        await asyncio.to_thread(own_postgres.start)
    for name, r in answers.items():
        assert r.status_code == 503, (name, r.status_code, r.text[:300])
        assert r.headers["retry-after"] == "30", name
        assert TRY_AGAIN in r.text, name
    after = await _new_areas(c, world)
    assert {name: r.status_code for name, r in after.items()} == {
        "register": 303,
        "my": 303,
        "follow_up_form": 404,
        "people_api": 200,
        "matching_api": 404,
        "people_page": 200,
        "search_page": 200,
        "report_pdf": 200,
    }
