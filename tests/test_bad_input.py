"""Bad input answered 4xx, never 5xx (issue 8, point 6): each case from the issue, with the
field named in Japanese and the security headers on the answer."""

from __future__ import annotations

import re
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.notifications.mail import BadAddress, recipient
from tests.factories import make_org, make_session
from tests.manage_support import (
    bearer,
    csrf_token,
    issue_token,
    make_staff,
    post_form,
    web_login,
)
from tests.test_pages_public import csrf_of, follow

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
TOO_BIG = 2**63
PERSON = {"name": "静岡 太郎", "name_kana": "しずおか たろう", "phone": "090-1234-5678"}


def assert_refused(r: Response, *, field: str | None = None, status: int | None = None) -> None:
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if status is not None:
        assert r.status_code == status, (r.status_code, r.text[:300])
    assert "content-security-policy" in r.headers
    assert r.headers.get("x-content-type-options") == "nosniff"
    if r.headers.get("content-type", "").startswith("application/json"):
        answer = r.json()
        assert JAPANESE.search(answer["message"]), answer
        if field is not None:
            assert field in answer.get("fields", {}), answer
            assert JAPANESE.search(answer["fields"][field]), answer
    else:
        assert JAPANESE.search(r.text)


@pytest.fixture
async def staff_headers(db: AsyncSession) -> dict[str, str]:
    await make_org(db)  # the desk's own organization, which new events belong to
    await db.commit()
    return bearer(await issue_token(db, await make_staff(db, "organizer")))


