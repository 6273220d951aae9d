"""Staff login, tokens, sessions and logout, through the API and the login page."""

from __future__ import annotations

import dataclasses

from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.passwords import hash_password
from service.edge.login_limits import LOGIN_LIMIT_PER_USERNAME_ADDRESS as LOGIN_LIMIT_PER_USERNAME
from service.edge.staff_auth import SESSION_COOKIE
from service.platform.settings import Settings
from tests.conftest import open_app
from tests.manage_support import PASSWORD, bearer, csrf_token, issue_token, make_staff


async def _token(client: AsyncClient, username: str, password: str = PASSWORD) -> AsyncClient:
    return await client.post(  # type: ignore[return-value]
        "/api/v1/auth/token", json={"username": username, "password": password}
    )


async def test_api_login_gives_a_bearer_token_that_works(
    client: AsyncClient, db: AsyncSession
) -> None:
    user = await make_staff(db, "organizer", username="aoki")
    r = await client.post("/api/v1/auth/token", json={"username": "AOKI", "password": PASSWORD})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["user"] == {
        "id": user.id,
        "username": "aoki",
        "display_name": "aoki",
        "role": "organizer",
        "organization_id": None,
    }
    me = await client.get("/api/v1/auth/me", headers=bearer(body["token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "aoki"
    # Only the hash is stored.
    stored = await db.scalar(text("SELECT token_hash FROM staff_tokens"))
    assert stored and body["token"] not in stored and len(stored) == 64


async def test_unknown_user_wrong_password_and_disabled_get_the_same_answer(
    client: AsyncClient, db: AsyncSession
) -> None:
    user = await make_staff(db, "organizer", username="aoki")
    disabled = await make_staff(db, "organizer", username="gone")
    await db.execute(
        text("UPDATE staff_users SET is_active = false WHERE id = :id"), {"id": disabled.id}
    )
    await db.commit()
    answers = [
        await client.post("/api/v1/auth/token", json={"username": "nobody", "password": PASSWORD}),
        await client.post(
            "/api/v1/auth/token", json={"username": user.username, "password": "wrong-password"}
        ),
        await client.post("/api/v1/auth/token", json={"username": "gone", "password": PASSWORD}),
    ]
    assert {r.status_code for r in answers} == {401}
    assert {r.text for r in answers} == {answers[0].text}
    assert answers[0].json()["error"] == "login_failed"


async def test_login_is_rate_limited_per_username(client: AsyncClient, db: AsyncSession) -> None:
    await make_staff(db, "organizer", username="aoki")
    for _ in range(LOGIN_LIMIT_PER_USERNAME):
        r = await client.post(
            "/api/v1/auth/token", json={"username": "aoki", "password": "bad-guess-1"}
        )
        assert r.status_code == 401
    r = await client.post("/api/v1/auth/token", json={"username": "aoki", "password": PASSWORD})
    assert r.status_code == 429
    assert r.json()["error"] == "rate_limited"
    assert r.headers["retry-after"]


async def test_success_resets_the_username_count(client: AsyncClient, db: AsyncSession) -> None:
    await make_staff(db, "organizer", username="aoki")
    for _ in range(3):
        for _ in range(LOGIN_LIMIT_PER_USERNAME - 1):
            await client.post(
                "/api/v1/auth/token", json={"username": "aoki", "password": "bad-guess"}
            )
        r = await client.post("/api/v1/auth/token", json={"username": "aoki", "password": PASSWORD})
        assert r.status_code == 201


async def test_logout_revokes_the_token(client: AsyncClient, db: AsyncSession) -> None:
    user = await make_staff(db, "organizer")
    token = await issue_token(db, user)
    r = await client.delete("/api/v1/auth/token", headers=bearer(token))
    assert r.status_code == 204
    again = await client.get("/api/v1/auth/me", headers=bearer(token))
    assert again.status_code == 401
    assert again.json()["error"] == "authentication_required"


async def test_expired_token_and_disabled_user_are_refused(
    client: AsyncClient, db: AsyncSession
) -> None:
    user = await make_staff(db, "organizer")
    expired = await issue_token(db, user)
    await db.execute(text("UPDATE staff_tokens SET expires_at = now() - interval '1 second'"))
    await db.commit()
    assert (await client.get("/api/v1/auth/me", headers=bearer(expired))).status_code == 401
    live = await issue_token(db, user)
    assert (await client.get("/api/v1/auth/me", headers=bearer(live))).status_code == 200
    await db.execute(text("UPDATE staff_users SET is_active = false"))
    await db.commit()
    assert (await client.get("/api/v1/auth/me", headers=bearer(live))).status_code == 401


async def test_tokens_only_work_where_they_belong(client: AsyncClient, db: AsyncSession) -> None:
    user = await make_staff(db, "organizer")
    web = await issue_token(db, user, "web")
    api = await issue_token(db, user, "api")
    # A page session is no API token, and an API token no page session.
    assert (await client.get("/api/v1/auth/me", headers=bearer(web))).status_code == 401
    client.cookies.set(SESSION_COOKIE, api, path="/manage")
    r = await client.get("/manage")
    assert r.status_code == 303 and r.headers["location"].startswith("/manage/login")
    # The API ignores cookies (it has no CSRF protection, so it must not trust them).
    client.cookies.set(SESSION_COOKIE, web, path="/manage")
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_malformed_login_requests(client: AsyncClient, db: AsyncSession) -> None:
    r = await client.post("/api/v1/auth/token", json={"username": "a"})
    assert r.status_code in (400, 422)
    r = await client.post("/api/v1/auth/token", json={"username": "", "password": ""})
    assert r.status_code == 422
    assert set(r.json()["fields"]) == {"username", "password"}
    r = await client.post(
        "/api/v1/auth/token", json={"username": "x" * 5000, "password": "y" * 100_000}
    )
    assert r.status_code in (401, 413)
    r = await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer " + "z" * 5000})
    assert r.status_code == 401


async def test_old_password_hashes_are_upgraded_on_login(
    client: AsyncClient, db: AsyncSession
) -> None:
    user = await make_staff(db, "organizer", username="aoki")
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    await db.execute(text("UPDATE staff_users SET password_hash = :h"), {"h": weak})
    await db.commit()
    r = await client.post("/api/v1/auth/token", json={"username": "aoki", "password": PASSWORD})
    assert r.status_code == 201
    stored = await db.scalar(
        text("SELECT password_hash FROM staff_users WHERE id = :id"), {"id": user.id}
    )
    assert stored != weak and stored.startswith("$argon2id$")
    assert hash_password(PASSWORD) != stored  # salted


# --- the login page ---------------------------------------------------------------------


async def test_page_login_sets_a_safe_session_cookie(client: AsyncClient, db: AsyncSession) -> None:
    await make_staff(db, "organizer", username="aoki")
    form = await client.get("/manage/login?next=/manage/events/new")
    assert form.status_code == 200
    assert 'name="_csrf_token"' in form.text
    r = await client.post(
        "/manage/login",
        data={
            "username": "aoki",
            "password": PASSWORD,
            "next": "/manage/events/new",
            "_csrf_token": await csrf_token(client),
        },
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/manage/events/new"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    attrs = {a.strip().split("=")[0].lower() for a in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= attrs
    assert "samesite=lax" in cookie.lower()
    assert "path=/manage" in cookie.lower()
    assert "secure" not in attrs  # BASE_URL is http in tests
    assert (await client.get("/manage")).status_code == 200


async def test_cookie_is_secure_when_base_url_is_https(
    settings: Settings, db: AsyncSession
) -> None:
    await make_staff(db, "organizer", username="aoki")
    https = dataclasses.replace(settings, base_url="https://yoyaku.example.jp")
    async with open_app(https) as app:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="https://t") as c:
            r = await c.post(
                "/manage/login",
                data={"username": "aoki", "password": PASSWORD, "_csrf_token": await csrf_token(c)},
            )
    assert r.status_code == 303
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "secure" in {a.strip().lower() for a in cookie.split(";")}


async def test_page_login_failure_is_the_same_for_unknown_and_wrong(
    client: AsyncClient, db: AsyncSession
) -> None:
    await make_staff(db, "organizer", username="aoki")
    token = await csrf_token(client)
    bodies = []
    for username, password in (("nobody", PASSWORD), ("aoki", "wrong-password")):
        r = await client.post(
            "/manage/login",
            data={"username": username, "password": password, "_csrf_token": token},
        )
        assert r.status_code == 401
        assert "ユーザー名またはパスワードが違います。" in r.text
        assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
        bodies.append(r.text.replace(username, "USER"))
    assert bodies[0] == bodies[1]


async def test_login_page_never_redirects_off_the_console(
    client: AsyncClient, db: AsyncSession
) -> None:
    await make_staff(db, "organizer", username="aoki")
    for target in ("//evil.example/manage", "https://evil.example/", "/public", "/manage\\x"):
        client.cookies.clear()
        r = await client.post(
            "/manage/login",
            data={
                "username": "aoki",
                "password": PASSWORD,
                "next": target,
                "_csrf_token": await csrf_token(client),
            },
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/manage"


async def test_login_form_needs_the_csrf_token(client: AsyncClient, db: AsyncSession) -> None:
    await make_staff(db, "organizer", username="aoki")
    await csrf_token(client)
    r = await client.post("/manage/login", data={"username": "aoki", "password": PASSWORD})
    assert r.status_code == 403


async def test_page_logout_ends_the_session(client: AsyncClient, db: AsyncSession) -> None:
    user = await make_staff(db, "organizer")
    token = await issue_token(db, user, "web")
    client.cookies.set(SESSION_COOKIE, token, path="/manage")
    assert (await client.get("/manage")).status_code == 200
    r = await client.post("/manage/logout", data={"_csrf_token": await csrf_token(client)})
    assert r.status_code == 303
    assert r.headers["location"].startswith("/manage/login")
    # Even a copy of the old cookie no longer works.
    client.cookies.set(SESSION_COOKIE, token, path="/manage")
    r = await client.get("/manage")
    assert r.status_code == 303 and r.headers["location"].startswith("/manage/login")


async def test_anonymous_console_visit_goes_to_login_and_back(client: AsyncClient) -> None:
    r = await client.get("/manage/events/new")
    assert r.status_code == 303
    assert r.headers["location"] == "/manage/login?next=/manage/events/new"


async def test_page_login_is_rate_limited_too(client: AsyncClient, db: AsyncSession) -> None:
    await make_staff(db, "organizer", username="aoki")
    token = await csrf_token(client)
    for _ in range(LOGIN_LIMIT_PER_USERNAME):
        r = await client.post(
            "/manage/login", data={"username": "aoki", "password": "guess", "_csrf_token": token}
        )
        assert r.status_code == 401
    r = await client.post(
        "/manage/login", data={"username": "aoki", "password": PASSWORD, "_csrf_token": token}
    )
    assert r.status_code == 429
    assert "しばらく受け付けを止めています" in r.text
    assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
