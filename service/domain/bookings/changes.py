"""Staff changing a booking after it was made: the person's details, the party (companions
added or removed), 配慮事項, and a move to another session of the same event.

Seats follow the booking rules of service.py, under the same locks in the same order: the
session row (FOR NO KEY UPDATE), then the booking row (FOR UPDATE), then seats (SKIP LOCKED).
A party that grows takes free seats only while nobody waits and only all of them at once;
otherwise the whole party goes to the end of the waiting list, its seats go back, and the
waiting list moves up in order: a party is never split and nobody jumps the line. A move locks
both sessions in id order, so two moves in opposite directions cannot deadlock, and re-reads
the booking under the locks (a booking moved meanwhile answers try_again).

Each change writes one booking_changed notice in the same transaction (the outbox): the worker
mails it, or opens a call task when the person has no e-mail. Its payload names what changed.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field

import asyncpg
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import errors
from service.domain.bookings.changes_repository import ChangeRepository
from service.domain.bookings.repository import BookingRepository, LockedBooking, SessionGate
from service.domain.bookings.schemas import BookingView, ValidBooking, ValidCompanion
from service.domain.bookings.service import (
    bookable,
    fill_from_waitlist,
    gate_error,
    queue_notices,
)
from service.domain.errors import Conflict

# What changed, as the notice, the audit log and the console name it.
CHANGE_LABELS = {
    "name": "お名前",
    "name_kana": "ふりがな",
    "phone": "電話番号",
    "email": "メールアドレス",
    "needs": "配慮事項",
    "age_band": "年代",
    "ward": "お住まいの区",
    "heard_from": "知ったきっかけ",
    "companions": "同伴者",
    "session": "日時・会場",
    "status": "予約の状態",
}
# Kept for the programme's figures only: audited when staff correct them, but not told to the
# person (nothing they hold changes).
UNTOLD = frozenset({"age_band", "ward", "heard_from"})


def checked_in() -> Conflict:
    return Conflict(
        "受付済みの予約は、人数の変更や回の移動ができません。"
        "間違えて受付したときは、先に受付を取り消してください。",
        code="booking_checked_in",
    )


def other_event() -> Conflict:
    message = "同じイベントの別の回にだけ移せます。"
    return Conflict(message, code="other_event", fields={"session_id": message})


def same_session() -> Conflict:
    message = "すでにこの回の予約です。"
    return Conflict(message, code="same_session", fields={"session_id": message})


def session_started() -> Conflict:
    return Conflict(
        "この回はすでに始まっているか、終了しています。終わった回の予約は移せません。",
        code="session_past",
    )


@dataclass(frozen=True, slots=True)
class Changed:
    """The booking after the change, what changed (keys of CHANGE_LABELS), and who moved up
    from a waiting list because of it."""

    booking: BookingView
    changed: tuple[str, ...]
    promoted: tuple[int, ...] = field(default=())
    status_before: str = ""


def _same_party(before: BookingView, after: tuple[ValidCompanion, ...]) -> bool:
    return [(c.name, c.name_kana) for c in before.live_companions] == [
        (c.name, c.name_kana) for c in after
    ]


async def _notice(db: AsyncSession, booking_id: int, changed: tuple[str, ...]) -> None:
    told = [CHANGE_LABELS[c] for c in changed if c not in UNTOLD]
    if not told:
        return
    # The mail carries the booking's .ics again: a higher SEQUENCE, so calendars take it.
    await ChangeRepository(db).raise_sequence(booking_id)
    # Each change is its own notice: a random key, not a deterministic one, since two changes
    # of one booking are two things to tell (the job id is the notice's, so still run once).
    key = f"booking_changed:{booking_id}:{secrets.token_hex(8)}"
    nid = await ChangeRepository(db).add_change_notice(booking_id, key, {"changes": told})
    queue_notices(db, nid)


async def _lock(
    repo: BookingRepository, booking_id: int, *session_ids: int
) -> tuple[dict[int, SessionGate], LockedBooking]:
    """The sessions in id order, then the booking; try_again when the booking left the first
    session meanwhile (a move that committed while this one waited for the lock)."""
    gates: dict[int, SessionGate] = {}
    for sid in sorted(set(session_ids)):
        gate = await repo.lock_session(sid)
        if gate is None:
            raise errors.session_not_found()
        gates[sid] = gate
    booking = await repo.lock_booking(booking_id)
    if booking is None:
        raise errors.booking_not_found()
    if booking.session_id != session_ids[0]:
        raise errors.try_again()
    return gates, booking


async def lock_for_change(db: AsyncSession, booking_id: int) -> None:
    """Takes change_booking's locks (its session, then the booking) ahead of it, so that what
    a partial change is merged over is read under them: two clerks correcting different items
    at once each keep their change (the locks are held to the end of the transaction, and
    change_booking taking them again in the same order is a no-op)."""
    repo = BookingRepository(db)
    session_id = await repo.session_of(booking_id)
    if session_id is None:
        raise errors.booking_not_found()
    await _lock(repo, booking_id, session_id)


async def change_booking(
    db: AsyncSession, booking_id: int, new: ValidBooking, *, staff_id: int
) -> Changed:
    """Sets the person's details, 配慮事項 and companions to `new` (the whole booking as it
    should be). A party that grows beyond the free seats waits whole at the end of the list."""
    repo = BookingRepository(db)
    session_id = await repo.session_of(booking_id)
    if session_id is None:
        raise errors.booking_not_found()
    gates, locked = await _lock(repo, booking_id, session_id)
    gate = gates[session_id]
    before = await repo.view(booking_id)
    assert before is not None
    if before.status == "cancelled":
        raise errors.already_cancelled()
    changed = [
        k
        for k in ("name", "name_kana", "phone", "email", "needs")
        if getattr(before, k) != getattr(new, k)
    ]
    profile = await ChangeRepository(db).profile(booking_id)
    changed += [k for k in ("age_band", "ward", "heard_from") if profile[k] != getattr(new, k)]
    promoted: list[int] = []
    try:
        if changed:
            await ChangeRepository(db).set_details(booking_id, new, set(changed))
        if not _same_party(before, new.companions):
            changed.append("companions")
            promoted = await _change_party(db, repo, gate, locked, before, new.companions)
    except (IntegrityError, asyncpg.UniqueViolationError) as exc:
        if (meaning := errors.for_violation(exc)) is not None:
            raise meaning from None
        raise
    after = await repo.view(booking_id)
    assert after is not None
    if after.status != before.status:
        changed.append("status")
    if changed:
        await _notice(db, booking_id, tuple(changed))
    return Changed(after, tuple(changed), tuple(promoted), before.status)


def _no_place(gate: SessionGate) -> Conflict:
    return errors.session_full() if gate.waitlist_limit == 0 else errors.waitlist_full()


async def _change_party(
    db: AsyncSession,
    repo: BookingRepository,
    gate: SessionGate,
    locked: LockedBooking,
    before: BookingView,
    companions: tuple[ValidCompanion, ...],
) -> list[int]:
    if gate.session_status == "cancelled":
        raise errors.session_cancelled()
    if locked.checked_in_at is not None:
        raise checked_in()
    if len(companions) > gate.max_companions:
        raise errors.too_many_companions(gate.max_companions)
    changes = ChangeRepository(db)
    # Companions who stay keep their row (matched by name and reading); the others are
    # cancelled (kept as history) and the new ones added after them.
    wanted = Counter((c.name, c.name_kana) for c in companions)
    gone: list[int] = []
    for c in before.live_companions:
        if wanted[(c.name, c.name_kana)] > 0:
            wanted[(c.name, c.name_kana)] -= 1
        else:
            gone.append(c.position)
    kept = Counter((c.name, c.name_kana) for c in companions) - wanted
    added: list[ValidCompanion] = []
    for new in companions:
        key = (new.name, new.name_kana)
        if kept[key] > 0:
            kept[key] -= 1
        else:
            added.append(new)
    await changes.cancel_companions(before.id, gone)
    await changes.add_companions(before.id, added)
    size = 1 + len(companions)
    await changes.set_party_size(before.id, size)
    grow = size - locked.party_size
    if locked.status == "waitlisted":
        # Its place in the line is its arrival: kept. Smaller, it may fit the free seats now.
        return await fill_from_waitlist(db, repo, gate.id) if bookable(gate) else []
    if grow <= 0:
        await changes.release_seats(before.id, -grow)
        return await fill_from_waitlist(db, repo, gate.id) if bookable(gate) and grow else []
    # Free seats go to the people waiting first: taken only while nobody waits.
    seats = await repo.free_seats(gate.id, grow) if gate.waitlist_count == 0 else None
    if seats is not None:
        await changes.take_seats(before.id, seats)
        return []
    if not bookable(gate):
        raise errors.session_full()
    position = await changes.next_waitlist_position(gate.id)
    if position is None:
        raise _no_place(gate)
    await changes.release_seats(before.id, locked.party_size)
    await changes.place(before.id, gate.id, "waitlisted", position)
    return await fill_from_waitlist(db, repo, gate.id)


async def move_booking(
    db: AsyncSession, booking_id: int, target_id: int, *, staff_id: int
) -> Changed:
    """Moves a booking to another session of the same event: a seat there while seats last
    and nobody waits, else the end of its waiting list. The old seats go back and the old
    session's waiting list moves up, in the same transaction."""
    repo = BookingRepository(db)
    session_id = await repo.session_of(booking_id)
    if session_id is None:
        raise errors.booking_not_found()
    if target_id == session_id:
        raise same_session()
    gates, locked = await _lock(repo, booking_id, session_id, target_id)
    old, target = gates[session_id], gates[target_id]
    if target.event_id != old.event_id:
        raise other_event()
    if locked.status == "cancelled":
        raise errors.already_cancelled()
    if locked.checked_in_at is not None:
        raise checked_in()
    if locked.starts_at <= locked.now:
        raise session_started()
    if (problem := gate_error(target, locked.party_size)) is not None:
        raise problem
    changes = ChangeRepository(db)
    await changes.carry_sequence(booking_id, session_id, target_id)
    seats = (
        await repo.free_seats(target_id, locked.party_size) if target.waitlist_count == 0 else None
    )
    try:
        if seats is not None:
            await changes.place(booking_id, target_id, "confirmed", None)
        else:
            position = await changes.next_waitlist_position(target_id)
            if position is None:
                raise _no_place(target)
            await changes.place(booking_id, target_id, "waitlisted", position)
    except (IntegrityError, asyncpg.UniqueViolationError) as exc:
        if (meaning := errors.for_violation(exc)) is not None:
            raise meaning from None
        raise
    promoted: list[int] = []
    if locked.status == "waitlisted" and locked.waitlist_position is not None:
        await repo.close_waitlist_gap(session_id, locked.waitlist_position)
    elif await repo.release_seats(booking_id) and bookable(old):
        promoted = await fill_from_waitlist(db, repo, session_id)
    if seats is not None:
        await changes.take_seats(booking_id, seats)
    after = await repo.view(booking_id)
    assert after is not None
    changed = ("session", "status") if after.status != locked.status else ("session",)
    await _notice(db, booking_id, changed)
    return Changed(after, changed, tuple(promoted), locked.status)
