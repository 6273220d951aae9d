"""The public pages through the ASGI app: list, filters, details, the booking steps, look-up and
cancel, escaping, CSRF and the rate limit. (The same flows in a real browser: tests/browser/.)"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.bookings.models import Booking
from service.domain.events.models import EventSession
from service.platform.local_time import TOKYO
from service.platform.settings import Settings
from tests.browser.data import add_event, book_someone
from tests.conftest import open_app

GOOD = {
    "name": "静岡 花子",
    "name_kana": "しずおか はなこ",
    "phone": "054-254-2770",
    "email": "",
    "age_band": "65_69",
    "ward": "aoi",
    "heard_from": "",
}


def _card(page: str, title: str) -> str:
    """The part of the list page about one event (up to the next event's card)."""
    start = page.index(title)
    end = page.find("<h3", start)
    return page[start : end if end != -1 else len(page)]


def csrf_of(page: Response) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert match, "the page has no CSRF field"
    return html.unescape(match.group(1))


def hidden_of(page: Response) -> dict[str, str]:
    return {
        html.unescape(m.group(1)): html.unescape(m.group(2))
        for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
    }


async def post_form(
    client: AsyncClient, page: Response, url: str, data: dict[str, str]
) -> Response:
    return await client.post(url, data={**data, "_csrf_token": csrf_of(page)})


async def follow(client: AsyncClient, answer: Response) -> Response:
    """The GET page a public POST redirects to (every one answers 303)."""
    assert answer.status_code == 303, (answer.status_code, answer.text[:500])
    return await client.get(answer.headers["location"])


async def submit(client: AsyncClient, page: Response, url: str, data: dict[str, str]) -> Response:
    """Posts a form of page, with its CSRF token, and follows the 303."""
    return await follow(client, await post_form(client, page, url, data))


async def test_home_lists_events_with_weekday_availability_and_desk(
    client: AsyncClient, db: AsyncSession
) -> None:
    seeded = await add_event(db, days_ahead=(7,), capacity=3, waitlist_limit=2)
    await book_someone(db, seeded.session_ids[0], 1)
    r = await client.get("/")
    assert r.status_code == 200
    day = datetime.now(TOKYO).date() + timedelta(days=7)
    weekday = "月火水木金土日"[day.weekday()]
    assert f"{day.month}月{day.day}日（{weekday}）" in r.text
    assert "10:00〜12:00" in r.text
    assert "静岡市役所 本館（葵区）" in r.text
    assert "残り2席" in r.text
    assert "共催：ハローワーク静岡" in r.text
    assert "☎ 054-254-2770" in r.text


async def test_home_words_for_full_and_closed(client: AsyncClient, db: AsyncSession) -> None:
    full = await add_event(db, title="満席の説明会", days_ahead=(5,), capacity=1, waitlist_limit=3)
    await book_someone(db, full.session_ids[0], 1)
    closing = await add_event(db, title="締切済みの説明会", days_ahead=(1,), capacity=5)
    r = await client.get("/")
    assert "満席（キャンセル待ち受付中）" in r.text
    # Closes at 17:00 the day before: tomorrow's session is closed from 17:00 today.
    closes_at = await db.scalar(
        select(EventSession.booking_closes_at).where(EventSession.id == closing.session_ids[0])
    )
    assert closes_at is not None
    with clock.frozen_at(closes_at - timedelta(microseconds=1)):
        before = await client.get("/")
    with clock.frozen_at(closes_at):
        after = await client.get("/")
    assert "受付終了" not in _card(before.text, "締切済みの説明会")
    assert "受付終了" in _card(after.text, "締切済みの説明会")


async def test_filters_by_sector_ward_and_month(client: AsyncClient, db: AsyncSession) -> None:
    await add_event(db, title="介護の説明会", sector="care", ward="aoi", days_ahead=(3,))
    await add_event(
        db,
        title="警備の説明会",
        sector="security",
        ward="shimizu",
        venue="清水区役所",
        days_ahead=(40,),
    )
    r = await client.get("/", params={"sector": "security"})
    assert "警備の説明会" in r.text and "介護の説明会" not in r.text
    assert "「警備」の条件で1件" in r.text
    r = await client.get("/", params={"ward": "aoi"})
    assert "介護の説明会" in r.text and "警備の説明会" not in r.text
    month = (datetime.now(TOKYO).date() + timedelta(days=3)).strftime("%Y-%m")
    r = await client.get("/", params={"month": month})
    assert "介護の説明会" in r.text
    # Unknown values are dropped, with a word, instead of an error page.
    r = await client.get("/", params={"sector": "nonsense", "month": "1999-99"})
    assert r.status_code == 200
    assert "介護の説明会" in r.text and "警備の説明会" in r.text
    assert "条件の一部が正しくなかった" in r.text


async def test_event_detail_shows_sessions_notes_and_booking_buttons(
    client: AsyncClient, db: AsyncSession
) -> None:
    seeded = await add_event(db, days_ahead=(8, 9), capacity=1, waitlist_limit=0)
    await book_someone(db, seeded.session_ids[1], 1)
    r = await client.get(f"/events/{seeded.event_id}")
    assert r.status_code == 200
    for text in (
        "JR静岡駅から徒歩15分。",
        "エレベーター・多目的トイレあり。",
        "筆記用具",
        "社会福祉法人あおい福祉会",
        "ハローワーク静岡",
        "NEXTワークしずおか",
    ):
        assert text in r.text
    book_links = re.findall(r'href="(/events/\d+/sessions/\d+/book)"', r.text)
    assert book_links == [f"/events/{seeded.event_id}/sessions/{seeded.session_ids[0]}/book"]
    assert "満席" in r.text


async def test_unknown_or_unpublished_event_is_404(client: AsyncClient, db: AsyncSession) -> None:
    draft = await add_event(db, status="draft")
    assert (await client.get(f"/events/{draft.event_id}")).status_code == 404
    assert (await client.get("/events/999999")).status_code == 404


async def test_book_confirm_complete_and_done(client: AsyncClient, db: AsyncSession) -> None:
    seeded = await add_event(db, capacity=5)
    base = f"/events/{seeded.event_id}/sessions/{seeded.session_ids[0]}/book"
    form = await client.get(base)
    assert form.status_code == 200
    answer = await post_form(
        client, form, base + "/confirm", {**GOOD, "phone": "０５４ー２５４ー２７７０"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(base + "/confirm?d=")
    assert "054" not in answer.headers["location"]  # nothing typed goes into the address
    confirm = await client.get(answer.headers["location"])
    assert confirm.status_code == 200
    assert confirm.headers["cache-control"] == "no-store"
    assert "入力内容の確認" in confirm.text
    assert "054-254-2770" in confirm.text  # normalised and shown back
    assert "<dd>しずおか はなこ</dd>" in confirm.text  # shown as typed
    assert "確認メールはお送りしません" in confirm.text
    hidden = hidden_of(confirm)
    assert hidden["name_kana"] == "シズオカ ハナコ"  # carried (and stored) in katakana
    assert hidden["phone"] == "0542542770" and hidden["expect"] == "seat"
    done = await client.post(base + "/complete", data=hidden)
    assert done.status_code == 303
    page = await client.get(done.headers["location"])
    assert page.status_code == 200
    assert "ご予約が確定しました" in page.text
    code = re.search(r'id="booking-code">(\d{4}-\d{4}-\d{4})<', page.text)
    assert code, page.text
    assert "/calendar.ics?t=" in page.text
    assert "確認メールはお送りしません" in page.text
    assert page.headers["cache-control"] == "no-store"
    count = await db.scalar(select(func.count()).select_from(Booking))
    assert count == 1
    # A second press of the same button (or a reload of the POST) books nothing new.
    again = await client.post(base + "/complete", data=hidden)
    # The same receipt; a fresh grant of its own for the current state.
    assert again.status_code == 303
    assert again.headers["location"].split("&g=")[0] == done.headers["location"].split("&g=")[0]
    assert await db.scalar(select(func.count()).select_from(Booking)) == 1


async def test_done_page_says_mail_will_be_sent(client: AsyncClient, db: AsyncSession) -> None:
    seeded = await add_event(db)
    base = f"/events/{seeded.event_id}/sessions/{seeded.session_ids[0]}/book"
    form = await client.get(base)
    confirm = await submit(client, form, base + "/confirm", {**GOOD, "email": "hanako@example.jp"})
    done = await client.post(base + "/complete", data=hidden_of(confirm))
    page = await client.get(done.headers["location"])
    assert "確認のメールをお送りします" in page.text


async def test_errors_are_listed_kept_and_plain(client: AsyncClient, db: AsyncSession) -> None:
    seeded = await add_event(db)
    base = f"/events/{seeded.event_id}/sessions/{seeded.session_ids[0]}/book"
    form = await client.get(base)
    bad = {**GOOD, "name": "", "phone": "でんわ"}
    answer = await post_form(client, form, base + "/confirm", bad)
    assert answer.status_code == 303 and answer.headers["location"].startswith(base + "?d=")
    r = await client.get(answer.headers["location"])
    assert r.status_code == 200
    assert "入力内容を確認してください（2か所）" in r.text
    assert '<a href="#name">' in r.text and '<a href="#phone">' in r.text
    # The example number on one line (never broken at a hyphen on a phone).
    example = '（例：<span class="nowrap">090-1234-5678</span>）'
    assert f"電話番号は数字で入力してください{example}" in r.text
    assert 'value="でんわ"' in r.text  # what was typed is kept
    assert 'aria-invalid="true"' in r.text
    assert 'value="しずおか はなこ"' in r.text


async def test_names_are_escaped(client: AsyncClient, db: AsyncSession) -> None:
    seeded = await add_event(db, title="<b>太字</b>の説明会")
    r = await client.get("/")
    assert "<b>太字</b>" not in r.text and "&lt;b&gt;太字&lt;/b&gt;" in r.text
    base = f"/events/{seeded.event_id}/sessions/{seeded.session_ids[0]}/book"
    form = await client.get(base)
    evil = "<script>alert(1)</script>"
    r = await submit(client, form, base + "/confirm", {**GOOD, "name": evil})
    assert evil not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text


async def test_post_without_csrf_token_is_refused(client: AsyncClient, db: AsyncSession) -> None:
    seeded = await add_event(db)
    base = f"/events/{seeded.event_id}/sessions/{seeded.session_ids[0]}/book"
    await client.get(base)
    r = await client.post(base + "/confirm", data=GOOD)
    assert r.status_code == 403
    assert "送信を受け付けられませんでした" in r.text
    r = await client.post(
        "/bookings/lookup", data={"code": "x", "phone": "y", "_csrf_token": "forged"}
    )
    assert r.status_code == 403
    assert await db.scalar(select(func.count()).select_from(Booking)) == 0


async def test_full_between_form_and_confirm_offers_the_waiting_list(
    client: AsyncClient, db: AsyncSession
) -> None:
    seeded = await add_event(db, capacity=1, waitlist_limit=3)
    sid = seeded.session_ids[0]
    base = f"/events/{seeded.event_id}/sessions/{sid}/book"
    form = await client.get(base)
    confirm = await submit(client, form, base + "/confirm", GOOD)
    assert hidden_of(confirm)["expect"] == "seat"
    await book_someone(db, sid, 1)  # someone else takes the last seat meanwhile
    answer = await client.post(base + "/complete", data=hidden_of(confirm))
    assert answer.headers["location"].startswith(base + "/full?d=")
    r = await follow(client, answer)
    assert "満席になりました" in r.text
    assert "キャンセル待ちに申し込む" in r.text
    # Nothing was kept: only the other person's booking exists.
    assert await db.scalar(select(func.count()).select_from(Booking)) == 1
    offer = hidden_of(r)
    assert offer["expect"] == "waitlist"
    done = await client.post(base + "/complete", data=offer)
    assert done.status_code == 303
    page = await client.get(done.headers["location"])
    assert "キャンセル待ちで受け付けました" in page.text
    assert "1番目" in page.text
    assert "このあとの流れ" in page.text


async def test_full_without_waiting_list_says_so(client: AsyncClient, db: AsyncSession) -> None:
    seeded = await add_event(db, capacity=1, waitlist_limit=0)
    sid = seeded.session_ids[0]
    base = f"/events/{seeded.event_id}/sessions/{sid}/book"
    form = await client.get(base)
    confirm = await submit(client, form, base + "/confirm", GOOD)
    await book_someone(db, sid, 1)
    r = await follow(client, await client.post(base + "/complete", data=hidden_of(confirm)))
    assert "キャンセル待ちもいっぱい" in r.text
    # And the form itself now says the session is not open.
    r = await client.get(base)
    assert r.status_code == 409 and "受け付けていません" in r.text


async def test_already_booked_is_explained_on_the_form(
    client: AsyncClient, db: AsyncSession
) -> None:
    seeded = await add_event(db)
    base = f"/events/{seeded.event_id}/sessions/{seeded.session_ids[0]}/book"
    for _ in range(2):
        form = await client.get(base)
        confirm = await submit(client, form, base + "/confirm", GOOD)
        r = await client.post(base + "/complete", data=hidden_of(confirm))
    assert r.status_code == 303 and r.headers["location"].startswith(base + "?d=")
    r = await client.get(r.headers["location"])
    assert "すでに予約があります" in r.text
    assert "/bookings/lookup" in r.text


async def _book(client: AsyncClient, event_id: int, session_id: int, data: dict[str, str]) -> str:
    base = f"/events/{event_id}/sessions/{session_id}/book"
    form = await client.get(base)
    confirm = await submit(client, form, base + "/confirm", data)
    page = await follow(client, await client.post(base + "/complete", data=hidden_of(confirm)))
    match = re.search(r'id="booking-code">([A-Z0-9-]+)<', page.text)
    assert match
    return match.group(1)


async def test_lookup_and_cancel_with_confirmation(client: AsyncClient, db: AsyncSession) -> None:
    seeded = await add_event(db)
    code = await _book(client, seeded.event_id, seeded.session_ids[0], GOOD)
    form = await client.get(f"/bookings/lookup?code={code}")
    assert f'value="{code}"' in form.text
    wrong = await submit(client, form, "/bookings/lookup", {"code": code, "phone": "0541111111"})
    assert wrong.status_code == 200
    assert "予約が見つかりませんでした" in wrong.text
    assert f'value="{code}"' in wrong.text
    answer = await post_form(
        client, form, "/bookings/lookup", {"code": code.lower(), "phone": "054 254 2770"}
    )
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert location.startswith("/bookings/details?g=")
    assert code.replace("-", "") not in location.replace("-", "") and "2770" not in location
    found = await client.get(location)
    assert found.status_code == 200
    assert "予約確定" in found.text and "静岡 花子" in found.text
    assert found.headers["cache-control"] == "no-store"
    grant = hidden_of(found)["g"]
    assert '<form method="get" action="/bookings/cancel"' in found.text
    ask = await client.get("/bookings/cancel", params={"g": grant})
    assert "この予約を取り消しますか" in ask.text
    assert ask.headers["cache-control"] == "no-store"
    assert await db.scalar(select(Booking.status)) == "confirmed"  # not yet
    answer = await post_form(client, ask, "/bookings/cancel/complete", {"g": grant})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/bookings/cancel/done?g={grant}"
    done = await client.get(answer.headers["location"])
    assert done.status_code == 200
    assert "予約を取り消しました" in done.text
    assert done.headers["cache-control"] == "no-store"
    db.expire_all()
    assert await db.scalar(select(Booking.status)) == "cancelled"
    # Reloaded: the same page; the details (Back, or the look-up result again) say cancelled.
    assert "予約を取り消しました" in (await client.get(answer.headers["location"])).text
    for again in (await client.get(location), await client.get("/bookings/cancel?g=" + grant)):
        assert again.status_code == 200 and "取り消し済み" in again.text
        assert 'action="/bookings/cancel"' not in again.text
    twice = await submit(client, ask, "/bookings/cancel/complete", {"g": grant})
    assert "すでに取り消されています" in twice.text


async def test_lookup_names_missing_fields(client: AsyncClient) -> None:
    form = await client.get("/bookings/lookup")
    answer = await post_form(client, form, "/bookings/lookup", {"code": "", "phone": ""})
    assert answer.status_code == 303 and answer.headers["location"].startswith(
        "/bookings/lookup?d="
    )
    r = await client.get(answer.headers["location"])
    assert '<a href="#code">' in r.text and '<a href="#phone">' in r.text


async def test_leaving_the_waiting_list(client: AsyncClient, db: AsyncSession) -> None:
    seeded = await add_event(db, capacity=1, waitlist_limit=2)
    await book_someone(db, seeded.session_ids[0], 1)
    code = await _book(client, seeded.event_id, seeded.session_ids[0], GOOD)
    form = await client.get("/bookings/lookup")
    found = await submit(client, form, "/bookings/lookup", {"code": code, "phone": GOOD["phone"]})
    assert "キャンセル待ち（1番目）" in found.text
    ask = await client.get("/bookings/cancel", params={"g": hidden_of(found)["g"]})
    assert "キャンセル待ちをやめますか" in ask.text
    done = await submit(client, ask, "/bookings/cancel/complete", hidden_of(ask))
    assert "キャンセル待ちをやめました" in done.text


async def test_done_page_refuses_forged_receipts(client: AsyncClient) -> None:
    r = await client.get("/bookings/done", params={"r": "eyJjb2RlIjoiQUFBQUFBQUFBQSJ9.AAAA"})
    assert r.status_code == 404
    r = await client.get("/bookings/done")
    assert r.status_code == 404


@pytest.fixture
async def strict_client(settings: Settings) -> AsyncIterator[AsyncClient]:
    strict = dataclasses.replace(settings, rate_limit_per_minute=3)
    async with open_app(strict) as app:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as c:
            yield c


async def test_lookup_is_rate_limited_with_a_page_that_explains(strict_client: AsyncClient) -> None:
    form = await strict_client.get("/bookings/lookup")
    statuses = []
    for _ in range(4):
        r = await post_form(
            strict_client, form, "/bookings/lookup", {"code": "123456789012", "phone": "0542542770"}
        )
        statuses.append(r.status_code)
    assert statuses == [303, 303, 303, 429]
    assert "しばらくお待ちください" in r.text
    assert "1分ほど待って" in r.text
    assert r.headers["retry-after"] == "60"


@pytest.mark.parametrize(("months", "said"), [(24, "2年（24か月）"), (18, "18か月"), (1, "1か月")])
async def test_privacy_page_states_the_retention_period_from_the_setting(
    settings: Settings, months: int, said: str
) -> None:
    configured = dataclasses.replace(settings, retention_months=months)
    async with open_app(configured) as app:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as c:
            r = await c.get("/privacy")
    assert r.status_code == 200
    paragraph = re.search(r'<p id="retention">(.*?)</p>', r.text, re.S)
    assert paragraph, r.text
    assert f"<strong>{said}</strong>" in paragraph.group(1)
    assert "自動で消去" in paragraph.group(1)
    # The page drafts (POST-redirect-GET) keep typed values for a while: said, from their TTLs.
    drafts = re.search(r'<p id="drafts">(.*?)</p>', r.text, re.S)
    assert drafts and "最長60分" in drafts.group(1) and "15分" in drafts.group(1)
