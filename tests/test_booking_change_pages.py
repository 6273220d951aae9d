"""The console pages for changing a booking, moving it, the confirmation steps before undoing
a person, and the search page; through the app with a staff session cookie."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from tests.factories import make_event, make_session
from tests.manage_support import SECRET_NAME, make_staff, make_world, person, post_form, web_login
from tests.test_booking_concurrency import check_session_invariants
from tests.test_companions import party


async def _status(db: AsyncSession, booking_id: int) -> tuple[str, int]:
    await db.rollback()
    row = (
        await db.execute(
            text("SELECT status, party_size FROM bookings WHERE id = :id"), {"id": booking_id}
        )
    ).one()
    return row.status, row.party_size


async def test_edit_page_changes_the_party_and_says_when_it_now_waits(
    client: AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db)
    event.max_companions = 2
    session_id = (await make_session(db, event=event, capacity=2)).id
    a = await bookings.book(db, session_id, person(1))
    await bookings.book(db, session_id, person(2))
    await db.commit()
    await web_login(client, db, await make_staff(db, "organizer"))

    form = await client.get(f"/manage/bookings/{a.id}/edit")
    assert form.status_code == 200
    assert 'value="静岡 太郎1"' in form.text and 'value="090-0000-0001"' in form.text
    assert "全員でキャンセル待ちの最後" in form.text

    fields = {
        "name": "静岡 太郎1",
        "name_kana": "しずおか たろうあ",
        "phone": "090-0000-0001",
        "email": "",
        "needs": "",
        "companions.0.name": "静岡 花子",
        "companions.0.name_kana": "しずおか はなこ",
    }
    bad = await post_form(client, f"/manage/bookings/{a.id}/edit", {**fields, "phone": "12"})
    assert bad.status_code == 422
    assert 'id="phone-error"' in bad.text and 'value="静岡 花子"' in bad.text
    assert await _status(db, a.id) == ("confirmed", 1)

    done = await post_form(client, f"/manage/bookings/{a.id}/edit", fields)
    assert done.status_code == 303
    assert done.headers["location"] == f"/manage/bookings/{a.id}?done=booking_changed_waitlisted"
    assert await _status(db, a.id) == ("waitlisted", 2)
    page = await client.get(done.headers["location"])
    assert "全員でキャンセル待ちの最後になりました" in page.text
    assert "静岡 花子" in page.text

    same = await post_form(client, f"/manage/bookings/{a.id}/edit", fields)
    assert same.headers["location"].endswith("done=booking_unchanged")


async def test_move_page_lists_the_other_sessions_and_moves(
    client: AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db)
    old = (await make_session(db, event=event, capacity=1)).id
    new = (await make_session(db, event=event, capacity=5)).id
    elsewhere = (await make_session(db)).id
    a = await bookings.book(db, old, person(1))
    waiting = await bookings.book(db, old, person(2))
    await db.commit()
    await web_login(client, db, await make_staff(db, "organizer"))
    form = await client.get(f"/manage/bookings/{a.id}/move")
    assert f'value="{new}"' in form.text and f'value="{elsewhere}"' not in form.text
    assert "予約確定になります" in form.text
    assert "キャンセル待ちの方に順番に回ります" in form.text
    bad = await post_form(client, f"/manage/bookings/{a.id}/move", {"session_id": str(elsewhere)})
    assert bad.status_code == 409 and "同じイベントの別の回" in bad.text
    junk = await post_form(client, f"/manage/bookings/{a.id}/move", {"session_id": "９９x"})
    assert junk.status_code == 422
    # The page says what is wrong, beside the choices, not only 「入力内容に誤りがあります」.
    assert 'id="session_id-error"' in junk.text and "移動先の回を選んでください" in junk.text
    empty = await post_form(client, f"/manage/bookings/{a.id}/move", {})
    assert empty.status_code == 422 and "移動先の回を選んでください" in empty.text
    done = await post_form(client, f"/manage/bookings/{a.id}/move", {"session_id": str(new)})
    assert done.headers["location"] == f"/manage/bookings/{a.id}?done=booking_moved"
    assert await _status(db, waiting.id) == ("confirmed", 1)
    assert await check_session_invariants(db, old) == (1, 0)
    # A waiting booking holds no seat: its move page says its place is given up, not a seat.
    third = await bookings.book(db, old, person(3))
    await db.commit()
    form = await client.get(f"/manage/bookings/{third.id}/move")
    assert "空席に戻ります" not in form.text
    assert "キャンセル待ちの方に順番に回ります" not in form.text
    assert "キャンセル待ちから外れ" in form.text


async def test_one_companion_and_a_decline_each_ask_once_more(
    client: AsyncClient, db: AsyncSession
) -> None:
    session_id = (await make_session(db, capacity=2, waitlist_limit=3)).id
    couple = await bookings.book(db, session_id, party(1, 2))
    await db.commit()
    await web_login(client, db, await make_staff(db, "organizer"))
    booking_page = await client.get(f"/manage/bookings/{couple.id}")
    # No form on the booking page undoes a companion: only a link to the question.
    assert f'action="/manage/bookings/{couple.id}/companions/1/cancel"' not in booking_page.text
    assert f'href="/manage/bookings/{couple.id}/companions/1/cancel"' in booking_page.text
    question = await client.get(f"/manage/bookings/{couple.id}/companions/1/cancel")
    assert "さんだけ取り消しますか" in question.text
    assert "繰り上がります" not in question.text  # nobody waits
    waiting = await bookings.book(db, session_id, person(2))
    await db.commit()
    question = await client.get(f"/manage/bookings/{couple.id}/companions/1/cancel")
    assert "キャンセル待ちの方が繰り上がります" in question.text
    assert await _status(db, couple.id) == ("confirmed", 2)  # asking changed nothing
    done = await post_form(client, f"/manage/bookings/{couple.id}/companions/1/cancel")
    assert done.status_code == 303
    assert await _status(db, waiting.id) == ("confirmed", 1)
    # Back to the question after it was done: the booking page, nothing to confirm.
    again = await client.get(f"/manage/bookings/{couple.id}/companions/1/cancel")
    assert again.status_code == 303

    decline = await client.get(f"/manage/bookings/{waiting.id}/calls/declined")
    assert decline.status_code == 200 and "辞退として、予約を取り消しますか" in decline.text
    assert "繰り上がります" not in decline.text
    assert await _status(db, waiting.id) == ("confirmed", 1)


async def test_search_page_finds_escapes_and_is_scoped(
    client: AsyncClient, db: AsyncSession
) -> None:
    world = await make_world(db)
    session_id = (await make_session(db, event=world.event_a)).id
    evil = await bookings.book(
        db, session_id, person(7, name="<script>alert(1)</script>", name_kana="アク ヤク")
    )
    await db.commit()
    await web_login(client, db, world.cohost_a)
    page = await client.get("/manage/search", params={"q": "アクヤク"})
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text and f"/manage/bookings/{evil.id}" in page.text
    found = await client.get("/manage/search", params={"q": SECRET_NAME})
    assert f"/manage/bookings/{world.booking_a}" in found.text
    client.cookies.clear()
    await web_login(client, db, world.cohost_b)
    hidden = await client.get("/manage/search", params={"q": SECRET_NAME})
    assert "見つかりませんでした" in hidden.text
    assert f"/manage/bookings/{world.booking_a}" not in hidden.text
    long = await client.get("/manage/search", params={"q": "あ" * 150})
    assert long.status_code == 422 and "100文字以内" in long.text
    empty = await client.get("/manage/search")
    assert empty.status_code == 200 and "予約を探す" in empty.text