async def test_deeply_nested_json(client: AsyncClient, db: AsyncSession) -> None:
    s = await make_session(db)
    body = "[" * 8000 + "]" * 8000
    r = await client.post(
        f"/api/v1/sessions/{s.id}/bookings",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert_refused(r, field="body")
    r = await client.post(
        f"/api/v1/sessions/{s.id}/bookings",
        content='{"name": ' + "[" * 8000 + "]" * 8000 + "}",
        headers={"Content-Type": "application/json"},
    )
    assert_refused(r)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "\xff\xfe", "name_kana": "x", "phone": "0"}',
        '{"name": "静岡 太郎", "name_kana": "しずおか", "phone": "0542542770"}'.encode("shift_jis"),
        b'{"name": "\xed\xa0\x80"}',
    ],
)
async def test_json_body_not_utf8(client: AsyncClient, db: AsyncSession, raw: bytes) -> None:
    s = await make_session(db)
    r = await client.post(
        f"/api/v1/sessions/{s.id}/bookings",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    assert_refused(r, field="body")


async def test_extreme_dates(client: AsyncClient) -> None:
    for query in (
        "date_from=0001-01-01&date_to=9999-12-31",
        "date_from=9999-12-31",
        "date_to=0001-01-01",
    ):
        r = await client.get(f"/api/v1/events?{query}")
        assert r.status_code in (200, 422), (query, r.status_code, r.text[:200])
        if r.status_code == 422:
            assert_refused(r)


async def test_ids_beyond_64_bits_in_paths(
    client: AsyncClient, db: AsyncSession, staff_headers: dict[str, str]
) -> None:
    for path in (
        f"/api/v1/events/{TOO_BIG}",
        f"/events/{TOO_BIG}",
        f"/events/{TOO_BIG}/sessions/{TOO_BIG}/book",
        f"/api/v1/events/{-TOO_BIG - 1}",
        f"/api/v1/events/{10**30}",
    ):
        assert_refused(await client.get(path), status=404)
    for path in (
        f"/api/v1/manage/events/{TOO_BIG}",
        f"/api/v1/manage/sessions/{TOO_BIG}/roster",
        f"/api/v1/manage/bookings/{TOO_BIG}/",
    ):
        assert_refused(await client.get(path, headers=staff_headers), status=404)
    r = await client.post(f"/api/v1/sessions/{TOO_BIG}/bookings", json=PERSON)
    assert_refused(r, status=404)
    r = await client.post(f"/api/v1/manage/bookings/{TOO_BIG}/check-in", headers=staff_headers)
    assert_refused(r, status=404)


async def test_ids_beyond_64_bits_in_bodies(
    client: AsyncClient, staff_headers: dict[str, str]
) -> None:
    event = {"title": "説明会", "kind": "seminar", "sector": "general"}
    for key in ("cohost_ids", "employer_ids"):
        r = await client.post(
            "/api/v1/manage/events", json={**event, key: [TOO_BIG]}, headers=staff_headers
        )
        assert_refused(r, field=key)
    session = {
        "venue_id": TOO_BIG,
        "starts_at": "2030-01-01T10:00",
        "ends_at": "2030-01-01T12:00",
        "capacity": 10**30,
        "waitlist_limit": -(2**70),
    }
    created = await client.post("/api/v1/manage/events", json=event, headers=staff_headers)
    assert created.status_code == 201, created.text
    r = await client.post(
        f"/api/v1/manage/events/{created.json()['id']}/sessions",
        json=session,
        headers=staff_headers,
    )
    assert_refused(r)


async def test_nul_characters(
    client: AsyncClient, db: AsyncSession, staff_headers: dict[str, str]
) -> None:
    r = await client.post("/api/v1/auth/token", json={"username": "ad\x00min", "password": "x"})
    assert_refused(r)
    token = await csrf_token(client)
    r = await client.post(
        "/manage/login", data={"username": "ad\x00min", "password": "x", "_csrf_token": token}
    )
    assert_refused(r)
    r = await client.post(
        "/manage/login", data={"user\x00name": "a", "password": "x", "_csrf_token": token}
    )
    assert_refused(r)
    for path in ("/api/v1/manage/events?q=%00", "/manage/?q=%00"):
        await web_login(client, db, await make_staff(db, "organizer"))
        r = await client.get(path, headers=staff_headers)
        assert r.status_code < 500, (path, r.status_code)
        if r.status_code >= 400:
            assert_refused(r)
    s = await make_session(db)
    r = await client.get(f"/api/v1/manage/sessions/{s.id}/roster?q=%00", headers=staff_headers)
    assert r.status_code < 500
    r = await client.get("/api/v1/events?ward=%00&sector=%00")
    assert r.status_code < 500
    event = {"title": "説明会", "kind": "seminar", "sector": "general", "tags": ["a\x00b"]}
    r = await client.post("/api/v1/manage/events", json=event, headers=staff_headers)
    assert_refused(r, field="tags")
    r = await client.post(
        f"/api/v1/sessions/{s.id}/bookings", json={**PERSON, "heard_from": "d\x00m"}
    )
    assert_refused(r, field="heard_from")


@pytest.mark.parametrize(
    "cookie",
    [
        'csrftoken="unterminated',
        "a=1; ; ;=; b",
        "nw_session=\x7f\x01",
        "=" * 300,
        "a=%ZZ%",
    ],
)
async def test_malformed_cookies(client: AsyncClient, cookie: str) -> None:
    for path in ("/", "/api/v1/events", "/manage/login"):
        r = await client.get(path, headers={"Cookie": cookie})
        assert r.status_code < 500, (path, r.status_code)
        assert "content-security-policy" in r.headers
        if r.status_code >= 400:
            assert_refused(r)


@pytest.mark.parametrize(
    "title",
    ["\u200b\u200b\u200b", "\u200b\u2060\ufeff", "説明会\u202e会明説", "\u2066説明会\u2069"],
)
async def test_invisible_and_bidi_titles_refused_by_staff_api(
    client: AsyncClient, staff_headers: dict[str, str], title: str
) -> None:
    event = {"title": title, "kind": "seminar", "sector": "general"}
    r = await client.post("/api/v1/manage/events", json=event, headers=staff_headers)
    assert_refused(r, field="title", status=422)


async def test_invisible_name_refused_by_public_api(client: AsyncClient, db: AsyncSession) -> None:
    s = await make_session(db)
    for name in ("\u200b\u200b", "静岡\u202e太郎"):
        r = await client.post(f"/api/v1/sessions/{s.id}/bookings", json={**PERSON, "name": name})
        assert_refused(r, field="name", status=422)


@pytest.mark.parametrize(
    "email", ["<script>@example.jp", '"><b>x</b>"@example.jp', "a..b@example.jp", "taro@example"]
)
async def test_an_address_refused_by_the_mailer_is_refused_at_the_form(
    client: AsyncClient, db: AsyncSession, email: str
) -> None:
    """Issue 8, point 9: one rule for the booking forms and the mailer."""
    with pytest.raises(BadAddress):
        recipient(email)
    s = await make_session(db)
    r = await client.post(f"/api/v1/sessions/{s.id}/bookings", json={**PERSON, "email": email})
    assert_refused(r, field="email", status=422)
    assert "メールアドレス" in r.json()["fields"]["email"]
    page = await client.get(f"/events/{s.event_id}/sessions/{s.id}/book")
    values = {
        "name": PERSON["name"],
        "name_kana": PERSON["name_kana"],
        "phone": PERSON["phone"],
        "email": email,
        "heard_from": "dm",
        "_csrf_token": csrf_of(page),
    }
    r = await client.post(f"/events/{s.event_id}/sessions/{s.id}/book/confirm", data=values)
    r = await follow(client, r)
    assert "メールアドレスの形式が正しくありません" in r.text


async def test_an_address_accepted_at_the_form_is_mailable(
    client: AsyncClient, db: AsyncSession
) -> None:
    s = await make_session(db)
    for n, email in enumerate(["Taro.Y+desk@Example.JP", "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ"]):
        r = await client.post(
            f"/api/v1/sessions/{s.id}/bookings",
            json={**PERSON, "phone": f"090-0000-000{n}", "email": email},
        )
        assert r.status_code == 201, r.text
        stored = await db.scalar(
            text("SELECT email FROM bookings WHERE code = :c"),
            {"c": r.json()["code"].replace("-", "")},
        )
        assert str(recipient(stored)) == stored


async def test_a_form_in_another_encoding_is_refused_not_stored_as_garbage(
    client: AsyncClient, db: AsyncSession
) -> None:
    """Bytes that are not UTF-8 (a page posted as Shift_JIS by an old browser or a broken
    client) reach the form as U+FFFD: the field is named and nothing is stored, on the page and
    in the API alike."""
    s = await make_session(db)
    base = f"/events/{s.event_id}/sessions/{s.id}/book"
    page = await client.get(base)
    body = (
        "_csrf_token=" + csrf_of(page) + "&name=%90%C3%89%AA&name_kana=%E3%81%97%E3%81%9A"
        "&phone=090-1234-5678"
    )  # 静岡 in Shift_JIS
    r = await client.post(
        base + "/confirm",
        content=body.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    shown = await follow(client, r)
    assert "お名前に使えない文字" in shown.text
    api = await client.post(
        f"/api/v1/sessions/{s.id}/bookings", json={**PERSON, "name": "静岡\ufffd太郎"}
    )
    assert_refused(api, field="name", status=422)
    assert await db.scalar(text("SELECT count(*) FROM bookings")) == 0


# --- staff text fields: the one text rule (issue 19, point 6) -----------------------------

HOSTILE = {
    "ESC": "\x1b",
    "BEL": "\x07",
    "RLO": "\u202e",
    "ZWSP": "\u200b",
    "BOM": "\ufeff",
    "private use": "\ue000",
    "U+FFFD": "\ufffd",
}
LINE_BREAKS = {"CRLF": "\r\nBcc: someone@example.jp", "LF": "\n", "TAB": "\t", "CR": "\r"}


def _staff_writes(admin: dict[str, str], organizer: dict[str, str]) -> list[Any]:
    """(url, method, headers, valid body, the single-line field under test)."""
    user = {"username": "tanaka", "password": "a-long-enough-password", "role": "organizer"}
    return [
        ("/api/v1/manage/users", "POST", admin, user, "username"),
        ("/api/v1/manage/users", "POST", admin, {**user, "display_name": "田中"}, "display_name"),
        (
            "/api/v1/manage/events",
            "POST",
            organizer,
            {"title": "説明会", "kind": "seminar", "sector": "general"},
            "title",
        ),
        ("/api/v1/manage/venues", "POST", organizer, {"name": "会館", "ward": "aoi"}, "name"),
        (
            "/api/v1/manage/organizations",
            "POST",
            organizer,
            {"name": "団体", "kind": "employer"},
            "name",
        ),
    ]


@pytest.mark.parametrize("what", [*HOSTILE, *LINE_BREAKS])
async def test_staff_single_line_text_takes_the_one_rule(
    client: AsyncClient, db: AsyncSession, staff_headers: dict[str, str], what: str
) -> None:
    bad = HOSTILE.get(what) or LINE_BREAKS[what]
    admin = bearer(await issue_token(db, await make_staff(db, "admin")))
    for url, method, headers, body, field in _staff_writes(admin, staff_headers):
        value = f"{body[field]}{bad}x"
        r = await client.request(method, url, json={**body, field: value}, headers=headers)
        assert_refused(r, field=field, status=422)
    await db.rollback()
    for table, column in (("staff_users", "display_name"), ("events", "title"), ("venues", "name")):
        stored = await db.scalar(text(f"SELECT count(*) FROM {table} WHERE {column} LIKE '%x'"))
        assert stored == 0, table


async def test_multi_line_staff_text_keeps_line_breaks_not_hostile_characters(
    client: AsyncClient, staff_headers: dict[str, str]
) -> None:
    event = {"title": "説明会", "kind": "seminar", "sector": "general"}
    ok = await client.post(
        "/api/v1/manage/events",
        json={**event, "description": "一行目\r\n二行目\tです"},
        headers=staff_headers,
    )
    assert ok.status_code == 201, ok.text
    for bad in HOSTILE.values():
        r = await client.post(
            "/api/v1/manage/events",
            json={**event, "description": f"説明{bad}"},
            headers=staff_headers,
        )
        assert_refused(r, field="description", status=422)


@pytest.mark.parametrize("what", [*HOSTILE, "LF"])
async def test_calendar_link_names_take_the_one_rule(
    client: AsyncClient, db: AsyncSession, what: str
) -> None:
    bad = HOSTILE.get(what) or LINE_BREAKS[what]
    await web_login(client, db, await make_staff(db, "organizer"))
    r = await post_form(client, "/manage/calendar-links/", {"name": f"スマホ{bad}用"})
    assert r.status_code in (200, 422), r.text[:300]  # the page again, with the error
    assert "見えない文字" in r.text and "has-error" in r.text
    await db.rollback()
    assert await db.scalar(text("SELECT count(*) FROM staff_feed_links")) == 0
