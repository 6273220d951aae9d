"""Faults and abuse, round two (issue 19): limits one address cannot get around.

- Bookings per address, the pages and the API in one bucket (point 1), behind a trusted proxy
  counted by the forwarded address.
- Booking-code guesses per address, every route that takes a code and a phone in one bucket
  (point 8).
- Staff logins count failed password checks only (point 3; issue 18, point 6).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from service.domain.bookings import service as bookings
from service.edge import login_limits
from service.edge.login_limits import LOGIN_LIMIT_PER_USERNAME_ADDRESS, LOGIN_WINDOW_SECONDS
from service.platform.settings import Settings
from tests.conftest import open_app
from tests.factories import make_session
from tests.manage_support import PASSWORD, bearer, issue_token, make_staff, person
from tests.test_pages_public import GOOD, hidden_of, submit

LIMIT = 20


@asynccontextmanager
async def limited_app(settings: Settings, **changes: Any) -> AsyncIterator[Any]:
    async with open_app(dataclasses.replace(settings, **changes)) as application:
        yield application


@asynccontextmanager
async def from_address(app: Any, address: str) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=app, client=(address, 40000))
    async with AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def _body(n: int) -> dict[str, str]:
    return {"name": f"連打 太郎{n}", "name_kana": "れんだ たろう", "phone": f"090{n:08d}"}


async def _live_bookings(db: AsyncSession, session_id: int) -> int:
    await db.rollback()
    return int(
        await db.scalar(
            text("SELECT count(*) FROM bookings WHERE session_id = :s AND status <> 'cancelled'"),
            {"s": session_id},
        )
        or 0
    )


async def test_one_address_gets_at_most_the_limit_across_api_and_pages(
    settings: Settings, db: AsyncSession
) -> None:
    s = await make_session(db, capacity=200, waitlist_limit=0)
    event_id = s.event_id
    async with (
        limited_app(settings, booking_limit_per_minute=LIMIT) as app,
        from_address(app, "198.51.100.20") as bot,
    ):
        base = f"/events/{event_id}/sessions/{s.id}/book"
        statuses: list[int] = []
        # The pages first (their confirmation step is not a booking), then the API.
        for n in range(10):
            form = await bot.get(base)
            confirm = await submit(bot, form, base + "/confirm", {**GOOD, "phone": f"0543{n:06d}"})
            assert confirm.status_code == 200, confirm.text
            answer = await bot.post(base + "/complete", data=hidden_of(confirm))
            statuses.append(200 if answer.status_code == 303 else answer.status_code)
        for n in range(90):
            r = await bot.post(f"/api/v1/sessions/{s.id}/bookings", json=_body(n))
            statuses.append(r.status_code)
            if r.status_code == 429:
                refused = r
        assert statuses.count(429) == 100 - LIMIT, statuses
        assert await _live_bookings(db, s.id) == LIMIT
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.json()["error"] == "rate_limited"
        assert settings.desk_phone in refused.json()["message"]
        # The page answers the same, a 429 page with the desk's phone.
        form = await bot.get(base)
        confirm = await submit(bot, form, base + "/confirm", {**GOOD, "phone": "0543999999"})
        page = await bot.post(base + "/complete", data=hidden_of(confirm))
        assert page.status_code == 429 and "Retry-After" in page.headers
        assert settings.desk_phone in page.text
    async with limited_app(settings, booking_limit_per_minute=LIMIT) as app:
        # Another address is not held up by the first one's bucket.
        async with from_address(app, "203.0.113.5") as person_elsewhere:
            r = await person_elsewhere.post(f"/api/v1/sessions/{s.id}/bookings", json=_body(500))
            assert r.status_code == 201, r.text


async def test_concurrent_bookings_from_one_address_stop_at_the_limit(
    settings: Settings, db: AsyncSession
) -> None:
    s = await make_session(db, capacity=100, waitlist_limit=100)
    async with (
        limited_app(settings, booking_limit_per_minute=LIMIT) as app,
        from_address(app, "198.51.100.21") as bot,
    ):
        answers = await asyncio.gather(
            *(bot.post(f"/api/v1/sessions/{s.id}/bookings", json=_body(n)) for n in range(100))
        )
    codes = [r.status_code for r in answers]
    assert codes.count(201) == LIMIT and codes.count(429) == 100 - LIMIT, codes
    assert await _live_bookings(db, s.id) == LIMIT


async def test_staff_bookings_are_not_limited_and_zero_turns_it_off(
    settings: Settings, db: AsyncSession
) -> None:
    s = await make_session(db, capacity=60, waitlist_limit=0)
    headers = bearer(await issue_token(db, await make_staff(db, "organizer")))
    async with (
        limited_app(settings, booking_limit_per_minute=3) as app,
        from_address(app, "198.51.100.22") as desk,
    ):
        for n in range(6):
            r = await desk.post(
                f"/api/v1/manage/sessions/{s.id}/phone-bookings", json=_body(n), headers=headers
            )
            assert r.status_code == 201, r.text
    async with (
        limited_app(settings, booking_limit_per_minute=0) as app,
        from_address(app, "198.51.100.22") as load_test,
    ):
        for n in range(30):
            r = await load_test.post(f"/api/v1/sessions/{s.id}/bookings", json=_body(100 + n))
            assert r.status_code == 201, r.text


async def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(
    settings: Settings, db: AsyncSession
) -> None:
    """As `python -m service serve` runs it (--proxy-headers --forwarded-allow-ips): two
    people behind the one proxy have a bucket each; a client that is not the proxy cannot
    choose its bucket by sending X-Forwarded-For."""
    s = await make_session(db, capacity=50, waitlist_limit=0)
    async with limited_app(settings, booking_limit_per_minute=2) as app:
        proxied = ProxyHeadersMiddleware(app, trusted_hosts="10.0.0.5")
        transport = ASGITransport(app=proxied, client=("10.0.0.5", 40000))  # type: ignore[arg-type]
        async with AsyncClient(transport=transport, base_url="http://testserver") as proxy:
            url = f"/api/v1/sessions/{s.id}/bookings"
            n = iter(range(1000))
            for who in ("198.51.100.30", "198.51.100.31"):
                for _ in range(2):
                    r = await proxy.post(url, json=_body(next(n)), headers={"X-Forwarded-For": who})
                    assert r.status_code == 201, r.text
                r = await proxy.post(url, json=_body(next(n)), headers={"X-Forwarded-For": who})
                assert r.status_code == 429
        transport = ASGITransport(app=proxied, client=("198.51.100.40", 40000))  # type: ignore[arg-type]
        async with AsyncClient(transport=transport, base_url="http://testserver") as direct:
            answers = [
                await direct.post(
                    url, json=_body(next(n)), headers={"X-Forwarded-For": f"192.0.2.{i}"}
                )
                for i in range(3)
            ]
            assert [r.status_code for r in answers] == [201, 201, 429]


# --- booking-code guesses: one bucket per address ---------------------------------------


async def test_code_guesses_share_one_bucket_across_every_route(
    settings: Settings, db: AsyncSession
) -> None:
    guesses = 8
    s = await make_session(db, capacity=5)
    booked = await bookings.book(db, s.id, person(1))
    await db.commit()
    async with (
        limited_app(settings, rate_limit_per_minute=guesses) as app,
        from_address(app, "198.51.100.50") as guesser,
    ):
        answers: list[int] = []
        form = await guesser.get("/bookings/lookup")

        async def page(path: str) -> int:
            data = {"code": f"0000-0000-{len(answers):04d}", "phone": "090-0000-0001"}
            r = await guesser.post(
                path, data={**data, "_csrf_token": hidden_of(form)["_csrf_token"]}
            )
            return 429 if r.status_code == 429 else 404

        routes = [
            lambda: page("/bookings/lookup"),
            lambda: page("/bookings/cancel"),
            lambda: page("/bookings/cancel/complete"),
            lambda: page("/bookings/cancel-companion"),
            lambda: api("GET", "/api/v1/bookings/{code}"),
            lambda: api("POST", "/api/v1/bookings/{code}/cancel"),
            lambda: api("POST", "/api/v1/bookings/{code}/companions/1/cancel"),
        ]

        async def api(method: str, path: str) -> int:
            url = path.format(code=f"000000001{len(answers):03d}")
            if method == "GET":
                r = await guesser.get(url, headers={"X-Booking-Phone": "09000000001"})
            else:
                r = await guesser.post(url, json={"phone": "09000000001"})
            return r.status_code

        for i in range(3 * len(routes)):
            answers.append(await routes[i % len(routes)]())
        assert answers.count(404) == guesses, answers
        assert answers.count(429) == 3 * len(routes) - guesses
        # The owner, from home, is not affected.
        async with from_address(app, "203.0.113.9") as owner:
            r = await owner.get(
                f"/api/v1/bookings/{booked.code}", headers={"X-Booking-Phone": booked.phone}
            )
            assert r.status_code == 200


async def test_a_letters_short_code_guessed_counts_in_the_same_bucket(settings: Settings) -> None:
    """/f/<code> (10 hex digits on a letter) opens a page with the person's name: wrong codes
    are limited as booking codes are, in the same bucket; other addresses are not affected."""
    guesses = 4
    async with (
        limited_app(settings, rate_limit_per_minute=guesses) as app,
        from_address(app, "198.51.100.51") as guesser,
    ):
        answers = [(await guesser.get(f"/f/{i:010x}")).status_code for i in range(guesses + 2)]
        assert answers == [404] * guesses + [429, 429], answers
        form = await guesser.get("/bookings/lookup")
        r = await guesser.post(
            "/bookings/lookup",
            data={"code": "0000-0000-0001", "phone": "090-0000-0001",
                  "_csrf_token": hidden_of(form)["_csrf_token"]},
        )  # fmt: skip
        assert r.status_code == 429
        async with from_address(app, "203.0.113.10") as other:
            assert (await other.get("/f/0123456789")).status_code == 404


# --- staff logins count failures only -----------------------------------------------------


async def _token(client: AsyncClient, username: str, password: str) -> Any:
    return await client.post(
        "/api/v1/auth/token", json={"username": username, "password": password}
    )


async def test_successful_logins_from_one_office_are_never_limited(
    app: Any, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limits made small, so that a few logins go past them (argon2 is slow on purpose).
    monkeypatch.setattr(login_limits, "LOGIN_LIMIT_PER_ADDRESS", 4)
    monkeypatch.setattr(login_limits, "LOGIN_LIMIT_PER_USERNAME_ADDRESS", 2)
    await make_staff(db, "organizer", username="desk1")
    await make_staff(db, "organizer", username="desk2")
    async with from_address(app, "203.0.113.70") as office:
        for n in range(12):
            r = await _token(office, f"desk{n % 2 + 1}", PASSWORD)
            assert r.status_code == 201, (n, r.text)


async def test_logins_the_database_could_not_check_do_not_count(
    settings: Settings, db: AsyncSession
) -> None:
    await make_staff(db, "organizer", username="aoki")
    down = dataclasses.replace(
        settings, database_url="postgresql://postgres@127.0.0.1:1/none", db_pool_size=2
    )
    async with open_app(down) as broken, from_address(broken, "203.0.113.71") as office:
        for _ in range(LOGIN_LIMIT_PER_USERNAME_ADDRESS + 2):
            r = await _token(office, "aoki", PASSWORD)
            assert r.status_code == 503, r.text
    async with open_app(settings) as app, from_address(app, "203.0.113.71") as office:
        assert (await _token(office, "aoki", PASSWORD)).status_code == 201


async def test_failures_are_limited_and_the_answer_says_the_real_wait(
    app: Any, db: AsyncSession
) -> None:
    await make_staff(db, "organizer", username="aoki")
    async with from_address(app, "198.51.100.72") as guesser:
        for n in range(LOGIN_LIMIT_PER_USERNAME_ADDRESS):
            assert (await _token(guesser, "aoki", f"guess-{n}")).status_code == 401
        r = await _token(guesser, "aoki", PASSWORD)
        assert r.status_code == 429
        wait = int(r.headers["Retry-After"])
        assert LOGIN_WINDOW_SECONDS - 30 <= wait <= LOGIN_WINDOW_SECONDS
        assert f"{-(-wait // 60)}分ほど" in r.json()["message"]
        assert "1分ほど" not in r.json()["message"]
        page = await guesser.get("/manage/login")
        token = hidden_of(page)["_csrf_token"]
        refused = await guesser.post(
            "/manage/login", data={"username": "aoki", "password": PASSWORD, "_csrf_token": token}
        )
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] and "分ほど" in refused.text


async def test_concurrent_guesses_cannot_slip_past_the_limit(app: Any, db: AsyncSession) -> None:
    await make_staff(db, "organizer", username="aoki")
    async with from_address(app, "198.51.100.73") as guesser:
        answers = await asyncio.gather(*(_token(guesser, "aoki", f"guess-{n}") for n in range(25)))
    codes = [r.status_code for r in answers]
    assert codes.count(401) <= LOGIN_LIMIT_PER_USERNAME_ADDRESS, codes
    assert set(codes) <= {401, 429}
