"""The booking rules: first come, first served, a waiting list, and never an oversold seat."""

from __future__ import annotations

import hmac

import asyncpg
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import errors, window
from service.domain.bookings.codes import new_code
from service.domain.bookings.idempotency import KeyTaken
from service.domain.bookings.idempotency_repository import KeyClaim
from service.domain.bookings.normalize import InvalidValue, normalize_code, normalize_phone
from service.domain.bookings.repository import BookingRepository, SessionGate
from service.domain.bookings.schemas import BookingView, CompanionView, ValidBooking
from service.domain.errors import DomainError
from service.platform.job_names import SEND_NOTIFICATION, send_notification_id
from service.platform.jobs import enqueue_after_commit


def queue_notices(db: AsyncSession, *notification_ids: int | None) -> None:
    """The outbox rows are committed with the booking; the job only nudges the worker."""
    for nid in notification_ids:
        if nid is not None:
            enqueue_after_commit(db, SEND_NOTIFICATION, send_notification_id(nid), nid)


_REFUSALS = {
    window.NOT_PUBLISHED: errors.event_not_published,
    window.CANCELLED: errors.session_cancelled,
    window.PAST: errors.session_past,
    window.NOT_OPEN: errors.session_not_open,
    window.CLOSED: errors.booking_closed,
}


def gate_error(gate: SessionGate, party_size: int = 1) -> DomainError | None:
    code = window.refusal(
        event_status=gate.event_status,
        session_status=gate.session_status,
        opens_at=gate.opens_at,
        closes_at=gate.closes_at,
        starts_at=gate.starts_at,
        now=gate.now,
    )
    if code is not None:
        return _REFUSALS[code]()
    if party_size - 1 > gate.max_companions:
        return errors.too_many_companions(gate.max_companions)
    return None


def _new_view(
    booking_id: int,
    code: str,
    status: str,
    position: int | None,
    channel: str,
    data: ValidBooking,
    gate: SessionGate,
    *,
    override: bool = False,
) -> BookingView:
    return BookingView(
        id=booking_id,
        code=code,
        status=status,
        waitlist_position=position,
        channel=channel,
        name=data.name,
        name_kana=data.name_kana,
        phone=data.phone,
        email=data.email,
        created_at=gate.now,
        confirmed_at=gate.now if status == "confirmed" else None,
        waitlisted_at=gate.now if status == "waitlisted" else None,
        cancelled_at=None,
        cancel_reason=None,
        checked_in_at=None,
        no_show_at=None,
        capacity_override=override,
        session=gate.summary(),
        party_size=data.party_size,
        needs=data.needs,
        companions=tuple(
            CompanionView(i, c.name, c.name_kana, None) for i, c in enumerate(data.companions, 1)
        ),
    )


