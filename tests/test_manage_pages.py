"""The organizer pages over HTTP: forms, redirects, Japanese errors, escaping, scoping."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.platform.local_time import TOKYO
from tests.factories import make_org, make_session, make_venue
from tests.manage_support import (
    SECRET_TITLE,
    csrf_token,
    make_staff,
    make_world,
    move_session,
    person,
    post_form,
    web_login,
)


def _local(days: int, hour: int) -> str:
    day = datetime.now(TOKYO) + timedelta(days=days)
    return day.replace(hour=hour, minute=0).strftime("%Y-%m-%dT%H:%M")


async def _organizer(client: AsyncClient, db: AsyncSession) -> None:
    await make_org(db, "NEXTワークしずおか", kind="organizer")
    await web_login(client, db, await make_staff(db, "organizer"))


async def test_create_event_add_session_and_publish_through_the_forms(
    client: AsyncClient, db: AsyncSession
) -> None:
    await _organizer(client, db)
    hw = await make_org(db, "ハローワーク静岡", kind="cohost")
    venue = await make_venue(db)
    await db.commit()
    form = await client.get("/manage/events/new")
    assert form.status_code == 200 and "ハローワーク静岡" in form.text
    assert form.headers["cache-control"] == "no-store"

    bad = await post_form(client, "/manage/events", {"title": "", "kind": "job_fair"})
    assert bad.status_code == 422
    assert "イベント名を入力してください" in bad.text and "分野を選んでください" in bad.text
    assert 'aria-invalid="true"' in bad.text

    r = await client.post(
        "/manage/events",
        data={
            "title": "<script>alert(1)</script>お仕事面談会",
            "kind": "job_fair",
            "sector": "care",
            "cohost_ids": [str(hw.id)],
            "tags": "介護、はじめて",
            "fee_yen": "１５００",
            "audience": "介護のお仕事に興味のある方",
            "arrival_note": "受付は開始の15分前からです。",
            "_csrf_token": await csrf_token(client),
        },
    )
    assert r.status_code == 303
    location = r.headers["location"]
    event_id = int(re.search(r"/manage/events/(\d+)", location).group(1))  # type: ignore[union-attr]
    page = await client.get(location)
    assert "イベントを作成しました" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;お仕事面談会" in page.text
    assert "<script>alert(1)" not in page.text
    assert "下書き" in page.text and "ハローワーク静岡" in page.text

    bad = await post_form(
        client,
        f"/manage/events/{event_id}/sessions",
        {
            "venue_id": str(venue.id),
            "starts_at": _local(7, 10),
            "ends_at": _local(7, 9),
            "capacity": "たくさん",
        },
    )
    assert bad.status_code == 422
    assert "定員は数字で入力してください" in bad.text
    assert "終了日時は開始日時より後にしてください" in bad.text
    assert f'value="{_local(7, 10)}"' in bad.text  # what was typed is kept

    r = await post_form(
        client,
        f"/manage/events/{event_id}/sessions",
        {
            "venue_id": str(venue.id),
            "starts_at": _local(7, 10),
            "ends_at": _local(7, 12),
            "capacity": "１５",  # full-width digits from a Japanese keyboard
            "waitlist_limit": "５",
        },
    )
    assert r.status_code == 303, r.text
    row = (await db.execute(text("SELECT capacity, waitlist_limit, starts_at FROM sessions"))).one()
    assert (row.capacity, row.waitlist_limit) == (15, 5)
    assert row.starts_at.astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M") == _local(7, 10)

    r = await post_form(client, f"/manage/events/{event_id}/publish")
    assert r.status_code == 303
    page = await client.get(f"/manage/events/{event_id}")
    assert "公開中" in page.text
    public = await client.get(f"/api/v1/events/{event_id}")
    assert public.status_code == 200
    shown = await client.get(f"/events/{event_id}")
    assert "<dt>参加費</dt><dd>1,500円</dd>" in shown.text
    assert "<dt>対象</dt><dd>介護のお仕事に興味のある方</dd>" in shown.text
    assert "受付は開始の15分前からです。" in shown.text


async def test_edit_event_and_session_forms_show_current_values(
    client: AsyncClient, db: AsyncSession
) -> None:
    await _organizer(client, db)
    s = await make_session(db, capacity=4)
    event_id = s.event_id
    edit = await client.get(f"/manage/events/{event_id}/edit")
    assert edit.status_code == 200 and 'value="シニア向け就職相談会"' in edit.text
    session_form = await client.get(f"/manage/sessions/{s.id}/edit")
    assert 'name="capacity"' in session_form.text and 'value="4"' in session_form.text
    values = {
        "venue_id": str(s.venue_id),
        "starts_at": s.starts_at.astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": s.ends_at.astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M"),
        "capacity": "6",
        "waitlist_limit": "10",
    }
    r = await post_form(client, f"/manage/sessions/{s.id}", values)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/manage/events/{event_id}")
    for n in range(3):
        await bookings.book(db, s.id, person(n))
    await db.commit()
    r = await post_form(client, f"/manage/sessions/{s.id}", {**values, "capacity": "2"})
    assert r.status_code == 409
    assert "予約が確定している人数（3人）より少なくすることはできません" in r.text


async def test_roster_check_in_and_undo_through_the_page(
    client: AsyncClient, db: AsyncSession
) -> None:
    await _organizer(client, db)
    s = await make_session(db, capacity=3)
    booked = await bookings.book(db, s.id, person(1, name="静岡 花子", name_kana="シズオカ ハナコ"))
    await db.commit()
    roster = await client.get(f"/manage/sessions/{s.id}")
    assert roster.status_code == 200 and "静岡 花子" in roster.text
    assert "当日から" in roster.text and "受付する" not in roster.text
    early = await post_form(client, f"/manage/bookings/{booked.id}/check-in")
    assert early.status_code == 409 and "受付は開催日の当日からできます" in early.text

    await move_session(db, s.id, starts_in=timedelta(seconds=-1))
    roster = await client.get(f"/manage/sessions/{s.id}")
    assert 'aria-label="静岡 花子さんを受付する"' in roster.text
    r = await post_form(client, f"/manage/bookings/{booked.id}/check-in", {"q": "はなこ"})
    assert r.status_code == 303
    assert (
        r.headers["location"]
        == f"/manage/sessions/{s.id}?q=%E3%81%AF%E3%81%AA%E3%81%93&done=checked_in#b{booked.id}"
    )
    after = await client.get(r.headers["location"].split("#")[0])
    assert "受付しました" in after.text and "✓ 受付済" in after.text
    r = await post_form(client, f"/manage/bookings/{booked.id}/undo-check-in")
    assert r.status_code == 303
    assert (
        await db.scalar(text("SELECT checked_in_at FROM bookings WHERE id = :b"), {"b": booked.id})
        is None
    )


async def test_phone_booking_through_the_page_shows_the_code(
    client: AsyncClient, db: AsyncSession
) -> None:
    await _organizer(client, db)
    s = await make_session(db, capacity=1, waitlist_limit=1)
    form = await client.get(f"/manage/sessions/{s.id}/phone-booking")
    assert form.status_code == 200 and "電話予約を入力" in form.text
    bad = await post_form(
        client,
        f"/manage/sessions/{s.id}/phone-booking",
        {"name": "電話 一郎", "name_kana": "Denwa", "phone": "054"},
    )
    assert bad.status_code == 422
    assert "ふりがなは、ひらがなかカタカナで入力してください" in bad.text
    assert "電話番号の桁数が正しくありません" in bad.text
    r = await post_form(
        client,
        f"/manage/sessions/{s.id}/phone-booking",
        {
            "name": "電話 一郎",
            "name_kana": "でんわ いちろう",
            "phone": "054-254-2770",
            "age_band": "65_69",
        },
    )
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    code = await db.scalar(text("SELECT code FROM bookings"))
    assert f"{code[:4]}-{code[4:8]}-{code[8:]}" in page.text
    assert "電話予約を登録しました" in page.text and "予約確定" in page.text


async def test_walk_in_through_the_page_needs_the_override_when_full(
    client: AsyncClient, db: AsyncSession
) -> None:
    await _organizer(client, db)
    s = await make_session(db, capacity=1, waitlist_limit=0)
    await bookings.book(db, s.id, person(1))
    await db.commit()
    await move_session(db, s.id, starts_in=timedelta(seconds=-1))
    walker = {"name": "当日 さん", "name_kana": "とうじつ さん", "phone": "090-1234-0000"}
    full = await post_form(client, f"/manage/sessions/{s.id}/walk-in", walker)
    assert full.status_code == 409
    assert "定員を超えて受け付ける" in full.text and 'value="090-1234-0000"' in full.text
    r = await post_form(client, f"/manage/sessions/{s.id}/walk-in", {**walker, "override": "1"})
    assert r.status_code == 303
    roster = await client.get(r.headers["location"].split("#")[0])
    assert "当日 さん" in roster.text and "定員超過" in roster.text


async def test_cancel_for_someone_needs_a_reason(client: AsyncClient, db: AsyncSession) -> None:
    await _organizer(client, db)
    s = await make_session(db)
    booked = await bookings.book(db, s.id, person(1))
    await db.commit()
    form = await client.get(f"/manage/bookings/{booked.id}/cancel")
    assert form.status_code == 200
    r = await post_form(client, f"/manage/bookings/{booked.id}/cancel", {"reason": "   "})
    assert r.status_code == 422 and "理由を入力してください" in r.text
    r = await post_form(
        client, f"/manage/bookings/{booked.id}/cancel", {"reason": "電話で連絡あり"}
    )
    assert r.status_code == 303
    roster = await client.get(f"/manage/sessions/{s.id}")
    assert "電話で連絡あり" in roster.text


async def test_print_view_and_csv_from_the_console(client: AsyncClient, db: AsyncSession) -> None:
    await _organizer(client, db)
    s = await make_session(db, capacity=5)
    for n, (name, kana) in enumerate(
        [
            ("渡辺 三郎", "ワタナベ サブロウ"),
            ("伊藤 花子", "イトウ ハナコ"),
            ("加藤 一郎", "カトウ イチロウ"),
        ]
    ):
        await bookings.book(db, s.id, person(n, name=name, name_kana=kana))
    await db.commit()
    sheet = await client.get(f"/manage/sessions/{s.id}/print")
    assert sheet.status_code == 200
    assert "受付名簿" in sheet.text and "/static/manage.css" in sheet.text
    positions = [sheet.text.index(name) for name in ("伊藤 花子", "加藤 一郎", "渡辺 三郎")]
    assert positions == sorted(positions)  # by reading
    assert sheet.text.count("□") >= 3 + 5  # a box per person and per blank walk-in line
    assert "予約番号" in sheet.text and "キャンセル待ち（0人" in sheet.text
    codes = await db.scalars(text("SELECT code FROM bookings"))
    for code in codes:  # the code people give at the desk is on the sheet
        assert f"{code[:4]}-{code[4:8]}-{code[8:]}" in sheet.text
    csv_page = await client.get(f"/manage/sessions/{s.id}/roster.csv")
    assert csv_page.status_code == 200 and csv_page.content.startswith(b"\xef\xbb\xbf")
    actions = list(await db.scalars(text("SELECT action FROM audit_log ORDER BY id")))
    assert actions == ["roster.print", "roster.export"]


async def test_cohost_staff_see_only_their_events(client: AsyncClient, db: AsyncSession) -> None:
    world = await make_world(db)
    await web_login(client, db, world.cohost_b)
    home = await client.get("/manage")
    assert home.status_code == 200
    assert "シルバーの説明会" in home.text and SECRET_TITLE not in home.text
    assert "イベントを作成" not in home.text and "操作履歴" not in home.text
    roster = await client.get(f"/manage/sessions/{world.session_b.id}")
    assert roster.status_code == 200
    other = await client.get(f"/manage/sessions/{world.session_a.id}")
    assert other.status_code == 404 and SECRET_TITLE not in other.text
    assert (await client.get(f"/manage/events/{world.event_b.id}/edit")).status_code == 403


async def test_admin_reads_the_audit_log_page(client: AsyncClient, db: AsyncSession) -> None:
    world = await make_world(db)
    await web_login(client, db, world.admin)
    await client.get(f"/manage/sessions/{world.session_a.id}")
    page = await client.get("/manage/audit?entity_type=session")
    assert page.status_code == 200
    assert "roster.view" in page.text and world.admin.username in page.text
    bad = await client.get("/manage/audit?entity_id=abc&page_no=1")
    assert bad.status_code == 200


async def test_staff_member_makes_a_calendar_link_in_the_console(
    client: AsyncClient, db: AsyncSession
) -> None:
    world = await make_world(db)
    await web_login(client, db, world.cohost_b)
    home = await client.get("/manage")
    assert "/manage/calendar-links/" in home.text
    token = await csrf_token(client)
    made = await client.post(
        "/manage/calendar-links/",
        data={"name": "仕事用スマホ", "_csrf_token": token},
    )
    assert made.status_code == 200, made.text
    feed = re.search(r'value="(http://[^"]+/calendar/staff/[^"]+\.ics)"', made.text)
    assert feed is not None
    path = feed.group(1).split("://", 1)[1].split("/", 1)[1]
    ics = await client.get("/" + path)
    assert ics.status_code == 200 and "BEGIN:VCALENDAR" in ics.text
    assert "シルバーの説明会" in ics.text and SECRET_TITLE not in ics.text
