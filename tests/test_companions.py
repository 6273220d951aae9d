"""Companions (同伴者): a party books, waits and is promoted together, never split; a companion
can be cancelled on their own. Through the API and the booking core on the real database."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import random
from collections import Counter
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.domain.bookings.schemas import ValidBooking, ValidCompanion
from tests.browser.data import add_event
from tests.factories import make_event, make_session, person
from tests.manage_support import (
    bearer,
    issue_token,
    later_today,
    make_staff,
    move_session,
    web_login,
)
from tests.test_booking_concurrency import check_session_invariants
from tests.test_pages_public import GOOD, hidden_of, submit


def couple(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "清水 一郎",
        "name_kana": "しみず いちろう",
        "phone": "054-354-2111",
        "companions": [{"name": "清水 幸子", "name_kana": "しみず さちこ"}],
    }
    body.update(overrides)
    return body


def party(n: int, size: int) -> ValidBooking:
    companions = tuple(
        ValidCompanion(f"同伴 {n}の{i}", f"ドウハン {'ア' * i}") for i in range(1, size)
    )
    return ValidBooking(**{**_fields(person(n)), "companions": companions})


def _fields(p: ValidBooking) -> dict[str, Any]:
    return {k: getattr(p, k) for k in ("name", "name_kana", "phone", "email", "heard_from")}


async def seats_of(db: AsyncSession, booking_id: int) -> int:
    value = await db.scalar(
        text("SELECT count(*) FROM session_seats WHERE booking_id = :b"), {"b": booking_id}
    )
    return int(value or 0)


async def test_a_couple_books_with_one_phone(client: AsyncClient, db: AsyncSession) -> None:
    session_id = (await make_session(db, capacity=5)).id
    r = await client.post(f"/api/v1/sessions/{session_id}/bookings", json=couple())
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["status"] == "confirmed"
    assert out["party_size"] == 2
    assert out["companions"] == [{"position": 1, "cancelled": False}]
    assert "2名" in out["message"]
    # Companions' names are not echoed to whoever holds the code.
    assert "幸子" not in r.text
    row = (
        await db.execute(
            text(
                "SELECT b.id, b.party_size, c.name, c.name_kana FROM bookings b "
                "JOIN booking_companions c ON c.booking_id = b.id"
            )
        )
    ).one()
    assert (row.party_size, row.name, row.name_kana) == (2, "清水 幸子", "シミズ サチコ")
    assert await seats_of(db, row.id) == 2
    assert await check_session_invariants(db, session_id) == (1, 0)

    # The second person on the same phone is told to come as a companion, or call.
    again = await client.post(
        f"/api/v1/sessions/{session_id}/bookings",
        json=couple(name="清水 幸子", name_kana="しみず さちこ", companions=[]),
    )
    assert again.status_code == 409
    assert again.json()["error"] == "already_booked"
    assert "同伴者" in again.json()["message"] and "お電話" in again.json()["message"]


async def test_companion_fields_are_named_and_limits_kept(
    client: AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db)
    session_id = (await make_session(db, event=event)).id
    url = f"/api/v1/sessions/{session_id}/bookings"
    bad = await client.post(url, json=couple(companions=[{"name": "清水 幸子", "name_kana": "x"}]))
    assert bad.status_code == 422
    assert set(bad.json()["fields"]) == {"companions.0.name_kana"}

    over = await client.post(
        url,
        json=couple(
            companions=[
                {"name": "清水 幸子", "name_kana": "しみず さちこ"},
                {"name": "清水 次郎", "name_kana": "しみず じろう"},
            ]
        ),
    )
    assert over.status_code == 409
    assert over.json()["error"] == "too_many_companions"
    assert "1人まで" in over.json()["message"]

    event.max_companions = 0
    await db.commit()
    off = await client.post(url, json=couple())
    assert off.status_code == 409
    assert off.json()["fields"] == {
        "companions": "このイベントは、同伴者のお申し込みを受け付けていません。"
    }
    alone = await client.post(url, json=couple(companions=None))
    assert alone.status_code == 201 and alone.json()["party_size"] == 1


async def test_a_party_of_3_against_2_seats_waits_whole_and_is_promoted_whole(
    db: AsyncSession,
) -> None:
    event = await make_event(db)
    event.max_companions = 3
    session_id = (await make_session(db, event=event, capacity=5, waitlist_limit=5)).id
    singles = [await bookings.book(db, session_id, person(n)) for n in range(1, 4)]
    await db.commit()

    three = await bookings.book(db, session_id, party(10, 3))
    assert (three.status, three.waitlist_position, three.party_size) == ("waitlisted", 1, 3)
    # Two seats are free, but they are held for the party ahead: nobody jumps the line.
    behind = await bookings.book(db, session_id, person(20))
    assert (behind.status, behind.waitlist_position) == ("waitlisted", 2)
    await db.commit()
    assert await seats_of(db, three.id) == 0
    assert await check_session_invariants(db, session_id) == (3, 2)

    # One cancellation: 3 free seats, the party gets all three; the one behind still waits.
    await bookings.cancel_booking(db, singles[0].code, singles[0].phone)
    await db.commit()
    promoted = await bookings.find_booking(db, three.code, three.phone)
    assert (promoted.status, promoted.party_size) == ("confirmed", 3)
    assert await seats_of(db, three.id) == 3
    waiting = await bookings.find_booking(db, behind.code, behind.phone)
    assert (waiting.status, waiting.waitlist_position) == ("waitlisted", 1)
    assert await check_session_invariants(db, session_id) == (3, 1)
    kinds = await db.scalars(
        text("SELECT kind FROM notifications WHERE booking_id = :b ORDER BY id"), {"b": three.id}
    )
    assert list(kinds) == ["booking_waitlisted", "booking_promoted"]


async def test_a_cancelled_companion_frees_one_seat_for_the_next_party(
    client: AsyncClient, db: AsyncSession
) -> None:
    session_id = (await make_session(db, capacity=2, waitlist_limit=5)).id
    r = await client.post(f"/api/v1/sessions/{session_id}/bookings", json=couple())
    code = r.json()["code"]
    waiting = await bookings.book(db, session_id, person(5))
    await db.commit()
    assert waiting.status == "waitlisted"

    done = await client.post(
        f"/api/v1/bookings/{code}/companions/1/cancel", json={"phone": "0543542111"}
    )
    assert done.status_code == 200, done.text
    assert done.json()["party_size"] == 1
    assert done.json()["status"] == "confirmed"
    assert done.json()["companions"] == [{"position": 1, "cancelled": True}]
    moved = await bookings.find_booking(db, waiting.code, waiting.phone)
    assert moved.status == "confirmed"
    assert await check_session_invariants(db, session_id) == (2, 0)

    again = await client.post(
        f"/api/v1/bookings/{code}/companions/1/cancel", json={"phone": "0543542111"}
    )
    assert again.status_code == 404
    assert again.json()["error"] == "companion_not_found"
    wrong_phone = await client.post(
        f"/api/v1/bookings/{code}/companions/1/cancel", json={"phone": "0543542112"}
    )
    assert wrong_phone.status_code == 404
    assert wrong_phone.json()["error"] == "booking_not_found"


async def test_a_waiting_party_that_shrinks_to_fit_is_promoted(db: AsyncSession) -> None:
    event = await make_event(db)
    event.max_companions = 2
    session_id = (await make_session(db, event=event, capacity=3, waitlist_limit=5)).id
    await bookings.book(db, session_id, person(1))
    three = await bookings.book(db, session_id, party(2, 3))
    await db.commit()
    assert three.status == "waitlisted"
    view = await bookings.cancel_companion(db, three.id, 2, staff_id=None, self_service=True)
    await db.commit()
    assert (view.status, view.party_size) == ("confirmed", 2)
    assert await check_session_invariants(db, session_id) == (2, 0)


async def test_200_parties_at_once_on_30_seats_never_oversell(
    client: AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db)
    event.max_companions = 2
    session_id = (await make_session(db, event=event, capacity=30, waitlist_limit=200)).id
    rng = random.Random(9)
    sizes = [rng.randint(1, 3) for _ in range(200)]

    def body(n: int) -> dict[str, Any]:
        return {
            "name": f"静岡 太郎{n}",
            "name_kana": "しずおか たろう",
            "phone": f"090-{n // 10000:04d}-{n % 10000:04d}",
            "companions": [
                {"name": f"同伴 {n}-{i}", "name_kana": "どうはん"} for i in range(sizes[n] - 1)
            ],
        }

    responses = await asyncio.gather(
        *(client.post(f"/api/v1/sessions/{session_id}/bookings", json=body(n)) for n in range(200))
    )
    assert Counter(r.status_code for r in responses) == {201: 200}, [
        r.text for r in responses if r.status_code != 201
    ][:3]
    confirmed, waitlisted = await check_session_invariants(db, session_id)
    assert confirmed + waitlisted == 200
    people = await db.scalar(
        text("SELECT sum(party_size) FROM bookings WHERE session_id = :s AND status = 'confirmed'"),
        {"s": session_id},
    )
    assert people is not None and 28 <= people <= 30
    assert [r.json()["party_size"] for r in responses] == sizes

    # Everyone confirmed cancels: the waiting list moves up in order, whole parties only.
    codes = [
        (r.json()["code"], body(n)["phone"])
        for n, r in enumerate(responses)
        if r.json()["status"] == "confirmed"
    ]
    for code, phone in codes:
        await bookings.cancel_booking(db, code, phone)
        await db.commit()
        await check_session_invariants(db, session_id)
    first_positions = await db.scalars(
        text(
            "SELECT party_size FROM bookings WHERE session_id = :s AND status = 'waitlisted' "
            "ORDER BY waitlist_position LIMIT 1"
        ),
        {"s": session_id},
    )
    head = list(first_positions)
    free = await db.scalar(
        text("SELECT count(*) FROM session_seats WHERE session_id = :s AND booking_id IS NULL"),
        {"s": session_id},
    )
    # Whatever is left free is too small for the first party still waiting.
    assert not head or head[0] > (free or 0)


async def test_the_public_form_takes_a_companion_and_needs(
    client: AsyncClient, db: AsyncSession
) -> None:
    seeded = await add_event(db, capacity=5)
    event_id, session_id = seeded.event_id, seeded.session_ids[0]
    base = f"/events/{event_id}/sessions/{session_id}/book"
    form = await client.get(base)
    assert 'name="companions.0.name"' in form.text and 'name="needs"' in form.text
    assert "筆談" in form.text  # the examples
    typed = {
        **GOOD,
        "companions.0.name": "静岡 一郎",
        "companions.0.name_kana": "x",
        "needs": "車いすで参加します",
    }
    bad = await submit(client, form, base + "/confirm", typed)
    assert bad.status_code == 200
    assert 'href="#companions.0.name_kana"' in bad.text and "同伴者1のふりがな" in bad.text
    assert 'value="静岡 一郎"' in bad.text  # what was typed is kept
    confirm = await submit(
        client, bad, base + "/confirm", {**typed, "companions.0.name_kana": "しずおか いちろう"}
    )
    assert confirm.status_code == 200, confirm.text
    assert "静岡 一郎（シズオカ イチロウ）" in confirm.text and "2名" in confirm.text
    assert "車いすで参加します" in confirm.text
    done = await client.post(base + "/complete", data=hidden_of(confirm))
    assert done.status_code == 303
    row = (await db.execute(text("SELECT id, party_size, needs, status FROM bookings"))).one()
    assert (row.party_size, row.needs, row.status) == (2, "車いすで参加します", "confirmed")
    # Never public: neither the needs nor the companion's name.
    for url in ("/", f"/events/{event_id}", "/api/v1/events", "/events.ics"):
        page = await client.get(url)
        assert "車いすで参加します" not in page.text and "一郎" not in page.text


async def test_desk_forms_roster_print_and_csv_count_every_person(
    client: AsyncClient, db: AsyncSession
) -> None:
    user = await make_staff(db, "organizer")
    headers = bearer(await issue_token(db, user))
    s = await make_session(db, capacity=4, waitlist_limit=2)
    url = f"/api/v1/manage/sessions/{s.id}/phone-bookings"
    phoned = await client.post(
        url,
        json={**couple(), "needs": "補聴器を使っています"},
        headers=headers,
    )
    assert phoned.status_code == 201, phoned.text
    assert phoned.json()["party_size"] == 2
    assert phoned.json()["companions"][0]["name_kana"] == "シミズ サチコ"

    # The walk-in party of three does not fit the two seats left: whole, or with the override.
    await move_session(db, s.id, starts_in=later_today())
    walkers = {
        "name": "当日 参加",
        "name_kana": "とうじつ さんか",
        "phone": "090-5555-0001",
        "companions": [
            {"name": "当日 二郎", "name_kana": "とうじつ じろう"},
            {"name": "当日 三郎", "name_kana": "とうじつ さぶろう"},
        ],
    }
    walk_url = f"/api/v1/manage/sessions/{s.id}/walk-ins"
    # At the door as online: no more companions than the event allows (here 1).
    over_limit = await client.post(walk_url, json=walkers, headers=headers)
    assert over_limit.status_code == 409, over_limit.text
    assert over_limit.json()["error"] == "too_many_companions"
    await db.execute(text("UPDATE events SET max_companions = 2 WHERE id = :e"), {"e": s.event_id})
    await db.commit()
    full = await client.post(walk_url, json=walkers, headers=headers)
    assert full.status_code == 409 and full.json()["error"] == "session_full"
    over = await client.post(walk_url, json={**walkers, "override": True}, headers=headers)
    assert over.status_code == 201 and over.json()["capacity_override"] is True
    await check_session_invariants(db, s.id)

    roster = (await client.get(f"/api/v1/manage/sessions/{s.id}/roster", headers=headers)).json()
    assert [e["party_size"] for e in roster["confirmed"]] == [2, 3]

    await web_login(client, db, user)
    page = await client.get(f"/manage/sessions/{s.id}")
    assert "同伴：清水 幸子" in page.text and "配慮：補聴器を使っています" in page.text
    assert "予約確定（5人・2組）" in page.text
    assert "配慮事項あり <strong>1</strong>件" in page.text
    printed = await client.get(f"/manage/sessions/{s.id}/print")
    assert "清水 一郎さんの同伴者" in printed.text and "予約 5人" in printed.text
    # Search finds a party by a companion's name.
    found = await client.get(f"/manage/sessions/{s.id}", params={"q": "さぶろう"})
    assert "当日 参加" in found.text and "清水 一郎" not in found.text

    # One companion cancelled by the desk: one seat back, the roster says so.
    booking_id = phoned.json()["id"]
    cancelled = await client.post(
        f"/api/v1/manage/bookings/{booking_id}/companions/1/cancel", headers=headers
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["party_size"] == 1
    await check_session_invariants(db, s.id)

    r = await client.get(f"/api/v1/manage/sessions/{s.id}/roster.csv", headers=headers)
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
    assert rows[0][-3:] == ["区分", "人数", "配慮事項"]
    kinds = [(row[3], row[-3], row[1]) for row in rows[1:]]
    assert ("清水 幸子", "同伴者", "取消") in kinds
    assert ("当日 三郎", "同伴者", "予約確定") in kinds
    holder = next(row for row in rows if row[3] == "清水 一郎")
    assert holder[-2:] == ["1", "補聴器を使っています"]
    assert len(rows) == 1 + 5  # one line per person, companions included


async def test_the_look_up_page_cancels_one_companion(
    client: AsyncClient, db: AsyncSession
) -> None:
    session_id = (await make_session(db, capacity=4)).id
    r = await client.post(f"/api/v1/sessions/{session_id}/bookings", json=couple())
    code = r.json()["code"]
    page = await client.get("/bookings/lookup")
    details = await submit(
        client, page, "/bookings/lookup", {"code": code, "phone": "054-354-2111"}
    )
    assert "清水 幸子（シミズ サチコ）" in details.text and "2名" in details.text
    # The button asks once more (a GET page with the grant): nothing is cancelled yet.
    grant = hidden_of(details)["g"]
    question = await client.get("/bookings/cancel-companion", params={"g": grant, "position": "1"})
    assert question.status_code == 200
    assert "清水 幸子さんの参加だけを取り消しますか" in question.text
    assert "キャンセル待ち" not in question.text  # nobody waits: no promise of a move up
    assert await check_session_invariants(db, session_id) == (1, 0)
    done = await submit(
        client, question, "/bookings/cancel-companion/complete", {"g": grant, "position": "1"}
    )
    assert done.status_code == 200 and done.url.path == "/bookings/details"
    assert "清水 幸子 さんの参加を取り消しました" in done.text and "1名になりました" in done.text
    assert await check_session_invariants(db, session_id) == (1, 0)
    seats = await db.scalar(
        text("SELECT count(*) FROM session_seats WHERE session_id = :s AND booking_id IS NULL"),
        {"s": session_id},
    )
    assert seats == 3


async def test_the_event_page_counts_needs_and_sets_the_companion_limit(
    client: AsyncClient, db: AsyncSession
) -> None:
    user = await make_staff(db, "organizer")
    s = await make_session(db, capacity=4)
    await bookings.book(db, s.id, dataclasses.replace(person(1), needs="車いす"))
    await bookings.book(db, s.id, person(2))
    await db.commit()
    await web_login(client, db, user)
    page = await client.get(f"/manage/events/{s.event_id}")
    assert "配慮事項 1件" in page.text
    assert "車いす" not in page.text  # the text itself is on the roster only
    form = await client.get(f"/manage/events/{s.event_id}/edit")
    assert 'name="max_companions"' in form.text and 'value="1"' in form.text