async def book(
    db: AsyncSession,
    session_id: int,
    data: ValidBooking,
    *,
    channel: str = "web",
    staff_id: int | None = None,
    allow_over_capacity: bool = False,
    join_waitlist: bool = True,
    key: KeyClaim | None = None,
) -> BookingView:
    """A seat while seats last, then the waiting list; with join_waitlist=False a person who
    was shown a free seat is never put on the waiting list silently: waitlist_only() instead,
    and nothing is written."""
    repo = BookingRepository(db)
    code = new_code()
    try:
        # Fast path, one statement: a free seat that nobody else is claiming right now.
        await repo.mark_fast_path()
        outcome = await repo.try_confirm(session_id, code, data, channel, staff_id, key)
        if not outcome.claimed:
            raise KeyTaken
        gate = outcome.gate
        if gate is None:
            raise errors.session_not_found()
        if (problem := gate_error(gate, data.party_size)) is not None:
            raise problem
        if outcome.duplicate:
            raise errors.already_booked()
        if outcome.booking_id is not None:
            queue_notices(db, outcome.notification_id)
            return _new_view(outcome.booking_id, code, "confirmed", None, channel, data, gate)

        if allow_over_capacity:
            booking_id, nid = await repo.confirm_directly(
                session_id, code, data, channel, staff_id, seat_ids=[]
            )
            queue_notices(db, nid)
            return _new_view(
                booking_id, code, "confirmed", None, channel, data, gate, override=True
            )

        # Full, waiting list full too, as of this statement's snapshot: refused there and then.
        # The session lock below would decide the same (it skips seats being claimed as well),
        # only after queueing every late comer of a rush one by one behind the session row.
        if gate.waitlist_count >= gate.waitlist_limit:
            raise errors.session_full() if gate.waitlist_limit == 0 else errors.waitlist_full()

        # The end of the waiting list in one statement (QUEUE_SQL), when someone waits by the
        # time it holds the session row: a free seat is held for them then, so that is the only
        # way, and the statement checks the gate itself. A rush sends every late comer but the
        # first this way, each holding the row for one statement instead of three. It waits for
        # the row, so seat locks the first statement may have left go first (undo_fast_path
        # below) unless nobody waited then (no seat was tried; its key claim stands). After an
        # undo the key's claim is gone, so a booker with a key takes the slow path. No slot:
        # a full list is refused at once, anything else goes the slow path, which says why.
        undone = False
        if join_waitlist and (gate.waitlist_count > 0 or key is None):
            if gate.waitlist_count == 0:
                await repo.undo_fast_path()
                undone = True
            queued = await repo.join_waitlist(session_id, code, data, channel, staff_id, queue=True)
            if queued is not None:
                booking_id, nid, position = queued
                queue_notices(db, nid)
                return _new_view(booking_id, code, "waitlisted", position, channel, data, gate)
            if await repo.waitlist_full(session_id):
                raise errors.waitlist_full()

        # Slow path, under the session row lock: a seat freed since, else the waiting list.
        # Seats locked by others are skipped, never waited for: a booker whose first statement
        # failed can still hold a seat lock (FOR UPDATE keeps the lock on a row that fails its
        # READ COMMITTED recheck) while it waits for this session row, so waiting here could
        # deadlock. A seat whose claim rolls back goes to the next booker, or to the waiting
        # list with the promotion sweep (promote_waiting). The first statement's leftover seat
        # locks go before the wait (see undo_fast_path).
        if not undone:
            await repo.undo_fast_path()
        locked = await repo.lock_session(session_id)
        if locked is None:
            raise errors.session_not_found()
        if (problem := gate_error(locked, data.party_size)) is not None:
            raise problem
        # Filled while this booker waited for the lock: with people waiting no seat goes to a
        # newcomer, so the answer is known without two more statements under the lock (a rush
        # queues every late comer on this row, and each held it for them).
        if 0 < locked.waitlist_limit <= locked.waitlist_count:
            raise errors.waitlist_full()
        # A seat freed since, and the key's claim again (undo_fast_path took it back with the
        # seat locks). With people waiting no seat goes to a newcomer: without a key there is
        # nothing to try, and one statement less is held under the lock (a duplicate is then
        # refused by the waiting list's unique indexes, as already_booked all the same).
        if key is not None or locked.waitlist_count == 0:
            outcome = await repo.try_confirm(session_id, code, data, channel, staff_id, key)
            if not outcome.claimed:
                raise KeyTaken
            if outcome.duplicate:
                raise errors.already_booked()
            if outcome.booking_id is not None:
                queue_notices(db, outcome.notification_id)
                return _new_view(outcome.booking_id, code, "confirmed", None, channel, data, locked)
        if locked.waitlist_limit == 0:
            raise errors.session_full()
        if not join_waitlist:
            if locked.waitlist_count >= locked.waitlist_limit:
                raise errors.waitlist_full()
            raise errors.waitlist_only()
        joined = await repo.join_waitlist(session_id, code, data, channel, staff_id)
        if joined is None:
            raise errors.waitlist_full()
        booking_id, nid, position = joined
        queue_notices(db, nid)
        return _new_view(booking_id, code, "waitlisted", position, channel, data, locked)
    except (IntegrityError, asyncpg.UniqueViolationError) as exc:
        if (meaning := errors.for_violation(exc)) is not None:
            raise meaning from None
        raise


def _same_phone(stored: str, given: str) -> bool:
    return hmac.compare_digest(stored.encode(), given.encode())


