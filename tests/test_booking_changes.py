"""Staff changing a booking through the staff API, on the real database: the person's details,
companions (seats by the first-come rules: a party that no longer fits waits whole, nobody
jumps the line), 配慮事項, and moving to another session of the same event; notices, audit,
scoping and concurrent changes."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

from httpx import AsyncClient, Response
from icalendar import Calendar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.domain.bookings.schemas import BookingView, ValidBooking
from service.domain.calendars import service as calendars
from service.platform.settings import Settings
from tests.factories import make_event, make_session, person
from tests.mail_support import Mailbox, body_of, run_worker, with_smtp_port
from tests.manage_support import bearer, issue_token, make_staff, make_world
from tests.test_booking_concurrency import check_session_invariants
from tests.test_companions import party, seats_of

COMPANION = {"name": "清水 幸子", "name_kana": "しみず さちこ"}


async def _headers(db: AsyncSession, role: str = "organizer") -> dict[str, str]:
    return bearer(await issue_token(db, await make_staff(db, role)))


async def _book(db: AsyncSession, session_id: int, data: ValidBooking) -> BookingView:
    view = await bookings.book(db, session_id, data)
    await db.commit()
    return view


async def _patch(
    client: AsyncClient, headers: dict[str, str], booking_id: int, body: dict[str, Any]
) -> Response:
    return await client.patch(f"/api/v1/manage/bookings/{booking_id}", json=body, headers=headers)


async def _move(
    client: AsyncClient, headers: dict[str, str], booking_id: int, session_id: int
) -> Response:
    return await client.post(
        f"/api/v1/manage/bookings/{booking_id}/move",
        json={"session_id": session_id},
        headers=headers,
    )


async def _state(db: AsyncSession, booking_id: int) -> tuple[str, int | None, int, int]:
    """(status, waitlist position, party size, seats held)."""
    await db.rollback()
    row = (
        await db.execute(
            text("SELECT status, waitlist_position, party_size FROM bookings WHERE id = :id"),
            {"id": booking_id},
        )
    ).one()
    return row.status, row.waitlist_position, row.party_size, await seats_of(db, booking_id)


async def _changed_notices(db: AsyncSession, booking_id: int) -> list[Any]:
    await db.rollback()
    rows = await db.execute(
        text(
            "SELECT payload FROM notifications WHERE booking_id = :id "
            "AND kind = 'booking_changed' ORDER BY id"
        ),
        {"id": booking_id},
    )
    return [r.payload for r in rows]


async def test_details_are_corrected_audited_without_values_and_told(
    client: AsyncClient, db: AsyncSession
) -> None:
    session_id = (await make_session(db)).id
    booking = await _book(db, session_id, person(1, email=True))
    headers = await _headers(db)
    r = await _patch(
        client,
        headers,
        booking.id,
        {
            "name": "駿河 和子",
            "name_kana": "ｽﾙｶﾞ ｶｽﾞｺ",
            "phone": "０５４－２２１－１１１１",
            "email": None,
            "needs": "車いすで伺います",
        },
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["name"], out["name_kana"], out["phone"]) == (
        "駿河 和子",
        "スルガ カズコ",
        "0542211111",
    )
    assert out["email"] is None and out["needs"] == "車いすで伺います"
    assert out["status"] == "confirmed"
    [payload] = await _changed_notices(db, booking.id)
    assert payload["changes"] == ["お名前", "ふりがな", "電話番号", "メールアドレス", "配慮事項"]
    [audit] = (
        await db.execute(
            text("SELECT before, after FROM audit_log WHERE action = 'booking.change'")
        )
    ).all()
    assert audit.after["changed"] == payload["changes"]
    assert "駿河" not in str(audit) and "0542211111" not in str(audit)

    # The same values again change nothing and tell nobody.
    again = await _patch(client, headers, booking.id, {"name": "駿河 和子"})
    assert again.status_code == 200
    assert len(await _changed_notices(db, booking.id)) == 1

    bad = await _patch(client, headers, booking.id, {"phone": "12", "name_kana": "abc"})
    assert bad.status_code == 422
    assert set(bad.json()["fields"]) == {"phone", "name_kana"}
    evil = await _patch(client, headers, booking.id, {"name": "駿河\u202e和子"})
    assert evil.status_code == 422 and "name" in evil.json()["fields"]
    unknown = await _patch(client, headers, booking.id, {"status": "confirmed"})
    assert unknown.status_code == 422


async def test_a_party_grown_by_one_when_one_seat_is_left_is_confirmed(
    client: AsyncClient, db: AsyncSession
) -> None:
    session_id = (await make_session(db, capacity=3)).id
    a = await _book(db, session_id, person(1))
    await _book(db, session_id, person(2))
    r = await _patch(client, await _headers(db), a.id, {"companions": [COMPANION]})
    assert r.status_code == 200, r.text
    assert r.json()["party_size"] == 2 and r.json()["status"] == "confirmed"
    assert await _state(db, a.id) == ("confirmed", None, 2, 2)
    assert await check_session_invariants(db, session_id) == (2, 0)
    [payload] = await _changed_notices(db, a.id)
    assert payload["changes"] == ["同伴者"]


async def test_a_party_grown_when_no_seat_is_left_waits_whole_behind_those_waiting(
    client: AsyncClient, db: AsyncSession
) -> None:
    session_id = (await make_session(db, capacity=2, waitlist_limit=5)).id
    a = await _book(db, session_id, person(1))
    await _book(db, session_id, person(2))
    waiting = await _book(db, session_id, person(3))
    assert waiting.status == "waitlisted"
    r = await _patch(client, await _headers(db), a.id, {"companions": [COMPANION]})
    assert r.status_code == 200, r.text
    # The whole party waits, behind the one who was waiting; its seat went to that person.
    assert await _state(db, a.id) == ("waitlisted", 1, 2, 0)
    assert await _state(db, waiting.id) == ("confirmed", None, 1, 1)
    assert await check_session_invariants(db, session_id) == (2, 1)
    [payload] = await _changed_notices(db, a.id)
    assert payload["changes"] == ["同伴者", "予約の状態"]


async def test_nobody_behind_jumps_the_line_when_a_grown_party_frees_its_seats(
    client: AsyncClient, db: AsyncSession
) -> None:
    session_id = (await make_session(db, capacity=4, waitlist_limit=5)).id
    await _book(db, session_id, party(1, 2))
    b = await _book(db, session_id, person(2))
    pair = await _book(db, session_id, party(3, 2))  # one seat free: the pair waits
    single = await _book(db, session_id, person(4))  # fits the free seat, but waits its turn
    assert (pair.waitlist_position, single.waitlist_position) == (1, 2)
    r = await _patch(client, await _headers(db), b.id, {"companions": [COMPANION]})
    assert r.status_code == 200, r.text
    # b's seat plus the free one seat the pair (first in line); the single stays first of
    # those left waiting and b goes behind it: a free seat was never taken past the line.
    assert await _state(db, pair.id) == ("confirmed", None, 2, 2)
    assert await _state(db, single.id) == ("waitlisted", 1, 1, 0)
    assert await _state(db, b.id) == ("waitlisted", 2, 2, 0)
    assert await check_session_invariants(db, session_id) == (2, 2)


async def test_a_grown_party_is_refused_whole_when_the_waiting_list_is_full(
    client: AsyncClient, db: AsyncSession
) -> None:
    session_id = (await make_session(db, capacity=1, waitlist_limit=0)).id
    a = await _book(db, session_id, person(1))
    r = await _patch(client, await _headers(db), a.id, {"companions": [COMPANION]})
    assert r.status_code == 409 and r.json()["error"] == "session_full"
    assert await _state(db, a.id) == ("confirmed", None, 1, 1)
    assert await _changed_notices(db, a.id) == []


async def test_a_removed_companion_frees_a_seat_for_the_next_waiting(
    client: AsyncClient, db: AsyncSession
) -> None:
    session_id = (await make_session(db, capacity=2, waitlist_limit=5)).id
    couple = await _book(db, session_id, party(1, 2))
    waiting = await _book(db, session_id, person(2))
    r = await _patch(client, await _headers(db), couple.id, {"companions": []})
    assert r.status_code == 200, r.text
    assert [c["cancelled_at"] is not None for c in r.json()["companions"]] == [True]
    assert await _state(db, couple.id) == ("confirmed", None, 1, 1)
    assert await _state(db, waiting.id) == ("confirmed", None, 1, 1)
    assert await check_session_invariants(db, session_id) == (2, 0)


async def test_too_many_companions_and_a_checked_in_party_are_refused(
    client: AsyncClient, db: AsyncSession
) -> None:
    session_id = (await make_session(db)).id
    a = await _book(db, session_id, person(1))
    headers = await _headers(db)
    two = [COMPANION, {"name": "清水 次郎", "name_kana": "しみず じろう"}]
    r = await _patch(client, headers, a.id, {"companions": two})
    assert r.status_code == 409 and r.json()["error"] == "too_many_companions"
    await db.execute(text("UPDATE bookings SET checked_in_at = now() WHERE id = :id"), {"id": a.id})
    await db.commit()
    r = await _patch(client, headers, a.id, {"companions": [COMPANION]})
    assert r.status_code == 409 and r.json()["error"] == "booking_checked_in"
    # Correcting a name of someone checked in is still fine.
    assert (await _patch(client, headers, a.id, {"name": "静岡 次郎"})).status_code == 200


async def test_a_move_takes_a_seat_and_promotes_the_next_waiting_at_the_old_session(
    client: AsyncClient, db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    event = await make_event(db)
    old = (await make_session(db, event=event, capacity=1, waitlist_limit=3)).id
    new = (await make_session(db, event=event, capacity=3)).id
    moving = await _book(db, old, person(1, email=True))
    waiting = await _book(db, old, person(2))
    r = await _move(client, await _headers(db), moving.id, new)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed"
    assert await _state(db, moving.id) == ("confirmed", None, 1, 1)
    assert await _state(db, waiting.id) == ("confirmed", None, 1, 1)
    assert await check_session_invariants(db, old) == (1, 0)
    assert await check_session_invariants(db, new) == (1, 0)
    [payload] = await _changed_notices(db, moving.id)
    assert payload["changes"] == ["日時・会場"]
    audit = (
        await db.execute(text("SELECT after FROM audit_log WHERE action = 'booking.move'"))
    ).scalar_one()
    assert (audit["from_session"], audit["to_session"], audit["promoted"]) == (
        old,
        new,
        [waiting.id],
    )

    await run_worker(with_smtp_port(settings, port))
    [mail] = [m for m in mailbox.messages if "変更" in str(m["Subject"])]
    body = body_of(mail)
    assert "変更した項目：日時・会場" in body and "確定（1名）" in body
    # The waiting person without e-mail is phoned about the seat.
    kinds = await db.scalars(
        text("SELECT kind FROM call_tasks WHERE booking_id = :id"), {"id": waiting.id}
    )
    assert list(kinds) == ["booking_promoted"]


async def test_a_move_to_a_full_session_waits_at_the_end_of_its_list(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    event = await make_event(db)
    old = (await make_session(db, event=event, capacity=2)).id
    full = (await make_session(db, event=event, capacity=1, waitlist_limit=2)).id
    moving = await _book(db, old, party(1, 2))
    await _book(db, full, person(2))
    ahead = await _book(db, full, person(3))
    headers = await _headers(db)
    r = await _move(client, headers, moving.id, full)
    assert r.status_code == 200, r.text
    assert await _state(db, moving.id) == ("waitlisted", 2, 2, 0)
    assert await _state(db, ahead.id) == ("waitlisted", 1, 1, 0)
    assert await check_session_invariants(db, old) == (0, 0)
    assert await check_session_invariants(db, full) == (1, 2)
    [payload] = await _changed_notices(db, moving.id)
    assert payload["changes"] == ["日時・会場", "予約の状態"]

    # Its list now full: moving another one there is refused and nothing changes.
    other = await _book(db, old, person(4))
    r = await _move(client, headers, other.id, full)
    assert r.status_code == 409 and r.json()["error"] == "waitlist_full"
    assert await _state(db, other.id) == ("confirmed", None, 1, 1)

    # Moving the waiting party back closes the gap it leaves; back home one seat is free
    # (the other person took one), too few for the pair: it waits there, whole.
    r = await _move(client, headers, moving.id, old)
    assert r.status_code == 200, r.text
    assert await _state(db, moving.id) == ("waitlisted", 1, 2, 0)
    assert await check_session_invariants(db, old) == (1, 1)
    assert await check_session_invariants(db, full) == (1, 1)
    assert await _state(db, ahead.id) == ("waitlisted", 1, 1, 0)


async def test_moves_are_refused_across_events_for_the_same_person_and_out_of_scope(
    client: AsyncClient, db: AsyncSession
) -> None:
    world = await make_world(db)
    headers = await _headers(db)
    r = await _move(client, headers, world.booking_a, world.session_b.id)
    assert r.status_code == 409 and r.json()["error"] == "other_event"
    same = await _move(client, headers, world.booking_a, world.session_a.id)
    assert same.status_code == 409 and same.json()["error"] == "same_session"
    sibling = (await make_session(db, event=world.event_a)).id
    twin = await _book(db, sibling, person(1, email=False))
    clash = (
        await db.execute(text("SELECT phone FROM bookings WHERE id = :id"), {"id": twin.id})
    ).scalar_one()
    await db.execute(
        text("UPDATE bookings SET phone = :p WHERE id = :id"), {"p": clash, "id": world.booking_a}
    )
    await db.commit()
    dup = await _move(client, headers, world.booking_a, sibling)
    assert dup.status_code == 409 and dup.json()["error"] == "already_booked"

    # Co-host B sees neither A's booking nor may it change it.
    cohost_b = bearer(await issue_token(db, world.cohost_b))
    assert (await _move(client, cohost_b, world.booking_a, sibling)).status_code == 404
    assert (await _patch(client, cohost_b, world.booking_a, {"name": "x 様"})).status_code == 404
    bad = await client.post(
        f"/api/v1/manage/bookings/{world.booking_a}/move",
        json={"session_id": "abc"},
        headers=headers,
    )
    assert bad.status_code in (400, 422)


async def test_concurrent_growth_never_oversells_or_splits_a_party(
    client: AsyncClient, db: AsyncSession
) -> None:
    session_id = (await make_session(db, capacity=5, waitlist_limit=10)).id
    ids = [(await _book(db, session_id, person(n))).id for n in range(1, 5)]
    headers = await _headers(db)
    answers = await asyncio.gather(
        *(_patch(client, headers, i, {"companions": [COMPANION]}) for i in ids)
    )
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    states = [await _state(db, i) for i in ids]
    # One seat was free: exactly one party grew into it, the others wait whole.
    assert sum(1 for s in states if s[0] == "confirmed") >= 1
    assert all(s[3] in (0, 2) for s in states)
    confirmed, waiting = await check_session_invariants(db, session_id)
    assert confirmed + waiting == 4
    held = sum(s[3] for s in states)
    assert held <= 5

    # Concurrent edits of one booking: each applies whole, the last one wins.
    names = [f"静岡 花子{n}" for n in range(5)]
    await asyncio.gather(*(_patch(client, headers, ids[0], {"name": n}) for n in names))
    await db.rollback()
    final = (
        await db.execute(
            text(
                "SELECT p.name FROM bookings b JOIN persons p ON p.id = b.person_id "
                "WHERE b.id = :id"
            ),
            {"id": ids[0]},
        )
    ).scalar_one()
    assert final in names


async def test_moves_in_opposite_directions_at_once_neither_deadlock_nor_oversell(
    client: AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db)
    first = (await make_session(db, event=event, capacity=3, waitlist_limit=5)).id
    second = (await make_session(db, event=event, capacity=3, waitlist_limit=5)).id
    here = [(await _book(db, first, person(n))).id for n in range(1, 4)]
    there = [(await _book(db, second, person(n))).id for n in range(11, 14)]
    headers = await _headers(db)
    answers = await asyncio.gather(
        *(_move(client, headers, b, second) for b in here),
        *(_move(client, headers, b, first) for b in there),
    )
    assert {a.status_code for a in answers} <= {200, 409}, [a.text for a in answers]
    assert all(a.json()["error"] == "try_again" for a in answers if a.status_code == 409)
    for sid in (first, second):
        confirmed, _ = await check_session_invariants(db, sid)
        assert confirmed <= 3
    total = await db.scalar(
        text("SELECT count(*) FROM bookings WHERE status IN ('confirmed', 'waitlisted')")
    )
    assert total == 6


async def test_age_band_ward_and_heard_from_round_trip_audited_not_told(
    client: AsyncClient, db: AsyncSession
) -> None:
    session_id = (await make_session(db)).id
    booking = await _book(db, session_id, person(41, email=True))
    headers = await _headers(db)
    r = await _patch(
        client, headers, booking.id, {"age_band": "60_64", "ward": "aoi", "heard_from": "line"}
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["age_band"], out["ward"], out["heard_from"]) == ("60_64", "aoi", "line")
    # Kept where a new booking keeps them: the person's 年代 and 区, the booking's きっかけ.
    await db.rollback()
    row = (
        await db.execute(
            text(
                "SELECT p.age_band, p.ward, b.heard_from FROM bookings b "
                "JOIN persons p ON p.id = b.person_id WHERE b.id = :id"
            ),
            {"id": booking.id},
        )
    ).one()
    assert tuple(row) == ("60_64", "aoi", "line")
    [audit] = (
        await db.execute(text("SELECT after FROM audit_log WHERE action = 'booking.change'"))
    ).all()
    assert audit.after["changed"] == ["年代", "お住まいの区", "知ったきっかけ"]
    # Figures only: nothing the person holds changed, so nobody is told.
    assert await _changed_notices(db, booking.id) == []

    # null clears; the other fields stay.
    cleared = await _patch(client, headers, booking.id, {"ward": None})
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["age_band"], cleared.json()["ward"]) == ("60_64", None)

    for field, value in (("age_band", "ninety"), ("ward", "tokyo"), ("heard_from", "ｔｖ\x00")):
        bad = await _patch(client, headers, booking.id, {field: value})
        assert bad.status_code == 422, bad.text
        assert bad.json()["error"] == "validation_error" and field in bad.json()["fields"]
    after = await client.get(f"/api/v1/manage/sessions/{session_id}/roster", headers=headers)
    [entry] = after.json()["confirmed"]
    assert (entry["age_band"], entry["ward"], entry["heard_from"]) == ("60_64", None, "line")


async def _person_of(db: AsyncSession, booking_id: int) -> int:
    await db.rollback()
    found = await db.scalar(
        text("SELECT person_id FROM bookings WHERE id = :id"), {"id": booking_id}
    )
    assert found is not None
    return int(found)


async def test_a_corrected_phone_links_the_booking_to_the_person_already_known(
    client: AsyncClient, db: AsyncSession
) -> None:
    """Staff correcting a phone follow the rule of a new booking: the same phone (or the
    person's second phone) with the same reading is the person already known; a withdrawn
    person is never matched."""
    event = await make_event(db)
    first, second, third = [(await make_session(db, event=event)).id for _ in range(3)]
    known = person(43)
    kept = await _book(db, first, known)
    known_id = await _person_of(db, kept.id)
    # The same person booked again by phone, the number misheard: a second record.
    misheard = await _book(db, second, dataclasses.replace(known, phone="09099998888"))
    assert await _person_of(db, misheard.id) != known_id
    headers = await _headers(db)
    r = await _patch(client, headers, misheard.id, {"phone": "090-0000-0043"})
    assert r.status_code == 200, r.text
    assert await _person_of(db, misheard.id) == known_id

    # The known person's second phone, with the reading typed in katakana with a space.
    await db.execute(
        text("UPDATE persons SET phone_alt = '0542000043' WHERE id = :id"), {"id": known_id}
    )
    await db.commit()
    other = await _book(db, third, dataclasses.replace(known, phone="09077776666"))
    r = await _patch(client, headers, other.id, {"phone": "054-200-0043"})
    assert r.status_code == 200, r.text
    assert await _person_of(db, other.id) == known_id

    # Withdrawn: never found again; the corrected booking makes a person of its own.
    await db.execute(
        text(
            "UPDATE persons SET phone = NULL, phone_alt = NULL, withdrawn_at = now() WHERE id = :id"
        ),
        {"id": known_id},
    )
    await db.commit()
    r = await _patch(client, headers, other.id, {"phone": "090-0000-0043"})
    assert r.status_code == 200, r.text
    assert await _person_of(db, other.id) != known_id


def _ics_event(body: bytes) -> tuple[str, int, str]:
    """(UID, SEQUENCE, DTSTART as written) of a booking's .ics."""
    calendar = Calendar.from_ical(body)
    [event] = list(calendar.walk("VEVENT"))
    return str(event["uid"]), int(event["sequence"]), event["dtstart"].to_ical().decode()


async def test_a_moved_booking_keeps_its_uid_and_its_sequence_only_goes_up(
    client: AsyncClient, db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    """Moved from a session edited many times (a high revision) to a fresh one: the booking's
    SEQUENCE goes on from where it was, so a calendar that imported the first file takes the
    mail's as newer; a later change raises it again."""
    mailbox, port = smtp
    event = await make_event(db)
    old = (await make_session(db, event=event)).id
    new = (await make_session(db, event=event, starts_in=timedelta(days=21))).id
    await db.execute(text("UPDATE sessions SET revision = 7 WHERE id = :id"), {"id": old})
    await db.commit()
    booking = await _book(db, old, person(44, email=True))
    uid, before, start_before = _ics_event(
        await calendars.booking_calendar_file(db, settings, booking.code) or b""
    )
    assert before >= 7

    headers = await _headers(db)
    r = await _move(client, headers, booking.id, new)
    assert r.status_code == 200, r.text
    await db.rollback()
    moved_uid, moved, start_moved = _ics_event(
        await calendars.booking_calendar_file(db, settings, booking.code) or b""
    )
    assert moved_uid == uid and moved > before and start_moved != start_before
    # The change mail carries that same file.
    await run_worker(with_smtp_port(settings, port))
    [mail] = [m for m in mailbox.messages if "変更" in str(m["Subject"])]
    [attached] = [p for p in mail.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert _ics_event(attached.get_payload(decode=True))[:2] == (uid, moved)

    # A correction of the details: told, with the .ics once more, one higher again.
    r = await _patch(client, headers, booking.id, {"needs": "杖を使います"})
    assert r.status_code == 200, r.text
    await db.rollback()
    _uid, again, _start = _ics_event(
        await calendars.booking_calendar_file(db, settings, booking.code) or b""
    )
    assert again == moved + 1
    # And moving back to the edited session still does not go down.
    r = await _move(client, headers, booking.id, old)
    assert r.status_code == 200, r.text
    await db.rollback()
    _uid, back, _start = _ics_event(
        await calendars.booking_calendar_file(db, settings, booking.code) or b""
    )
    assert back > again


async def test_concurrent_edits_of_different_fields_each_keep_their_change(
    client: AsyncClient, db: AsyncSession
) -> None:
    """Each PATCH merges over the booking as it is under the lock, not as it was read before
    waiting for it: one clerk's correction of the e-mail is not undone by another's of 配慮事項."""
    session_id = (await make_session(db, capacity=5, waitlist_limit=10)).id
    booking_id = (await _book(db, session_id, person(1))).id
    headers = await _headers(db)
    patches: list[dict[str, Any]] = [
        {"needs": "車いすで伺います"},
        {"email": "tanaka@example.jp"},
        {"companions": [COMPANION]},
        {"name": "静岡 一子"},
        {"heard_from": "magazine"},
    ]
    answers = await asyncio.gather(*(_patch(client, headers, booking_id, p) for p in patches))
    assert [a.status_code for a in answers] == [200] * len(patches), [a.text for a in answers]
    final = (await client.get(f"/api/v1/manage/bookings/{booking_id}", headers=headers)).json()
    assert final["needs"] == "車いすで伺います"
    assert final["email"] == "tanaka@example.jp"
    assert final["party_size"] == 2
    assert final["name"] == "静岡 一子"
    assert final["heard_from"] == "magazine"

    # The same edit twice at once: both answers show the booking as it now is.
    same = {"companions": [], "needs": "杖を使います"}
    twice = await asyncio.gather(*(_patch(client, headers, booking_id, same) for _ in range(2)))
    assert [(a.status_code, a.json()["party_size"], a.json()["needs"]) for a in twice] == [
        (200, 1, "杖を使います")
    ] * 2


async def test_moving_up_the_waiting_list_raises_the_sequence(
    db: AsyncSession, settings: Settings
) -> None:
    """3番目 → 2番目 is a new version of the file: the same UID, a higher SEQUENCE and the new
    position in its text; the booking ahead, untouched, keeps its number."""
    sid = (await make_session(db, capacity=1, waitlist_limit=5)).id
    await _book(db, sid, person(60))
    first, second, third = [await _book(db, sid, person(n)) for n in (61, 62, 63)]
    before = {
        b.code: _ics_event(await calendars.booking_calendar_file(db, settings, b.code) or b"")
        for b in (first, third)
    }
    await bookings.cancel_booking(db, second.code, second.phone, reason="都合")
    await db.commit()
    body = await calendars.booking_calendar_file(db, settings, third.code) or b""
    uid, sequence, _start = _ics_event(body)
    assert uid == before[third.code][0]
    assert sequence == before[third.code][1] + 1
    assert "2番目" in Calendar.from_ical(body).walk("VEVENT")[0]["description"]
    unmoved = _ics_event(await calendars.booking_calendar_file(db, settings, first.code) or b"")
    assert unmoved == before[first.code]
