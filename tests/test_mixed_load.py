"""Mixed load on one session (issue 8, point 3): bookings, cancels, promotions, resizes,
walk-ins and check-ins all at once through the ASGI app, twelve rounds. No answer may be a 5xx
(a deadlock, a serialization failure or a violated constraint surfaces as a 500), and the
session's invariants hold afterwards (no oversold seat, waiting list 1..n)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from contextlib import nullcontext
from datetime import datetime, time, timedelta
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.platform.local_time import TOKYO
from tests.factories import make_session
from tests.manage_support import bearer, issue_token, make_staff, move_session
from tests.test_booking_concurrency import body, rows

ROUNDS = 12


async def _session_body(db: AsyncSession, session_id: int, capacity: int) -> dict[str, Any]:
    row = (
        await db.execute(
            text(
                "SELECT venue_id, starts_at, ends_at, booking_opens_at, booking_closes_at,"
                " waitlist_limit FROM sessions WHERE id = :s"
            ),
            {"s": session_id},
        )
    ).one()
    return {
        "venue_id": row.venue_id,
        "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat(),
        "capacity": capacity,
        "waitlist_limit": row.waitlist_limit,
        "booking_opens_at": row.booking_opens_at.isoformat(),
        "booking_closes_at": row.booking_closes_at.isoformat(),
    }


def _rush_moment() -> datetime | None:
    """The domain's clock for the test, so that each rush happens on its session's own Tokyo day
    with bookings still open an hour: real time, unless two hours from now is already tomorrow
    in Tokyo (after 22:00 there); then the clock stands at 1:00 tomorrow for the whole test."""
    now = datetime.now(TOKYO)
    if (now + timedelta(hours=2)).date() == now.date():
        return None
    return datetime.combine(now.date() + timedelta(days=1), time(1), tzinfo=TOKYO)


async def _one_round(
    client: AsyncClient, db: AsyncSession, headers: dict[str, str], round_no: int
) -> Counter[str]:
    rng = random.Random(round_no)
    session = await make_session(db, capacity=12, waitlist_limit=30)
    sid = session.id
    base = round_no * 1000
    # Bookings taken beforehand, to cancel, promote and check in during the rush.
    first = [
        await client.post(f"/api/v1/sessions/{sid}/bookings", json=body(base + n))
        for n in range(24)
    ]
    assert all(r.status_code == 201 for r in first)
    held = [(base + n, r.json()) for n, r in enumerate(first)]
    # On its day, so that walk-ins and check-ins are allowed; bookings still open an hour.
    ahead = clock.now() - datetime.now(TOKYO)  # how far the test's clock stands ahead
    await move_session(db, sid, starts_in=timedelta(hours=2) + ahead)
    put_body = await _session_body(db, sid, 12)
    await db.rollback()
    confirmed_ids = [
        r.id
        for r in await rows(
            db, "SELECT id FROM bookings WHERE session_id = :s AND status = 'confirmed'", s=sid
        )
    ]
    waiting_ids = [
        r.id
        for r in await rows(
            db, "SELECT id FROM bookings WHERE session_id = :s AND status = 'waitlisted'", s=sid
        )
    ]
    await db.rollback()

    calls: list[tuple[str, Any]] = []
    for n in range(base + 100, base + 140):
        calls.append(("book", client.post(f"/api/v1/sessions/{sid}/bookings", json=body(n))))
    for n, answer in rng.sample(held, 10):
        cancel = client.post(
            f"/api/v1/bookings/{answer['code']}/cancel", json={"phone": body(n)["phone"]}
        )
        calls.append(("cancel", cancel))
    for booking_id in rng.sample(waiting_ids, 4):
        url = f"/api/v1/manage/bookings/{booking_id}/promote"
        calls.append(("promote", client.post(url, json={"override": False}, headers=headers)))
    for booking_id in rng.sample(confirmed_ids, 6):
        url = f"/api/v1/manage/bookings/{booking_id}/check-in"
        calls.append(("check_in", client.post(url, headers=headers)))
    for booking_id in rng.sample(confirmed_ids, 3):
        url = f"/api/v1/manage/bookings/{booking_id}/cancel"
        calls.append(
            ("staff_cancel", client.post(url, json={"reason": "本人より"}, headers=headers))
        )
    for capacity in (14, 16, 13, 18):
        url = f"/api/v1/manage/sessions/{sid}"
        calls.append(
            ("resize", client.put(url, json={**put_body, "capacity": capacity}, headers=headers))
        )
    for k in range(5):
        walk_in = {
            "name": f"当日 {k}",
            "name_kana": "とうじつ",
            "phone": f"054-300-{round_no:02d}{k:02d}",
            "override": k % 2 == 0,
        }
        url = f"/api/v1/manage/sessions/{sid}/walk-ins"
        calls.append(("walk_in", client.post(url, json=walk_in, headers=headers)))
    rng.shuffle(calls)

    answers: list[Response] = list(await asyncio.gather(*(call for _, call in calls)))
    outcome: Counter[str] = Counter()
    for (kind, _), r in zip(calls, answers, strict=True):
        assert r.status_code < 500, f"round {round_no}: {kind} answered {r.status_code} {r.text}"
        outcome[f"{kind}:{r.status_code}"] += 1
        if r.status_code >= 400:
            assert r.json()["message"], r.text

    await check_session_invariants_with_overrides(db, sid)
    return outcome


async def check_session_invariants_with_overrides(db: AsyncSession, session_id: int) -> None:
    """Every seat held at most once, by a live confirmed booking; every confirmed booking holds
    a seat unless it is a recorded capacity override; seats = capacity; positions 1..n."""
    await db.rollback()
    seats = await rows(
        db,
        "SELECT st.booking_id, b.status FROM session_seats st"
        " LEFT JOIN bookings b ON b.id = st.booking_id WHERE st.session_id = :s",
        s=session_id,
    )
    held = [r.booking_id for r in seats if r.booking_id is not None]
    assert len(held) == len(set(held)), "a booking holds two seats"
    assert all(r.status == "confirmed" for r in seats if r.booking_id is not None)
    seated = await rows(
        db,
        "SELECT id FROM bookings WHERE session_id = :s AND status = 'confirmed'"
        " AND NOT capacity_override",
        s=session_id,
    )
    assert sorted(held) == sorted(r.id for r in seated), "confirmed bookings and seats differ"
    capacity = await db.scalar(
        text("SELECT capacity FROM sessions WHERE id = :s"), {"s": session_id}
    )
    assert capacity == len(seats)
    positions = [
        r.waitlist_position
        for r in await rows(
            db,
            "SELECT waitlist_position FROM bookings WHERE session_id = :s"
            " AND status = 'waitlisted' ORDER BY waitlist_position",
            s=session_id,
        )
    ]
    assert positions == list(range(1, len(positions) + 1)), "gap in the waiting list"
    await db.rollback()


async def test_mixed_load_on_one_session_answers_no_5xx(
    client: AsyncClient, db: AsyncSession
) -> None:
    moment = _rush_moment()
    seen: Counter[str] = Counter()
    with clock.frozen_at(moment) if moment else nullcontext():
        headers = bearer(await issue_token(db, await make_staff(db, "organizer")))
        for round_no in range(ROUNDS):
            seen += await _one_round(client, db, headers, round_no)
    # Every kind of change really happened at least once.
    for kind in ("book:201", "cancel:200", "resize:200", "walk_in:201", "check_in:200"):
        assert seen[kind] > 0, seen
