"""Nobody can lock staff out by guessing (issue 8, point 7): limits per username and address,
a slow path instead of a hard lock for a username guessed at from many addresses, and admins
who see and clear what is in force (staff API and console)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.edge.login_limits import LOGIN_LIMIT_PER_USERNAME_ADDRESS, LOGIN_SLOW_AFTER_FAILURES
from tests.manage_support import PASSWORD, bearer, issue_token, make_staff, post_form, web_login


@asynccontextmanager
async def from_address(app: Any, address: str) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=app, client=(address, 40000))
    async with AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def _token(client: AsyncClient, password: str) -> int:
    r = await client.post("/api/v1/auth/token", json={"username": "aoki", "password": password})
    return r.status_code


async def test_guesses_from_many_addresses_do_not_lock_the_owner_out(
    app: Any, db: AsyncSession
) -> None:
    await make_staff(db, "organizer", username="aoki")
    for n in range(LOGIN_SLOW_AFTER_FAILURES):
        async with from_address(app, f"198.51.100.{n + 1}") as stranger:
            assert await _token(stranger, f"guess-{n}") == 401
    admin = bearer(await issue_token(db, await make_staff(db, "admin")))
    async with from_address(app, "203.0.113.7") as desk:
        locks = (await desk.get("/api/v1/manage/login-locks", headers=admin)).json()
        assert [(lock["kind"], lock["username"]) for lock in locks] == [("slowed", "aoki")]
        # Slowed, not refused: the right password still gets in.
        assert await _token(desk, PASSWORD) == 201


async def test_one_address_guessing_is_stopped_for_that_address_only(
    app: Any, db: AsyncSession
) -> None:
    await make_staff(db, "organizer", username="aoki")
    async with from_address(app, "198.51.100.9") as stranger:
        for n in range(LOGIN_LIMIT_PER_USERNAME_ADDRESS):
            assert await _token(stranger, f"guess-{n}") == 401
        assert await _token(stranger, PASSWORD) == 429
    async with from_address(app, "203.0.113.7") as desk:
        assert await _token(desk, PASSWORD) == 201


async def test_admin_sees_and_clears_a_lock_in_the_api(app: Any, db: AsyncSession) -> None:
    await make_staff(db, "organizer", username="aoki")
    admin = bearer(await issue_token(db, await make_staff(db, "admin")))
    organizer = bearer(await issue_token(db, await make_staff(db, "organizer")))
    async with from_address(app, "198.51.100.9") as office:
        for n in range(LOGIN_LIMIT_PER_USERNAME_ADDRESS):
            await _token(office, f"guess-{n}")
        assert await _token(office, PASSWORD) == 429
        forbidden = await office.get("/api/v1/manage/login-locks", headers=organizer)
        assert forbidden.status_code == 403
        locks = (await office.get("/api/v1/manage/login-locks", headers=admin)).json()
        expected = {"kind": "username_address", "username": "aoki", "address": "198.51.100.9"}
        assert any(expected.items() <= lock.items() for lock in locks), locks
        refused = await office.delete("/api/v1/manage/login-locks", headers=admin)
        assert refused.status_code == 422
        assert "username" in refused.json()["fields"]
        r = await office.delete(
            "/api/v1/manage/login-locks",
            params={"username": "aoki", "address": "198.51.100.9"},
            headers=admin,
        )
        assert r.status_code == 200, r.text
        assert r.json()["cleared"] == 1
        assert await _token(office, PASSWORD) == 201
    await db.rollback()
    audited = await db.scalar(
        text("SELECT count(*) FROM audit_log WHERE action = 'login_lock.clear'")
    )
    assert audited == 1


async def test_admin_sees_and_clears_a_lock_in_the_console(app: Any, db: AsyncSession) -> None:
    await make_staff(db, "organizer", username="aoki")
    async with from_address(app, "198.51.100.9") as office:
        for n in range(LOGIN_LIMIT_PER_USERNAME_ADDRESS + 1):
            await _token(office, f"guess-{n}")
        assert await _token(office, PASSWORD) == 429
    async with from_address(app, "203.0.113.7") as console:
        await web_login(console, db, await make_staff(db, "admin"))
        listing = await console.get("/manage/login-locks")
        assert listing.status_code == 200
        assert "aoki" in listing.text and "198.51.100.9" in listing.text
        r = await post_form(
            console, "/manage/login-locks/clear", {"username": "aoki", "address": "198.51.100.9"}
        )
        assert r.status_code == 303
        after = await console.get(r.headers["location"])
        assert "ログインの制限を解除しました" in after.text
        assert "198.51.100.9" not in after.text
    async with from_address(app, "198.51.100.9") as office:
        assert await _token(office, PASSWORD) == 201