async def find_booking(db: AsyncSession, code: str, phone: str) -> BookingView:
    """The code and the phone number it was made with; a wrong phone reads as an unknown code."""
    canonical = normalize_code(code)
    try:
        digits = normalize_phone(phone)
    except InvalidValue:
        digits = ""
    view = await BookingRepository(db).view_by_code(canonical) if canonical else None
    if view is None or not digits or not _same_phone(view.phone, digits):
        raise errors.booking_not_found()
    return view


async def joining(db: AsyncSession, code: str) -> BookingView | None:
    """The booking behind a signed receipt (the done page), when it is a confirmed booking of
    an online session: its join link is shown there. None otherwise."""
    view = await BookingRepository(db).view_by_code(code)
    return view if view is not None and view.can_join else None


async def cancel_booking(
    db: AsyncSession, code: str, phone: str, *, reason: str | None = None
) -> BookingView:
    return await cancel_found_booking(db, await find_booking(db, code, phone), reason=reason)


async def cancel_found_booking(
    db: AsyncSession, booking: BookingView, *, reason: str | None = None
) -> BookingView:
    """Self-service cancel of a booking already found with its code and phone (find_booking)."""
    return await _cancel(db, booking.id, reason=reason, staff_id=None, self_service=True)


async def cancel_booking_by_id(
    db: AsyncSession, booking_id: int, *, staff_id: int, reason: str | None
) -> BookingView:
    return await _cancel(db, booking_id, reason=reason, staff_id=staff_id, self_service=False)


async def _cancel(
    db: AsyncSession,
    booking_id: int,
    *,
    reason: str | None,
    staff_id: int | None,
    self_service: bool,
) -> BookingView:
    repo = BookingRepository(db)
    session_id = await repo.session_of(booking_id)
    if session_id is None:
        raise errors.booking_not_found()
    # Lock order everywhere: the session row, then bookings, then seats.
    gate = await repo.lock_session(session_id)
    booking = await repo.lock_booking(booking_id)
    if gate is None or booking is None:
        raise errors.booking_not_found()
    if booking.status == "cancelled":
        raise errors.already_cancelled()
    # Who came stays on record: a checked-in booking (a walk-in too) is cancelled only with
    # its session. Staff who checked in the wrong person undo the check-in first.
    if booking.checked_in_at is not None:
        raise errors.checked_in_self_service() if self_service else errors.checked_in_staff()
    if self_service and booking.starts_at <= booking.now:
        raise errors.session_past()
    await repo.mark_cancelled(booking_id, reason, staff_id)
    notices = [
        await repo.add_notice(booking_id, "booking_cancelled", f"booking_cancelled:{booking_id}")
    ]
    if booking.status == "waitlisted" and booking.waitlist_position is not None:
        await repo.close_waitlist_gap(session_id, booking.waitlist_position)
    elif booking.status == "confirmed":
        freed = await repo.release_seats(booking_id)
        if freed and bookable(gate):
            await fill_from_waitlist(db, repo, session_id)
    queue_notices(db, *notices)
    view = await repo.view(booking_id)
    assert view is not None
    return view


def bookable(gate: SessionGate) -> bool:
    return gate.session_status == "scheduled" and gate.starts_at > gate.now


async def fill_from_waitlist(
    db: AsyncSession, repo: BookingRepository, session_id: int
) -> list[int]:
    """Under the session lock: promotes whole parties from the head of the waiting list while
    the free seats hold the first party. Strictly in order: when the first party does not fit,
    nobody behind it moves up (a smaller party may not jump ahead; staff can still move anyone
    up by hand). A party is never split."""
    promoted: list[int] = []
    while (first := await repo.first_waitlisted(session_id)) is not None:
        booking_id, party_size = first
        seats = await repo.free_seats(session_id, party_size)
        if seats is None:
            break
        await repo.confirm_waitlisted(booking_id, seats)
        await repo.close_waitlist_gap(session_id, 1)
        queue_notices(
            db,
            await repo.add_notice(booking_id, "booking_promoted", f"booking_promoted:{booking_id}"),
        )
        promoted.append(booking_id)
    return promoted


async def promote_waiting(db: AsyncSession, session_id: int) -> list[int]:
    """Fills free seats from the waiting list, in order. Returns the promoted booking ids."""
    repo = BookingRepository(db)
    gate = await repo.lock_session(session_id)
    if gate is None or not bookable(gate):
        return []
    return await fill_from_waitlist(db, repo, session_id)


