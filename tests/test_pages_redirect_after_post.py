"""POST-redirect-GET through the public booking, look-up and cancel pages: every POST answers
303 to a GET page, success and refusal alike, so Back and Reload never post again; the drafts
and look-up grants behind those pages are short-lived, unguessable and open only their own
session or booking. (Back and Reload in a real browser: tests/browser/test_back_button.py.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from httpx import AsyncClient, Response
from redis import asyncio as aioredis
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.models import Booking
from service.platform.settings import Settings
from tests.browser.data import add_event, book_someone
from tests.test_pages_public import GOOD, follow, hidden_of, post_form, submit

EXPIRED_BOOKING = "60分で消える"
EXPIRED_LOOKUP = "15分）が過ぎました"


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(settings.redis_url)
    yield client
    await client.aclose()


def _see_other(answer: Response, starts: str) -> str:
    assert answer.status_code == 303, (answer.status_code, answer.text[:300])
    location = answer.headers["location"]
    assert location.startswith(starts), location
    return location


async def _count(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(Booking)) or 0)


async def _base(db: AsyncSession, **kw: Any) -> str:
    seeded = await add_event(db, **kw)
    return f"/events/{seeded.event_id}/sessions/{seeded.session_ids[0]}/book"


async def test_every_booking_post_answers_303_success_and_refusal(
    client: AsyncClient, db: AsyncSession
) -> None:
    base = await _base(db, capacity=1, waitlist_limit=2)
    form = await client.get(base)
    # The form with errors, and "back to edit" from a confirmation answered without a draft.
    _see_other(
        await post_form(client, form, base + "/confirm", {**GOOD, "phone": "x"}), base + "?d="
    )
    edit = _see_other(await post_form(client, form, base, GOOD), base + "?d=")
    assert 'value="静岡 花子"' in (await client.get(edit)).text
    # Confirmation, then someone else takes the last seat: the waiting-list question.
    confirm = await follow(client, await post_form(client, form, base + "/confirm", GOOD))
    session_id = int(base.split("/")[4])
    await book_someone(db, session_id, 1)
    full = _see_other(
        await client.post(base + "/complete", data=hidden_of(confirm)), base + "/full?d="
    )
    question = await client.get(full)
    assert question.status_code == 200 and "キャンセル待ちに申し込む" in question.text
    # A tampered final step: the form with the error.
    bad = {**hidden_of(confirm), "phone": "でんわ"}
    wrong = _see_other(await client.post(base + "/complete", data=bad), base + "?d=")
    assert "電話番号は数字で入力してください" in (await client.get(wrong)).text
    # The waiting list, then the same phone again: already booked, on the form.
    done = _see_other(
        await client.post(base + "/complete", data=hidden_of(question)), "/bookings/done?r="
    )
    again = await follow(client, await post_form(client, form, base + "/confirm", GOOD))
    twice = _see_other(await client.post(base + "/complete", data=hidden_of(again)), base + "?d=")
    assert "すでに予約があります" in (await client.get(twice)).text
    # The session cancelled meanwhile: why it cannot be booked.
    await db.execute(
        text("UPDATE sessions SET status = 'cancelled' WHERE id = :s"), {"s": session_id}
    )
    await db.commit()
    closed = _see_other(await client.post(base + "/complete", data=hidden_of(again)), base + "?d=")
    page = await client.get(closed)
    assert page.status_code == 409 and "受け付けていません" in page.text
    _see_other(await post_form(client, form, base + "/confirm", GOOD), base)
    assert done.startswith("/bookings/done?r=") and await _count(db) == 2


async def test_back_to_the_confirmation_after_booking_never_books_twice(
    client: AsyncClient, db: AsyncSession
) -> None:
    base = await _base(db)
    form = await client.get(base)
    check = _see_other(await post_form(client, form, base + "/confirm", GOOD), base + "/confirm?d=")
    confirm = await client.get(check)
    assert confirm.text == (await client.get(check)).text  # a reload: the same page, same key
    done = _see_other(
        await client.post(base + "/complete", data=hidden_of(confirm)), "/bookings/done"
    )
    # Back: the confirmation page says it is done and links to the same done page.
    back = await client.get(check)
    assert back.status_code == 200 and "もう受け付けています" in back.text
    assert f'href="{done}"'.replace("&", "&amp;") in back.text or f'href="{done}"' in back.text
    assert 'action="' + base + '/complete"' not in back.text
    # The page as it was before (an old tab) posts the same key: the same done page.
    replay = await client.post(base + "/complete", data=hidden_of(confirm))
    # The same receipt (each answer brings a fresh grant for the current state).
    assert _see_other(replay, "/bookings/done").split("&g=")[0] == done.split("&g=")[0]
    assert await _count(db) == 1


async def test_drafts_expire_and_then_say_so_kindly(
    client: AsyncClient, db: AsyncSession, redis: aioredis.Redis
) -> None:
    base = await _base(db)
    form = await client.get(base)
    check = _see_other(await post_form(client, form, base + "/confirm", GOOD), base + "/confirm?d=")
    confirm = await client.get(check)
    (key,) = await redis.keys("page:booking:*")
    assert 50 * 60 < await redis.ttl(key) <= 60 * 60
    assert b"0542542770" not in key and check.split("d=")[1].encode() not in key
    await redis.delete(key)  # what its TTL does
    for url in (
        check,
        base + "?d=" + check.split("d=")[1],
        base + "/full?d=" + check.split("d=")[1],
    ):
        page = await client.get(url)
        assert page.status_code == 200 and EXPIRED_BOOKING in page.text, url
        assert 'name="name"' in page.text  # the form, to start again
    # The page still open in the browser books: the final step does not need the draft.
    _see_other(await client.post(base + "/complete", data=hidden_of(confirm)), "/bookings/done")

    lookup = await client.get("/bookings/lookup")
    _see_other(
        await post_form(client, lookup, "/bookings/lookup", GOOD | {"code": "1"}),
        "/bookings/lookup?d=",
    )
    found = await submit(
        client, lookup, "/bookings/lookup", {"code": await _code(db), "phone": GOOD["phone"]}
    )
    for kind, longest in (("lookup", 15 * 60), ("grant", 15 * 60)):
        keys = await redis.keys(f"page:{kind}:*")  # grants: the done page's and the look-up's
        assert keys
        for key in keys:
            assert 10 * 60 < await redis.ttl(key) <= longest
    await redis.delete(*await redis.keys("page:grant:*"))
    grant = hidden_of(found)["g"]
    for url in ("/bookings/details?g=", "/bookings/cancel?g=", "/bookings/cancel/done?g="):
        page = await client.get(url + grant)
        assert page.status_code == 200 and EXPIRED_LOOKUP in page.text, url
        assert "静岡 花子" not in page.text
    answer = await post_form(client, lookup, "/bookings/cancel/complete", {"g": grant})
    assert EXPIRED_LOOKUP in (await follow(client, answer)).text
    db.expire_all()
    assert await db.scalar(select(Booking.status)) == "confirmed"


async def _code(db: AsyncSession) -> str:
    return str(await db.scalar(select(Booking.code)))


@pytest.mark.parametrize("token", ["", "x", "../../etc", "A" * 32, "A" * 64, "%00", "<script>"])
async def test_unknown_tokens_give_the_friendly_page(
    client: AsyncClient, db: AsyncSession, token: str
) -> None:
    base = await _base(db)
    for path in (base + "/confirm", base + "/full"):
        page = await client.get(path, params={"d": token})
        assert page.status_code == 200 and EXPIRED_BOOKING in page.text
    for path in ("/bookings/details", "/bookings/cancel", "/bookings/cancel/done"):
        page = await client.get(path, params={"g": token})
        assert page.status_code == 200 and EXPIRED_LOOKUP in page.text
    if token:
        page = await client.get("/bookings/lookup", params={"d": token})
        assert page.status_code == 200 and EXPIRED_LOOKUP in page.text


async def test_a_draft_opens_only_its_own_session(client: AsyncClient, db: AsyncSession) -> None:
    base = await _base(db)
    other = await _base(db, capacity=3)
    form = await client.get(base)
    check = _see_other(await post_form(client, form, base + "/confirm", GOOD), base + "/confirm?d=")
    token = check.split("d=")[1]
    page = await client.get(other + "/confirm", params={"d": token})
    assert EXPIRED_BOOKING in page.text and "静岡 花子" not in page.text
    # Nor as a look-up grant: each kind has its own keys.
    page = await client.get("/bookings/details", params={"g": token})
    assert EXPIRED_LOOKUP in page.text and "静岡 花子" not in page.text


async def test_a_grant_opens_only_its_own_booking(client: AsyncClient, db: AsyncSession) -> None:
    base = await _base(db)
    session_id = int(base.split("/")[4])
    mine = await book_someone(db, session_id, 1)
    theirs = await book_someone(db, session_id, 2)
    lookup = await client.get("/bookings/lookup")
    found = await submit(
        client, lookup, "/bookings/lookup", {"code": mine.code, "phone": "09000000001"}
    )
    grant = hidden_of(found)["g"]
    assert set(hidden_of(found)) <= {"g", "_csrf_token"}  # the forms post the grant, no code
    # Another booking's code and phone beside the grant are not read.
    shown = await client.get("/bookings/details", params={"g": grant, "code": theirs.code})
    assert mine.display_code in shown.text and theirs.display_code not in shown.text
    answer = await post_form(
        client,
        lookup,
        "/bookings/cancel/complete",
        {"g": grant, "code": theirs.code, "phone": "09000000002"},
    )
    _see_other(answer, f"/bookings/cancel/done?g={grant}")
    rows = (await db.execute(text("SELECT code, status FROM bookings"))).all()
    statuses = {row.code: row.status for row in rows}
    assert statuses == {mine.code: "cancelled", theirs.code: "confirmed"}
    # A look-up form's draft token is not a grant either.
    wrong = await post_form(client, lookup, "/bookings/lookup", {"code": theirs.code, "phone": "1"})
    draft = _see_other(wrong, "/bookings/lookup?d=").split("d=")[1]
    page = await client.get("/bookings/details", params={"g": draft})
    assert EXPIRED_LOOKUP in page.text and theirs.display_code not in page.text


async def test_every_lookup_and_cancel_post_answers_303(
    client: AsyncClient, db: AsyncSession
) -> None:
    seeded = await add_event(db, capacity=2)
    r = await client.post(
        f"/api/v1/sessions/{seeded.session_ids[0]}/bookings",
        json={
            "name": "清水 一郎",
            "name_kana": "しみず いちろう",
            "phone": "054-354-2111",
            "companions": [{"name": "清水 幸子", "name_kana": "しみず さちこ"}],
        },
    )
    code = r.json()["code"]
    who = {"code": code, "phone": "054-354-2111"}
    lookup = await client.get("/bookings/lookup")
    _see_other(
        await post_form(client, lookup, "/bookings/lookup", {"code": "", "phone": ""}),
        "/bookings/lookup?d=",
    )
    _see_other(
        await post_form(client, lookup, "/bookings/lookup", {**who, "phone": "1"}),
        "/bookings/lookup?d=",
    )
    details = _see_other(
        await post_form(client, lookup, "/bookings/lookup", who), "/bookings/details?g="
    )
    grant = details.split("g=")[1]
    # The cancel question from a details page answered without a grant (code and phone).
    _see_other(await post_form(client, lookup, "/bookings/cancel", who), "/bookings/cancel?g=")
    _see_other(
        await post_form(client, lookup, "/bookings/cancel", {"g": grant}),
        f"/bookings/cancel?g={grant}",
    )
    gone = {"g": grant, "position": "1"}
    # The companion question from a page answered without a grant, then with one.
    _see_other(
        await post_form(client, lookup, "/bookings/cancel-companion", {**who, "position": "1"}),
        "/bookings/cancel-companion?g=",
    )
    _see_other(
        await post_form(client, lookup, "/bookings/cancel-companion", gone),
        f"/bookings/cancel-companion?g={grant}&position=1",
    )
    first = await post_form(client, lookup, "/bookings/cancel-companion/complete", gone)
    assert "清水 幸子 さんの参加を取り消しました" in (await follow(client, first)).text
    repeat = await post_form(client, lookup, "/bookings/cancel-companion/complete", gone)
    assert _see_other(repeat, details) == details
    assert "すでに取り消されています" in (await client.get(details)).text
    done = await post_form(client, lookup, "/bookings/cancel/complete", {"g": grant})
    _see_other(done, f"/bookings/cancel/done?g={grant}")
    # After cancelling, every page of the grant shows the cancelled state.
    for url in (details, f"/bookings/cancel?g={grant}"):
        page = await client.get(url)
        assert "取り消し済み" in page.text and "この予約を取り消す" not in page.text
