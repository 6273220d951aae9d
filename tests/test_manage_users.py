"""Staff users, managed only by admins, through the staff API and the admin pages."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_org
from tests.manage_support import PASSWORD, bearer, issue_token, make_staff, post_form, web_login


async def _admin(db: AsyncSession) -> tuple[dict[str, str], int]:
    admin = await make_staff(db, "admin")
    return bearer(await issue_token(db, admin)), admin.id


async def test_admin_creates_a_cohost_user_who_can_log_in(
    client: AsyncClient, db: AsyncSession
) -> None:
    headers, admin_id = await _admin(db)
    org = await make_org(db, "静岡市シルバー人材センター", kind="cohost")
    await db.commit()
    r = await client.post(
        "/api/v1/manage/users",
        json={
            "username": "ｓｉｌｖｅｒ１",  # full-width: stored as typed half-width
            "password": "a-long-enough-password",
            "role": "cohost",
            "display_name": "シルバー 鈴木",
            "organization": "静岡市シルバー人材センター",
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    user = r.json()
    assert (user["username"], user["role"], user["organization_id"]) == (
        "silver1",
        "cohost",
        org.id,
    )
    login = await client.post(
        "/api/v1/auth/token", json={"username": "silver1", "password": "a-long-enough-password"}
    )
    assert login.status_code == 201
    stored = await db.scalar(
        text("SELECT password_hash FROM staff_users WHERE id = :i"), {"i": user["id"]}
    )
    assert stored.startswith("$argon2id$")
    audit = (
        await db.execute(text("SELECT actor_id, after FROM audit_log WHERE action = 'user.create'"))
    ).one()
    assert audit.actor_id == admin_id and "password" not in str(audit.after).lower()


async def test_user_input_errors(client: AsyncClient, db: AsyncSession) -> None:
    headers, _ = await _admin(db)
    await make_staff(db, "organizer", username="aoki")
    r = await client.post(
        "/api/v1/manage/users",
        json={"username": "AOKI", "password": "a-long-enough-password", "role": "organizer"},
        headers=headers,
    )
    assert r.status_code == 409 and r.json()["error"] == "username_taken"
    r = await client.post(
        "/api/v1/manage/users",
        json={"username": "has space", "password": "short", "role": "boss"},
        headers=headers,
    )
    assert r.status_code == 422
    assert set(r.json()["fields"]) == {"username", "password", "role"}
    r = await client.post(
        "/api/v1/manage/users",
        json={"username": "hw2", "password": "a-long-enough-password", "role": "cohost"},
        headers=headers,
    )
    assert r.status_code == 422 and "organization" in r.json()["fields"]


async def test_disabling_a_user_or_changing_the_password_ends_their_logins(
    client: AsyncClient, db: AsyncSession
) -> None:
    headers, _ = await _admin(db)
    user = await make_staff(db, "organizer")
    token = await issue_token(db, user)
    r = await client.patch(
        f"/api/v1/manage/users/{user.id}",
        json={"password": "a-brand-new-password"},
        headers=headers,
    )
    assert r.status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401
    old = await client.post(
        "/api/v1/auth/token", json={"username": user.username, "password": PASSWORD}
    )
    assert old.status_code == 401
    token = await issue_token(db, user)
    r = await client.patch(
        f"/api/v1/manage/users/{user.id}", json={"is_active": False}, headers=headers
    )
    assert r.status_code == 200 and r.json()["is_active"] is False
    assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401
    audit = (
        await db.execute(
            text("SELECT before, after FROM audit_log WHERE action = 'user.update' ORDER BY id")
        )
    ).all()
    assert audit[0].after == {"password": "changed"} and audit[0].before == {}
    assert audit[1].before == {"is_active": True} and audit[1].after == {"is_active": False}


async def test_an_admin_cannot_lock_themselves_out(client: AsyncClient, db: AsyncSession) -> None:
    headers, admin_id = await _admin(db)
    for change in ({"is_active": False}, {"role": "organizer"}):
        r = await client.patch(f"/api/v1/manage/users/{admin_id}", json=change, headers=headers)
        assert r.status_code == 422
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    row = (
        await db.execute(
            text("SELECT role, is_active FROM staff_users WHERE id = :u"), {"u": admin_id}
        )
    ).one()
    assert tuple(row) == ("admin", True)
    assert await db.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'user.update'")) == 0


async def test_users_pages(client: AsyncClient, db: AsyncSession) -> None:
    admin = await make_staff(db, "admin", username="kanri")
    await web_login(client, db, admin)
    page = await client.get("/manage/users")
    assert page.status_code == 200 and "kanri" in page.text
    r = await post_form(
        client,
        "/manage/users",
        {
            "username": "madoguchi",
            "password": "short",
            "role": "organizer",
            "display_name": "<b>窓口</b>",
        },
    )
    assert r.status_code == 422
    assert "パスワードは10文字以上" in r.text
    assert 'value="madoguchi"' in r.text
    assert "short" not in r.text  # never echo a password
    r = await post_form(
        client,
        "/manage/users",
        {
            "username": "madoguchi",
            "password": "a-long-enough-password",
            "role": "organizer",
            "display_name": "<b>窓口</b>",
        },
    )
    assert r.status_code == 303
    listing = await client.get("/manage/users?done=user_created")
    assert "スタッフを登録しました" in listing.text
    assert "&lt;b&gt;窓口&lt;/b&gt;" in listing.text and "<b>窓口</b>" not in listing.text