async def cancel_companion(
    db: AsyncSession,
    booking_id: int,
    position: int,
    *,
    staff_id: int | None,
    self_service: bool,
) -> BookingView:
    """One companion no longer comes: the party shrinks by one, a confirmed party gives back
    one seat, and the waiting list moves up if its first party now fits (a waiting party that
    shrinks may fit the free seats itself).

    A checked-in party stays whole: nobody may take a companion off it (409
    booking_checked_in), except staff once the session has started, who record that the
    companion did not come; the seat is then kept (it was the party's when the doors opened)
    and nobody is promoted."""
    repo = BookingRepository(db)
    session_id = await repo.session_of(booking_id)
    if session_id is None:
        raise errors.booking_not_found()
    gate = await repo.lock_session(session_id)
    booking = await repo.lock_booking(booking_id)
    if gate is None or booking is None:
        raise errors.booking_not_found()
    if booking.status == "cancelled":
        raise errors.already_cancelled()
    started = booking.starts_at <= booking.now
    absent_only = booking.checked_in_at is not None
    if absent_only and (self_service or not started):
        raise (
            errors.companion_checked_in_self_service()
            if self_service
            else (errors.companion_checked_in_staff())
        )
    if self_service and started:
        raise errors.session_past()
    if not await repo.cancel_companion(booking_id, position):
        raise errors.companion_not_found()
    if absent_only:
        view = await repo.view(booking_id)
        assert view is not None
        return view
    if booking.status == "confirmed":
        await repo.release_one_seat(booking_id)
    if bookable(gate):
        await fill_from_waitlist(db, repo, session_id)
    view = await repo.view(booking_id)
    assert view is not None
    return view


async def someone_waits(db: AsyncSession, session_id: int) -> bool:
    """Whether anyone is on the session's waiting list (a seat given back goes to them)."""
    return await BookingRepository(db).waitlist_count(session_id) > 0


async def sessions_needing_promotion(db: AsyncSession, limit: int = 200) -> list[int]:
    """Sessions whose waiting list should move up (the worker's self-healing cron)."""
    return await BookingRepository(db).sessions_needing_promotion(limit)


async def promote_booking(
    db: AsyncSession, booking_id: int, *, staff_id: int, override: bool = False
) -> BookingView:
    """Staff move one waitlisted person up; beyond the seats only with an explicit override."""
    repo = BookingRepository(db)
    session_id = await repo.session_of(booking_id)
    if session_id is None:
        raise errors.booking_not_found()
    await repo.lock_session(session_id)
    booking = await repo.lock_booking(booking_id)
    if booking is None:
        raise errors.booking_not_found()
    if booking.status != "waitlisted" or booking.waitlist_position is None:
        raise errors.not_waitlisted()
    seats = await repo.free_seats(session_id, booking.party_size)
    if seats is None and not override:
        raise errors.session_full()
    await repo.confirm_waitlisted(booking_id, seats or [], override=seats is None)
    await repo.close_waitlist_gap(session_id, booking.waitlist_position)
    queue_notices(
        db, await repo.add_notice(booking_id, "booking_promoted", f"booking_promoted:{booking_id}")
    )
    view = await repo.view(booking_id)
    assert view is not None
    return view


async def resize_session(db: AsyncSession, session_id: int, capacity: int) -> list[int]:
    """Sets the number of seats. Refused below the seats already taken; raising it promotes
    from the waiting list in order. Returns the promoted booking ids."""
    repo = BookingRepository(db)
    if await repo.lock_session(session_id) is None:
        raise errors.session_not_found()
    seats, _free, held = await repo.seat_counts(session_id)
    if capacity < held:
        raise errors.capacity_below_confirmed(held)
    if capacity > seats:
        first = await repo.max_seat_no(session_id) + 1
        await BookingRepository(db).add_seats(session_id, first, first + capacity - seats - 1)
    elif capacity < seats:
        await repo.remove_free_seats(session_id, keep=capacity)
    await repo.set_capacity(session_id, capacity)
    return await promote_waiting(db, session_id)
