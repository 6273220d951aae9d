"""Many requests at once through the ASGI app, on the real database: never an oversold seat, a
gap in the waiting list, a double promotion, a second booking for one Idempotency-Key, or a 500.

The database is then checked directly, not only the responses."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.domain.errors import Conflict
from service.platform.db import make_engine, make_session_factory
from service.platform.settings import Settings
from tests.factories import make_session, person


def body(n: int) -> dict[str, str]:
    return {
        "name": f"静岡 太郎{n}",
        "name_kana": f"しずおか たろう{'あ' * (n % 5)}",
        "phone": f"090-{n // 10000:04d}-{n % 10000:04d}",
        "age_band": "65_69",
        "ward": "shimizu",
        "heard_from": "dm",
    }


async def book_all(
    client: AsyncClient, session_id: int, numbers: range, **kwargs: Any
) -> list[httpx.Response]:
    return list(
        await asyncio.gather(
            *(
                client.post(f"/api/v1/sessions/{session_id}/bookings", json=body(n), **kwargs)
                for n in numbers
            )
        )
    )


async def rows(db: AsyncSession, sql: str, **params: Any) -> list[Any]:
    return list((await db.execute(text(sql), params)).all())


async def check_session_invariants(db: AsyncSession, session_id: int) -> tuple[int, int]:
    """The invariants any state must keep: every seat held at most once and only by a live
    confirmed booking of its own session, every confirmed party (not overridden) holding one
    seat per person, waiting-list positions 1..n without gaps, and the session's counter equal to n.
    Returns (confirmed, waitlisted)."""
    await db.rollback()  # a fresh snapshot
    confirmed = await rows(
        db,
        "SELECT b.id, b.party_size, b.capacity_override, (SELECT count(*) FROM booking_companions c"
        " WHERE c.booking_id = b.id AND c.cancelled_at IS NULL) AS companions FROM bookings b "
        "WHERE b.session_id = :s AND b.status = 'confirmed'",
        s=session_id,
    )
    seats = await rows(
        db,
        "SELECT st.booking_id, b.status, b.session_id FROM session_seats st "
        "LEFT JOIN bookings b ON b.id = st.booking_id WHERE st.session_id = :s",
        s=session_id,
    )
    held = [r.booking_id for r in seats if r.booking_id is not None]
    assert all(
        r.status == "confirmed" and r.session_id == session_id for r in seats if r.booking_id
    )
    # A party holds one seat per person, all of them or (an override) none: never split.
    assert Counter(held) == {r.id: r.party_size for r in confirmed if not r.capacity_override}, (
        "confirmed parties and seats differ"
    )
    assert all(r.party_size == 1 + r.companions for r in confirmed), "party size is off"
    capacity = await db.scalar(
        text("SELECT capacity FROM sessions WHERE id = :s"), {"s": session_id}
    )
    assert len(held) <= capacity == len(seats)

    positions = [
        r.waitlist_position
        for r in await rows(
            db,
            "SELECT waitlist_position FROM bookings WHERE session_id = :s "
            "AND status = 'waitlisted' ORDER BY waitlist_position",
            s=session_id,
        )
    ]
    assert positions == list(range(1, len(positions) + 1)), "gap in the waiting list"
    counter = await db.scalar(
        text("SELECT waitlist_count FROM sessions WHERE id = :s"), {"s": session_id}
    )
    assert counter == len(positions)
    return len(confirmed), len(positions)


async def notice_counts(db: AsyncSession, session_id: int) -> Counter[str]:
    """Outbox notices per kind; also checks no booking got the same kind of notice twice."""
    notices = await rows(
        db,
        "SELECT n.booking_id, n.kind FROM notifications n JOIN bookings b ON b.id = n.booking_id "
        "WHERE b.session_id = :s",
        s=session_id,
    )
    pairs = Counter((r.booking_id, r.kind) for r in notices)
    assert max(pairs.values(), default=1) == 1, "a notice was written twice"
    return Counter(r.kind for r in notices)


async def test_300_at_once_on_15_seats(client: AsyncClient, db: AsyncSession) -> None:
    session_id = (await make_session(db, capacity=15, waitlist_limit=285)).id

    responses = await book_all(client, session_id, range(300))

    assert Counter(r.status_code for r in responses) == {201: 300}, [
        r.text for r in responses if r.status_code != 201
    ][:3]
    answers = [r.json() for r in responses]
    statuses = Counter(a["status"] for a in answers)
    assert statuses == {"confirmed": 15, "waitlisted": 285}
    positions = sorted(a["waitlist_position"] for a in answers if a["status"] == "waitlisted")
    assert positions == list(range(1, 286))
    assert len({a["code"] for a in answers}) == 300

    assert await check_session_invariants(db, session_id) == (15, 285)
    assert await notice_counts(db, session_id) == {
        "booking_confirmed": 15,
        "booking_waitlisted": 285,
    }
    # What each person was told is what the database holds.
    stored = {
        r.code: (r.status, r.waitlist_position)
        for r in await rows(
            db,
            "SELECT code, status, waitlist_position FROM bookings WHERE session_id = :s",
            s=session_id,
        )
    }
    told = {a["code"].replace("-", ""): (a["status"], a["waitlist_position"]) for a in answers}
    assert stored == told

    # Full now: the next one is refused with the stable code, and nothing is written.
    late = await client.post(f"/api/v1/sessions/{session_id}/bookings", json=body(1000))
    assert late.status_code == 409
    assert late.json()["error"] == "waitlist_full"
    assert await check_session_invariants(db, session_id) == (15, 285)


async def test_rush_with_a_short_waiting_list_refuses_the_rest(
    client: AsyncClient, db: AsyncSession
) -> None:
    session_id = (await make_session(db, capacity=15, waitlist_limit=10)).id
    responses = await book_all(client, session_id, range(120))
    codes = Counter(
        r.json()["status"] if r.status_code == 201 else r.json()["error"] for r in responses
    )
    assert codes == {"confirmed": 15, "waitlisted": 10, "waitlist_full": 95}
    assert all(r.status_code in (201, 409) for r in responses)
    assert await check_session_invariants(db, session_id) == (15, 10)
    count = await db.scalar(
        text("SELECT count(*) FROM bookings WHERE session_id = :s"), {"s": session_id}
    )
    assert count == 25


async def test_the_same_phone_many_times_at_once_books_once(
    client: AsyncClient, db: AsyncSession
) -> None:
    session_id = (await make_session(db, capacity=2, waitlist_limit=5)).id
    same = [client.post(f"/api/v1/sessions/{session_id}/bookings", json=body(7)) for _ in range(30)]
    responses = await asyncio.gather(*same)
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 29}
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"already_booked"}
    assert await check_session_invariants(db, session_id) == (1, 0)


async def test_50_concurrent_cancellations_promote_exactly_50(
    client: AsyncClient, db: AsyncSession
) -> None:
    session_id = (await make_session(db, capacity=50, waitlist_limit=100)).id
    booked = await book_all(client, session_id, range(150))
    assert all(r.status_code == 201 for r in booked)
    people = [(n, r.json()) for n, r in zip(range(150), booked, strict=True)]
    confirmed = [(n, a) for n, a in people if a["status"] == "confirmed"]
    waiting = sorted(
        ((n, a) for n, a in people if a["status"] == "waitlisted"),
        key=lambda p: p[1]["waitlist_position"],
    )
    assert len(confirmed) == 50 and len(waiting) == 100
    # Ten people near the end of the list leave it at the same moment as the 50 cancel.
    leaving = waiting[80:90]

    cancels = await asyncio.gather(
        *(
            client.post(f"/api/v1/bookings/{a['code']}/cancel", json={"phone": body(n)["phone"]})
            for n, a in confirmed + leaving
        )
    )

    assert Counter(r.status_code for r in cancels) == {200: 60}, [
        r.text for r in cancels if r.status_code != 200
    ][:3]
    assert {r.json()["status"] for r in cancels} == {"cancelled"}
    assert await check_session_invariants(db, session_id) == (50, 40)
    promoted = {
        r.code
        for r in await rows(
            db,
            "SELECT b.code FROM notifications n JOIN bookings b ON b.id = n.booking_id "
            "WHERE b.session_id = :s AND n.kind = 'booking_promoted'",
            s=session_id,
        )
    }
    # Exactly the first 50 on the list, each promoted once (notice_counts checks "once").
    assert promoted == {a["code"].replace("-", "") for _, a in waiting[:50]}
    kinds = await notice_counts(db, session_id)
    assert kinds["booking_promoted"] == 50
    assert kinds["booking_cancelled"] == 60
    # Those still waiting kept their order, closed up.
    still = [
        r.code
        for r in await rows(
            db,
            "SELECT code FROM bookings WHERE session_id = :s AND status = 'waitlisted' "
            "ORDER BY waitlist_position",
            s=session_id,
        )
    ]
    assert still == [a["code"].replace("-", "") for _, a in waiting[50:80] + waiting[90:]]
    promoted_rows = await rows(
        db,
        "SELECT confirmed_at, waitlisted_at FROM bookings WHERE code = ANY(:codes)",
        codes=list(promoted),
    )
    assert all(
        r.confirmed_at is not None and r.confirmed_at >= r.waitlisted_at for r in promoted_rows
    )


async def test_concurrent_retries_with_one_idempotency_key_make_one_booking(
    client: AsyncClient, db: AsyncSession
) -> None:
    session_id = (await make_session(db, capacity=15, waitlist_limit=10)).id
    headers = {"Idempotency-Key": "3f6c1a2e-retry-storm"}

    responses = await book_all(client, session_id, range(5, 6), headers=headers)
    responses += await asyncio.gather(
        *(
            client.post(f"/api/v1/sessions/{session_id}/bookings", json=body(5), headers=headers)
            for _ in range(30)
        )
    )

    assert Counter(r.status_code for r in responses) == {201: 31}
    assert len({r.text for r in responses}) == 1
    assert sum(1 for r in responses if r.headers.get("idempotent-replayed") != "true") == 1
    count = await db.scalar(
        text("SELECT count(*) FROM bookings WHERE session_id = :s"), {"s": session_id}
    )
    assert count == 1
    assert await check_session_invariants(db, session_id) == (1, 0)


async def test_concurrent_first_requests_with_one_key_make_one_booking(
    client: AsyncClient, db: AsyncSession
) -> None:
    """No request has finished when the others arrive: they wait on the key, then replay."""
    session_id = (await make_session(db, capacity=15, waitlist_limit=10)).id
    headers = {"Idempotency-Key": "first-and-only"}
    responses = await asyncio.gather(
        *(
            client.post(f"/api/v1/sessions/{session_id}/bookings", json=body(9), headers=headers)
            for _ in range(40)
        )
    )
    assert Counter(r.status_code for r in responses) == {201: 40}
    assert len({r.json()["code"] for r in responses}) == 1
    assert sum(1 for r in responses if r.headers.get("idempotent-replayed") == "true") == 39
    count = await db.scalar(
        text("SELECT count(*) FROM bookings WHERE session_id = :s"), {"s": session_id}
    )
    assert count == 1


async def test_one_key_with_different_bodies_at_once(client: AsyncClient, db: AsyncSession) -> None:
    session_id = (await make_session(db, capacity=15, waitlist_limit=10)).id
    headers = {"Idempotency-Key": "shared-by-mistake"}
    responses = await book_all(client, session_id, range(20), headers=headers)
    created = [r for r in responses if r.status_code == 201]
    reused = [r for r in responses if r.status_code == 422]
    assert len(created) == 1 and len(reused) == 19
    assert {r.json()["error"] for r in reused} == {"idempotency_key_reused"}
    count = await db.scalar(
        text("SELECT count(*) FROM bookings WHERE session_id = :s"), {"s": session_id}
    )
    assert count == 1


async def test_a_booker_finishing_its_claim_is_not_blocked_by_the_session_lock(
    db: AsyncSession, settings: Settings
) -> None:
    """Booker A holds the last seat and has still to insert its booking, whose foreign key takes
    FOR KEY SHARE on the session row, while B, finding no free seat, holds the session row to
    join the waiting list. B's lock must not block A's (FOR UPDATE would: A would then wait for
    B, and B's transaction for A's seat). Deterministic: A is held at that point by hand."""
    session_id = (await make_session(db, capacity=1, waitlist_limit=5)).id
    engine = make_engine(settings.sqlalchemy_url, 2)
    factory = make_session_factory(engine)
    try:
        async with factory() as a, factory() as b:
            await a.execute(
                text("SELECT id FROM session_seats WHERE session_id = :s FOR UPDATE"),
                {"s": session_id},
            )
            joined = await asyncio.wait_for(bookings.book(b, session_id, person(2)), 10)
            # B holds the session row until it commits; A's foreign-key lock goes through.
            await asyncio.wait_for(
                a.execute(
                    text("SELECT 1 FROM sessions WHERE id = :s FOR KEY SHARE"), {"s": session_id}
                ),
                10,
            )
            await a.rollback()
            await b.commit()
    finally:
        await engine.dispose()
    assert joined.status == "waitlisted"
    assert await check_session_invariants(db, session_id) == (0, 1)


async def test_the_session_lock_holder_never_waits_for_a_seat(
    db: AsyncSession, settings: Settings
) -> None:
    """A booker's first statement can be left holding a lock on a seat it did not take (in READ
    COMMITTED, FOR UPDATE locks the newest version of a row claimed meanwhile, and keeps the lock
    when the row then fails the recheck); that booker then waits for the session row. So whoever
    holds the session row must not wait for seat locks, or the two deadlock: seen under the
    500-seat rush of `make bench`. Here booker A is held at that point by hand."""
    session_id = (await make_session(db, capacity=1, waitlist_limit=5)).id
    engine = make_engine(settings.sqlalchemy_url, 2)
    factory = make_session_factory(engine)
    try:
        async with factory() as a, factory() as b:
            await a.execute(
                text("SELECT id FROM session_seats WHERE session_id = :s FOR UPDATE"),
                {"s": session_id},
            )
            # B finds no seat it can take, holds the session row, and must not wait for A.
            joined = await asyncio.wait_for(bookings.book(b, session_id, person(2)), 10)
            locked_by_a = asyncio.create_task(
                a.execute(
                    text("SELECT id FROM sessions WHERE id = :s FOR NO KEY UPDATE"),
                    {"s": session_id},
                )
            )
            await b.commit()
            await asyncio.wait_for(locked_by_a, 10)
            await a.rollback()
    finally:
        await engine.dispose()
    assert joined.status == "waitlisted"
    # The seat A let go is given to the waiting list by the promotion sweep.
    assert await bookings.promote_waiting(db, session_id) == [joined.id]
    await db.commit()
    assert await check_session_invariants(db, session_id) == (1, 0)


async def test_late_comers_to_a_full_list_are_refused_without_queueing_on_the_session(
    db: AsyncSession, settings: Settings
) -> None:
    """Seats taken and the waiting list full: the refusal needs no session lock, so in a rush
    the late comers do not queue one by one behind the session row."""
    session_id = (await make_session(db, capacity=1, waitlist_limit=1)).id
    for n in (1, 2):
        await bookings.book(db, session_id, person(n))
        await db.commit()
    no_list = (await make_session(db, capacity=1, waitlist_limit=0)).id
    await bookings.book(db, no_list, person(1))
    await db.commit()
    engine = make_engine(settings.sqlalchemy_url, 2)
    factory = make_session_factory(engine)
    try:
        async with factory() as holder, factory() as late:
            await holder.execute(
                text("SELECT id FROM sessions WHERE id = ANY(:s) FOR NO KEY UPDATE"),
                {"s": [session_id, no_list]},
            )
            for sid, code in ((session_id, "waitlist_full"), (no_list, "session_full")):
                with pytest.raises(Conflict) as refused:
                    await asyncio.wait_for(bookings.book(late, sid, person(3)), 10)
                assert refused.value.code == code
                await late.rollback()
            await holder.rollback()
    finally:
        await engine.dispose()
