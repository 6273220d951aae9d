"""The booking rules on the real database, through the domain service."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.domain.errors import Conflict, NotFound
from service.platform.db import make_engine, make_session_factory
from service.platform.settings import Settings
from tests.factories import make_event, make_session, person


async def _positions(db: AsyncSession, session_id: int) -> list[int]:
    rows = await db.scalars(
        text(
            "SELECT waitlist_position FROM bookings WHERE session_id = :s "
            "AND status = 'waitlisted' ORDER BY waitlist_position"
        ),
        {"s": session_id},
    )
    return list(rows)


async def _book(db: AsyncSession, session_id: int, n: int) -> bookings.BookingView:
    view = await bookings.book(db, session_id, person(n))
    await db.commit()
    return view


async def test_first_come_confirmed_then_waitlisted_then_refused(db: AsyncSession) -> None:
    s = await make_session(db, capacity=2, waitlist_limit=2)
    results = [await _book(db, s.id, n) for n in range(4)]
    assert [r.status for r in results] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert [r.waitlist_position for r in results] == [None, None, 1, 2]
    assert len({r.code for r in results}) == 4
    with pytest.raises(Conflict) as info:
        await bookings.book(db, s.id, person(9))
    assert info.value.code == "waitlist_full"


async def test_no_waiting_list_means_session_full(db: AsyncSession) -> None:
    s = await make_session(db, capacity=1, waitlist_limit=0)
    await _book(db, s.id, 1)
    with pytest.raises(Conflict) as info:
        await bookings.book(db, s.id, person(2))
    assert info.value.code == "session_full"


async def test_same_phone_twice_is_refused(db: AsyncSession) -> None:
    s = await make_session(db)
    await _book(db, s.id, 1)
    with pytest.raises(Conflict) as info:
        await bookings.book(db, s.id, person(1))
    assert info.value.code == "already_booked"
    assert "phone" in info.value.fields


async def test_cancel_promotes_first_waitlisted_and_closes_the_gap(db: AsyncSession) -> None:
    s = await make_session(db, capacity=1, waitlist_limit=5)
    first = await _book(db, s.id, 1)
    waiting = [await _book(db, s.id, n) for n in range(2, 5)]
    cancelled = await bookings.cancel_booking(db, first.code, first.phone, reason="都合")
    await db.commit()
    assert cancelled.status == "cancelled"
    promoted = await bookings.find_booking(db, waiting[0].code, waiting[0].phone)
    assert promoted.status == "confirmed"
    assert promoted.waitlist_position is None
    assert await _positions(db, s.id) == [1, 2]
    kinds = await db.scalars(
        text("SELECT kind FROM notifications WHERE booking_id = :b"), {"b": promoted.id}
    )
    assert "booking_promoted" in list(kinds)


async def test_leaving_the_waiting_list_closes_up_positions(db: AsyncSession) -> None:
    s = await make_session(db, capacity=0, waitlist_limit=5)
    views = [await _book(db, s.id, n) for n in range(5)]
    await bookings.cancel_booking(db, views[1].code, views[1].phone)
    await db.commit()
    assert await _positions(db, s.id) == [1, 2, 3, 4]
    third = await bookings.find_booking(db, views[2].code, views[2].phone)
    assert third.waitlist_position == 2
    # A freed waiting-list place can be taken again, at the end.
    again = await _book(db, s.id, 99)
    assert again.waitlist_position == 5


async def test_lookup_with_wrong_phone_looks_like_unknown_code(db: AsyncSession) -> None:
    s = await make_session(db)
    view = await _book(db, s.id, 1)
    with pytest.raises(NotFound) as wrong:
        await bookings.find_booking(db, view.code, "0541111111")
    with pytest.raises(NotFound) as unknown:
        await bookings.find_booking(db, "123456789012", view.phone)
    assert wrong.value.code == unknown.value.code == "booking_not_found"
    assert wrong.value.message == unknown.value.message
    found = await bookings.find_booking(db, view.code[:4] + "ー" + view.code[4:], "090-0000-0001")
    assert found.id == view.id


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"opened_ago": timedelta(days=-1)}, "session_not_open"),
        (
            {"closes_before_start": timedelta(days=20), "opened_ago": timedelta(days=30)},
            "booking_closed",
        ),
    ],
)
async def test_gates(db: AsyncSession, kwargs: dict[str, timedelta], code: str) -> None:
    s = await make_session(db, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(Conflict) as info:
        await bookings.book(db, s.id, person(1))
    assert info.value.code == code


async def test_unpublished_event_and_cancelled_session(db: AsyncSession) -> None:
    draft = await make_session(db, event=await make_event(db, status="draft"))
    with pytest.raises(Conflict) as info:
        await bookings.book(db, draft.id, person(1))
    assert info.value.code == "event_not_published"
    s = await make_session(db)
    await db.execute(text("UPDATE sessions SET status = 'cancelled' WHERE id = :s"), {"s": s.id})
    await db.commit()
    with pytest.raises(Conflict) as info:
        await bookings.book(db, s.id, person(1))
    assert info.value.code == "session_cancelled"
    with pytest.raises(NotFound):
        await bookings.book(db, 999999, person(1))


async def test_resize_refuses_below_taken_and_promotes_when_raised(db: AsyncSession) -> None:
    sid = (await make_session(db, capacity=2, waitlist_limit=5)).id
    for n in range(5):
        await _book(db, sid, n)
    with pytest.raises(Conflict) as info:
        await bookings.resize_session(db, sid, 1)
    assert info.value.code == "capacity_below_confirmed"
    await db.rollback()
    promoted = await bookings.resize_session(db, sid, 4)
    await db.commit()
    assert len(promoted) == 2
    assert await _positions(db, sid) == [1]
    seats = await db.scalar(
        text("SELECT count(*) FROM session_seats WHERE session_id = :s"), {"s": sid}
    )
    assert seats == 4


async def test_override_confirms_beyond_capacity_and_is_recorded(db: AsyncSession) -> None:
    s = await make_session(db, capacity=1, waitlist_limit=0)
    await _book(db, s.id, 1)
    walk_in = await bookings.book(db, s.id, person(2), channel="walk_in", allow_over_capacity=True)
    await db.commit()
    assert walk_in.status == "confirmed"
    assert walk_in.capacity_override
    stored = (
        await db.execute(
            text("SELECT status, capacity_override, channel FROM bookings WHERE id = :b"),
            {"b": walk_in.id},
        )
    ).one()
    assert tuple(stored) == ("confirmed", True, "walk_in")
    held = await db.scalar(
        text("SELECT count(*) FROM session_seats WHERE booking_id = :b"), {"b": walk_in.id}
    )
    assert held == 0  # beyond the seats: no seat row is taken from anyone


async def test_promote_booking_needs_a_seat_or_override(db: AsyncSession) -> None:
    sid = (await make_session(db, capacity=1, waitlist_limit=3)).id
    await _book(db, sid, 1)
    w1 = await _book(db, sid, 2)
    w2 = await _book(db, sid, 3)
    with pytest.raises(Conflict):
        await bookings.promote_booking(db, w2.id, staff_id=None, override=False)  # type: ignore[arg-type]
    await db.rollback()
    moved = await bookings.promote_booking(db, w2.id, staff_id=None, override=True)  # type: ignore[arg-type]
    await db.commit()
    assert moved.status == "confirmed" and moved.capacity_override
    assert await _positions(db, sid) == [1]
    still = await bookings.find_booking(db, w1.code, w1.phone)
    assert still.waitlist_position == 1


async def test_concurrent_bookers_never_deadlock_or_oversell(settings: Settings) -> None:
    """Fast-path seat claims and waiting-list joins racing on one session."""
    engine = make_engine(settings.sqlalchemy_url, 30)
    factory = make_session_factory(engine)
    try:
        async with factory() as db:
            sid = (await make_session(db, capacity=5, waitlist_limit=200)).id

        async def one(n: int) -> str:
            async with factory() as db:
                view = await bookings.book(db, sid, person(n))
                await db.commit()
                return view.status

        statuses = await asyncio.gather(*(one(n) for n in range(60)))
        assert statuses.count("confirmed") == 5
        assert statuses.count("waitlisted") == 55
        async with factory() as db:
            assert await _positions(db, sid) == list(range(1, 56))
            held = await db.scalar(
                text(
                    "SELECT count(*) FROM session_seats "
                    "WHERE session_id = :s AND booking_id IS NOT NULL"
                ),
                {"s": sid},
            )
            assert held == 5
    finally:
        await engine.dispose()
