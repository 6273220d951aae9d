"""The staff API and console pages of people: organizers register, find, read, change, merge
and withdraw; co-host staff see none of it."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.domain.bookings.normalize import format_code
from tests.factories import make_session
from tests.manage_support import (
    bearer,
    issue_token,
    make_staff,
    make_world,
    person,
    post_form,
    web_login,
)

BODY = {
    "name": "駿河 花子",
    "name_kana": "するが はなこ",
    "phone": "054-254-1111",
    "email": "hanako@example.jp",
    "postal_code": "４２０－０８５３",
    "age_band": "65_69",
    "ward": "aoi",
    "contact_by": ["mail", "post", "phone"],
    "consent": {"privacy": True, "news": True},
}


async def test_register_find_show_change_and_merge(client: AsyncClient, db: AsyncSession) -> None:
    staff = await make_staff(db, "organizer")
    h = bearer(await issue_token(db, staff))
    r = await client.post("/api/v1/manage/people", json=BODY, headers=h)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["address"] == "静岡県静岡市葵区追手町"
    assert created["postal_code"] == "4200853"
    assert created["contact_by"] == ["mail", "post", "phone"]
    assert created["consent"]["privacy"] is True and created["consent"]["version"]
    again = await client.post("/api/v1/manage/people", json=BODY, headers=h)
    assert again.status_code == 409 and again.json()["error"] == "person_exists"
    bad = await client.post(
        "/api/v1/manage/people",
        json=BODY | {"phone": "12", "name_kana": "abc", "consent": {"privacy": False}},
        headers=h,
    )
    assert bad.status_code == 422
    assert {"phone", "name_kana"} <= set(bad.json()["fields"])

    found = await client.get(
        "/api/v1/manage/people", params={"q": "０５４２５４１１１１"}, headers=h
    )
    assert [p["id"] for p in found.json()] == [created["id"]]
    found = await client.get("/api/v1/manage/people", params={"q": "スルガ"}, headers=h)
    assert [p["id"] for p in found.json()] == [created["id"]]

    s = await make_session(db)
    booked = await bookings.book(
        db, s.id, person(7, phone="09077776666", name_kana="スルガ ハナコ")
    )
    await db.commit()
    by_code = await client.get("/api/v1/manage/people", params={"q": booked.code}, headers=h)
    dup_id = by_code.json()[0]["id"]
    typed = format_code(booked.code).translate(
        str.maketrans("0123456789-", "０１２３４５６７８９－")
    )
    by_typed = await client.get("/api/v1/manage/people", params={"q": typed}, headers=h)
    assert [p["id"] for p in by_typed.json()] == [dup_id]
    assert dup_id != created["id"]

    r = await client.patch(
        f"/api/v1/manage/people/{dup_id}", json={"ward": "aoi", "birth_year": 1958}, headers=h
    )
    assert r.status_code == 200 and r.json()["ward"] == "aoi"
    shown = (await client.get(f"/api/v1/manage/people/{created['id']}", headers=h)).json()
    assert shown["duplicate_ids"] == [dup_id]
    merged = await client.post(
        f"/api/v1/manage/people/{created['id']}/merge", json={"duplicate_id": dup_id}, headers=h
    )
    assert merged.status_code == 200 and merged.json()["moved"]["bookings"] == 1
    shown = (await client.get(f"/api/v1/manage/people/{created['id']}", headers=h)).json()
    assert [b["code"] for b in shown["bookings"]] == [booked.code]
    assert any(e["kind"] == "booking" for e in shown["history"])
    assert (await client.get(f"/api/v1/manage/people/{dup_id}", headers=h)).status_code == 404

    r = await client.patch(
        f"/api/v1/manage/people/{created['id']}", json={"consent": {"withdrawn": True}}, headers=h
    )
    assert r.status_code == 200
    assert r.json()["phone"] is None and r.json()["address"] is None
    assert r.json()["consent"]["withdrawn_at"] is not None


async def test_cohost_staff_see_no_people(client: AsyncClient, db: AsyncSession) -> None:
    world = await make_world(db)
    h = bearer(await issue_token(db, world.cohost_a))
    pid = await db.scalar(text("SELECT person_id FROM bookings LIMIT 1"))
    assert (await client.get("/api/v1/manage/people", headers=h)).status_code == 403
    assert (await client.get(f"/api/v1/manage/people/{pid}", headers=h)).status_code == 403
    await web_login(client, db, world.cohost_a)
    assert (await client.get(f"/manage/people/{pid}")).status_code == 403


async def test_desk_registration_form_and_person_page(
    client: AsyncClient, db: AsyncSession
) -> None:
    staff = await make_staff(db, "organizer")
    await web_login(client, db, staff)
    assert (await client.get("/manage/people/new")).status_code == 200
    r = await post_form(
        client,
        "/manage/people",
        {"via": "desk", "name": "清水 次郎", "name_kana": "しみず じろう", "phone": "090-1111-2222",
         "postal_code": "4240806", "contact_1": "post", "contact_2": "phone",
         "consent_privacy": "yes"},
    )  # fmt: skip
    assert r.status_code == 303, r.text
    page = await client.get(r.headers["location"])
    assert page.status_code == 200
    assert "清水 次郎" in page.text and "〒424-0806" in page.text
    assert "1. 郵便" in page.text
    refused = await post_form(
        client, "/manage/people", {"name": "<script>x</script>", "name_kana": "ａ", "phone": ""}
    )
    assert refused.status_code == 422
    assert "&lt;script&gt;" in refused.text and "<script>x" not in refused.text
    assert "ふりがなは、ひらがなかカタカナで入力してください" in refused.text
    assert "電話番号を入力してください" in refused.text


async def test_console_edit_of_a_person(client: AsyncClient, db: AsyncSession) -> None:
    staff = await make_staff(db, "organizer")
    h = bearer(await issue_token(db, staff))
    pid = (await client.post("/api/v1/manage/people", json=BODY, headers=h)).json()["id"]
    await web_login(client, db, staff)
    form = await client.get(f"/manage/people/{pid}/edit")
    assert form.status_code == 200 and 'value="hanako@example.jp"' in form.text
    bad = await post_form(
        client,
        f"/manage/people/{pid}/edit",
        {"name": "駿河 花子", "name_kana": "するが はなこ", "phone": "0542541111",
         "email": "", "contact_1": "mail"},
    )  # fmt: skip
    assert bad.status_code == 422 and "メールアドレスを入力してください" in bad.text
    ok = await post_form(
        client,
        f"/manage/people/{pid}/edit",
        {"name": "駿河 花子", "name_kana": "するが はなこ", "phone": "0542541111",
         "email": "", "postal_code": "4200853", "contact_1": "post", "contact_2": "phone"},
    )  # fmt: skip
    assert ok.status_code == 303
    shown = (await client.get(f"/api/v1/manage/people/{pid}", headers=h)).json()
    assert shown["email"] is None and shown["contact_by"] == ["post", "phone"]
    assert shown["consent"]["news"] is False


def test_the_person_pages_history_says_a_mails_state_in_words() -> None:
    from service.web.manage_people import history_detail

    assert history_detail("skipped", "mail") == "送らず"
    assert history_detail("sending", "mail") == "送信中"
    assert history_detail("pending", "mail") == "送信待ち"
    # A follow-up letter's target keeps its own words.
    assert history_detail("pending", "follow_up_post") == "未送付"
    assert history_detail("employed:清水警備", "follow_up_answer") == "就職した・清水警備"
