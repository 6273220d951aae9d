"""Redis going down and coming back, on a throwaway embedded Redis stopped and started inside the
test (an external Redis, as in production): bookings, look-up, cancel, staff login and the page
booking steps keep working while it is down (the rate limits fail open, logged); the worker
process waits for Redis and resumes, and the notices written meanwhile are mailed."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.devtools.embedded_servers import Redis, remove_throwaway, throwaway_redis
from service.platform.settings import Settings
from tests.conftest import open_app
from tests.factories import make_session
from tests.mail_support import Mailbox, smtp_server
from tests.manage_support import PASSWORD, csrf_token, make_staff
from tests.test_pages_public import GOOD, hidden_of, post_form
from tests.worker_process import start_worker, stop_worker

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def own_redis() -> Iterator[Redis]:
    server = throwaway_redis()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        remove_throwaway(None, server)


@pytest.fixture
def redis_settings(settings: Settings, own_redis: Redis) -> Settings:
    return dataclasses.replace(settings, redis_url=own_redis.url, rate_limit_per_minute=5)


@pytest.fixture
async def client(redis_settings: Settings) -> AsyncIterator[AsyncClient]:
    async with open_app(redis_settings) as app:
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def _page_booking(c: AsyncClient, event_id: int, session_id: int) -> str:
    base = f"/events/{event_id}/sessions/{session_id}/book"
    form = await c.get(base)
    assert form.status_code == 200
    confirm = await post_form(c, form, base + "/confirm", GOOD)
    assert confirm.status_code == 200, confirm.text[:500]
    done = await c.post(base + "/complete", data=hidden_of(confirm))
    assert done.status_code == 303, done.text[:500]
    page = await c.get(done.headers["location"])
    match = re.search(r'id="booking-code">([A-Z0-9-]+)<', page.text)
    assert match, page.text[:500]
    return match.group(1)


async def test_public_and_staff_routes_work_while_redis_is_down(
    client: AsyncClient, db: AsyncSession, own_redis: Redis
) -> None:
    session = await make_session(db, capacity=30)
    await make_staff(db, "organizer", username="desk1")
    await asyncio.to_thread(own_redis.stop)

    # The page booking: form, confirmation step, completion (CSRF needs no Redis).
    code = await _page_booking(client, session.event_id, session.id)
    # More attempts than RATE_LIMIT_PER_MINUTE (5): the limit is skipped, not a 500 or a 429.
    api = []
    for n in range(7):
        r = await client.post(
            f"/api/v1/sessions/{session.id}/bookings",
            json={"name": f"静岡 次郎{n}", "name_kana": "シズオカ ジロウ", "phone": f"090{n:08d}"},
        )
        api.append(r)
    assert [r.status_code for r in api] == [201] * 7
    api_code = api[0].json()["code"]

    for _ in range(7):
        found = await client.get(
            f"/api/v1/bookings/{api_code}", headers={"X-Booking-Phone": "09000000000"}
        )
        assert found.status_code == 200, found.text
    cancelled = await client.post(
        f"/api/v1/bookings/{api_code}/cancel", json={"phone": "09000000000"}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"

    # The page look-up and cancel steps.
    form = await client.get("/bookings/lookup")
    found_page = await post_form(
        client, form, "/bookings/lookup", {"code": code, "phone": GOOD["phone"]}
    )
    assert found_page.status_code == 200 and "予約確定" in found_page.text
    ask = await client.post("/bookings/cancel", data=hidden_of(found_page))
    done = await client.post("/bookings/cancel/complete", data=hidden_of(ask))
    assert done.status_code == 200 and "予約を取り消しました" in done.text

    # Staff: the API token and the console login (sessions live in PostgreSQL).
    token = await client.post(
        "/api/v1/auth/token", json={"username": "desk1", "password": PASSWORD}
    )
    assert token.status_code == 201, token.text
    bearer = {"Authorization": f"Bearer {token.json()['token']}"}
    assert (await client.get("/api/v1/manage/events", headers=bearer)).status_code == 200
    login = await client.post(
        "/manage/login",
        data={"username": "desk1", "password": PASSWORD, "_csrf_token": await csrf_token(client)},
    )
    assert login.status_code == 303, login.text[:500]
    assert (await client.get("/manage")).status_code == 200

    ready = await client.get("/health/ready")
    assert ready.status_code == 503 and ready.json()["checks"]["redis"].startswith("unavailable")

    # Redis back: the limits count again.
    await asyncio.to_thread(own_redis.start)
    statuses = [
        (
            await client.get(
                f"/api/v1/bookings/{api_code}", headers={"X-Booking-Phone": "09000000000"}
            )
        ).status_code
        for _ in range(7)
    ]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]


async def test_a_redis_that_stops_answering_does_not_hang_bookings(
    client: AsyncClient, db: AsyncSession, own_redis: Redis
) -> None:
    """Redis frozen with its connections open (SIGSTOP: as when it is partitioned away or
    stalls): each request gives it a moment and goes on without it, instead of waiting for
    good. The page booking, the API booking and the look-up all answer."""
    import os
    import signal

    session = await make_session(db, capacity=30)
    base = f"/events/{session.event_id}/sessions/{session.id}/book"
    form = await client.get(base)
    assert (await post_form(client, form, base + "/confirm", GOOD)).status_code == 303
    assert own_redis.process is not None
    os.kill(own_redis.process.pid, signal.SIGSTOP)
    try:
        async with asyncio.timeout(60):
            code = await _page_booking(client, session.event_id, session.id)
            api = await client.post(
                f"/api/v1/sessions/{session.id}/bookings",
                json={
                    "name": "静岡 三郎",
                    "name_kana": "シズオカ サブロウ",
                    "phone": "09011112222",
                },
            )
            assert api.status_code == 201, api.text
            found = await client.get(
                f"/api/v1/bookings/{code}", headers={"X-Booking-Phone": GOOD["phone"]}
            )
            assert found.status_code == 200, found.text
    finally:
        os.kill(own_redis.process.pid, signal.SIGCONT)
    assert (
        await db.scalar(
            text("SELECT count(*) FROM bookings WHERE session_id = :s"), {"s": session.id}
        )
        == 2
    )


async def test_the_app_starts_while_redis_is_down(
    redis_settings: Settings, db: AsyncSession, own_redis: Redis
) -> None:
    session = await make_session(db)
    await asyncio.to_thread(own_redis.stop)
    async with open_app(redis_settings) as app:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as c:
            home = await c.get("/")
            booked = await c.post(
                f"/api/v1/sessions/{session.id}/bookings",
                json={
                    "name": "静岡 三郎",
                    "name_kana": "シズオカ サブロウ",
                    "phone": "09011112222",
                },
            )
    assert home.status_code == 200
    assert booked.status_code == 201, booked.text


async def _sent(db: AsyncSession) -> int:
    db.expire_all()
    count = await db.scalar(text("SELECT count(*) FROM notifications WHERE status = 'sent'"))
    await db.commit()
    return int(count or 0)


async def _wait_for(
    db: AsyncSession, mailbox: Mailbox, want: int, seconds: float, worker: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if len(mailbox.messages) >= want and await _sent(db) >= want:
            return
        assert worker.poll() is None, "the worker exited"
        await asyncio.sleep(0.3)
    raise AssertionError(f"{len(mailbox.messages)} mails of {want} after {seconds} s")


async def test_worker_waits_for_redis_and_resumes(
    redis_settings: Settings, db: AsyncSession, own_redis: Redis
) -> None:
    session_id = (await make_session(db, capacity=30)).id
    log = Path(own_redis.data_dir) / "worker.log"
    with smtp_server() as (mailbox, port):
        worker = start_worker(redis_settings, port, log)
        try:
            async with open_app(redis_settings) as app:
                transport = ASGITransport(app=app)
                async with AsyncClient(transport=transport, base_url="http://t") as c:

                    async def book(n: int) -> None:
                        r = await c.post(
                            f"/api/v1/sessions/{session_id}/bookings",
                            json={
                                "name": f"静岡 四郎{n}",
                                "name_kana": "シズオカ シロウ",
                                "phone": f"080{n:08d}",
                                "email": f"shiro{n}@example.jp",
                            },
                        )
                        assert r.status_code == 201, r.text

                    await book(1)
                    await _wait_for(db, mailbox, 1, 60, worker)

                    await asyncio.to_thread(own_redis.stop)
                    await book(2)  # written to the outbox; its job cannot be enqueued
                    # arq's own runner exited about 8 s after Redis went: wait longer.
                    await asyncio.sleep(15)
                    assert worker.poll() is None, "the worker exited while Redis was down"
                    await asyncio.to_thread(own_redis.start)

                    await book(3)
                    # Both mails go out once Redis is back: the sweep at the new worker's start
                    # finds the notice whose job was lost.
                    await _wait_for(db, mailbox, 3, 90, worker)
            await asyncio.sleep(1)
            ids = [str(m["Message-ID"]) for m in mailbox.messages]
            assert len(ids) == len(set(ids)) == 3
        finally:
            rc = stop_worker(worker)
            output = log.read_text(errors="replace")
        assert rc == 0, output[-3000:]
        assert "worker_lost_redis" in output
