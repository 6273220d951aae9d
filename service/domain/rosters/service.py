"""Rosters and the day itself: who is booked, check-in, walk-ins, no-shows, and the bookings
the desk makes or changes for people (by phone or in person).

Every change, and every look at a roster, is written to the audit log.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import jaconv
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.access import require_booking, require_event, require_session
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import record
from service.domain.bookings import errors as booking_errors
from service.domain.bookings import session_seats
from service.domain.bookings.codes import new_code
from service.domain.bookings.idempotency import KeyClaim, canonical, once
from service.domain.bookings.normalize import normalize_code
from service.domain.bookings.schemas import ValidBooking, validate_booking_input
from service.domain.bookings.service import (
    book,
    cancel_booking_by_id,
    cancel_companion,
    promote_booking,
    queue_notices,
)
from service.domain.errors import Conflict, InvalidInput, NotFound
from service.domain.events.admin_schemas import validate_reason
from service.domain.rosters.repository import BookingState, RosterRepository, Search
from service.domain.rosters.schemas import Roster, RosterEntry, SessionHeader

SEARCH_MAX = 100
PHONE_SCOPE = "rosters.phone_booking"
WALK_IN_SCOPE = "rosters.walk_in"
PROMOTE_NO_SEAT = (
    "空いている席が足りないため、繰り上げられませんでした（グループは全員そろって繰り上がります）。"
    "定員を超えて受け入れるときは「定員を超えて繰り上げる」を押してください。"
)
_DIGITS = re.compile(r"\d")
_CODE_SEPARATORS = re.compile(r"[\-‐‑‒–—―−ーｰ]")
# The last four digits of a code: what people read out when the paper is half torn.
CODE_TAIL = 4

# What the audit log keeps of a booking: its state, not the person's details.
_AUDITED = (
    "status",
    "waitlist_position",
    "channel",
    "checked_in_at",
    "no_show_at",
    "cancel_reason",
    "capacity_override",
    "party_size",
)


def _booking_not_found() -> NotFound:
    return NotFound("予約が見つかりません。", code="booking_not_found")


def _audit_state(entry: RosterEntry | None) -> dict[str, Any]:
    if entry is None:
        return {}
    values = asdict(entry)
    return {k: values[k] for k in _AUDITED}


def parse_search(raw: str | None) -> Search | None:
    """Name, reading (hiragana, katakana, half-width), phone digits, or the booking code (with
    or without hyphens, full-width, or its last four digits); spaces ignored."""
    if raw is None:
        return None
    value = "".join(unicodedata.normalize("NFKC", raw).split())
    if not value:
        return None
    if len(value) > SEARCH_MAX:
        raise InvalidInput(fields={"q": f"検索語は{SEARCH_MAX}文字以内で入力してください。"})
    digits = "".join(_DIGITS.findall(value))
    bare = _CODE_SEPARATORS.sub("", value)
    return Search(
        text=value,
        kana=jaconv.hira2kata(value),
        # A digit or two would match nearly every phone number.
        digits=digits if len(digits) >= 3 and len(digits) * 2 >= len(value) else None,
        code=normalize_code(value),
        code_tail=bare if len(bare) == CODE_TAIL and bare.isascii() and bare.isdigit() else None,
    )


async def _header(db: AsyncSession, actor: Actor, session_id: int) -> SessionHeader:
    await require_session(db, actor, session_id)
    header = await RosterRepository(db).header(session_id)
    if header is None:
        raise booking_errors.session_not_found()
    return header


async def session_header(db: AsyncSession, actor: Actor, session_id: int) -> SessionHeader:
    return await _header(db, actor, session_id)


async def get_roster(
    db: AsyncSession,
    actor: Actor,
    session_id: int,
    *,
    query: str | None = None,
    purpose: str = "view",
) -> Roster:
    """The session's confirmed (by reading), waitlisted (in order) and cancelled bookings.
    purpose is what the audit log records: view, print or export."""
    if purpose not in ("view", "print", "export"):
        raise ValueError(f"unknown purpose {purpose!r}")
    header = await _header(db, actor, session_id)
    search = parse_search(query)
    entries = await RosterRepository(db).entries(session_id, search)
    roster = Roster(
        session=header,
        confirmed=[e for e in entries if e.status == "confirmed"],
        waitlisted=[e for e in entries if e.status == "waitlisted"],
        cancelled=[e for e in entries if e.status == "cancelled"],
        query=search.text if search else "",
    )
    await record(
        db,
        actor,
        f"roster.{purpose}",
        "session",
        session_id,
        after={"query": roster.query, "rows": len(entries)},
    )
    return roster


async def get_booking(db: AsyncSession, actor: Actor, booking_id: int) -> RosterEntry:
    await require_booking(db, actor, booking_id)
    entry = await RosterRepository(db).entry(booking_id)
    if entry is None:
        raise _booking_not_found()
    await record(db, actor, "booking.view", "booking", booking_id)
    return entry


async def entry_of(db: AsyncSession, booking_id: int) -> RosterEntry | None:
    """A booking's roster line, for another area that has already checked the actor's access
    (the call list's outcomes): no access check and no audit entry of its own."""
    return await RosterRepository(db).entry(booking_id)


async def session_of_booking(db: AsyncSession, actor: Actor, booking_id: int) -> int:
    await require_booking(db, actor, booking_id)
    session_id = await session_seats.session_of(db, booking_id)
    if session_id is None:
        raise _booking_not_found()
    return session_id


async def _change(
    db: AsyncSession, actor: Actor, booking_id: int
) -> tuple[RosterRepository, BookingState, SessionHeader, RosterEntry]:
    """Locks the booking (after its session, the order the booking core uses)."""
    await require_booking(db, actor, booking_id)
    repo = RosterRepository(db)
    session_id = await session_seats.session_of(db, booking_id)
    if session_id is None:
        raise _booking_not_found()
    await session_seats.lock_session(db, session_id)
    state = await repo.lock_booking(booking_id)
    header = await repo.header(session_id)
    entry = await repo.entry(booking_id)
    if state is None or header is None or entry is None:
        raise _booking_not_found()
    return repo, state, header, entry


async def _audit_change(
    db: AsyncSession, actor: Actor, action: str, before: RosterEntry | None, booking_id: int
) -> RosterEntry:
    after = await RosterRepository(db).entry(booking_id)
    if after is None:
        raise _booking_not_found()
    old, new = _audit_state(before), _audit_state(after)
    keys = [k for k in new if old.get(k) != new.get(k)] or list(new)
    await record(
        db,
        actor,
        action,
        "booking",
        booking_id,
        before={k: old.get(k) for k in keys} if before else None,
        after={k: new[k] for k in keys},
    )
    return after


def _require_scheduled(header: SessionHeader) -> None:
    if header.status == "cancelled":
        raise Conflict("この回は中止になっています。", code="session_cancelled")


async def check_in(db: AsyncSession, actor: Actor, booking_id: int) -> RosterEntry:
    """One tap at the door. Tapping twice changes nothing; a person marked no-show who turns
    up late is checked in and the mark removed."""
    repo, state, header, entry = await _change(db, actor, booking_id)
    _require_scheduled(header)
    if state.status != "confirmed":
        raise Conflict(
            "予約が確定している人だけ受付できます。キャンセル待ちの人は先に繰り上げてください。",
            code="booking_not_confirmed",
        )
    if not header.is_day_of_or_later:
        raise Conflict("受付は開催日の当日からできます。", code="session_not_today")
    if state.checked_in_at is not None:
        return entry
    await repo.set_attendance(booking_id, checked_in=True, no_show=False)
    return await _audit_change(db, actor, "booking.check_in", entry, booking_id)


async def undo_check_in(db: AsyncSession, actor: Actor, booking_id: int) -> RosterEntry:
    """A cancelled session keeps who came as it was (checking in there is refused too)."""
    repo, state, header, entry = await _change(db, actor, booking_id)
    _require_scheduled(header)
    if state.checked_in_at is None:
        return entry
    await repo.set_attendance(booking_id, checked_in=False)
    return await _audit_change(db, actor, "booking.undo_check_in", entry, booking_id)


def _require_ended(header: SessionHeader) -> None:
    if not header.has_ended:
        raise Conflict("無断欠席は、回が終わってから記録できます。", code="session_not_ended")


async def mark_no_show(db: AsyncSession, actor: Actor, booking_id: int) -> RosterEntry:
    repo, state, header, entry = await _change(db, actor, booking_id)
    _require_scheduled(header)
    _require_ended(header)
    if state.status != "confirmed":
        raise Conflict("予約が確定している人だけ無断欠席にできます。", code="booking_not_confirmed")
    if state.checked_in_at is not None:
        raise Conflict(
            "受付済みの人は無断欠席にできません。先に受付を取り消してください。",
            code="already_checked_in",
        )
    if state.no_show_at is not None:
        return entry
    await repo.set_attendance(booking_id, no_show=True)
    return await _audit_change(db, actor, "booking.no_show", entry, booking_id)


async def undo_no_show(db: AsyncSession, actor: Actor, booking_id: int) -> RosterEntry:
    repo, state, _, entry = await _change(db, actor, booking_id)
    if state.no_show_at is None:
        return entry
    await repo.set_attendance(booking_id, no_show=False)
    return await _audit_change(db, actor, "booking.undo_no_show", entry, booking_id)


async def mark_remaining_no_shows(db: AsyncSession, actor: Actor, session_id: int) -> int:
    """After the session: everyone confirmed who neither checked in nor was marked."""
    header = await _header(db, actor, session_id)
    _require_scheduled(header)
    _require_ended(header)
    await session_seats.lock_session(db, session_id)
    repo = RosterRepository(db)
    ids = await repo.unattended_confirmed(session_id)
    await repo.mark_no_shows(ids)
    for booking_id in ids:
        await record(
            db,
            actor,
            "booking.no_show",
            "booking",
            booking_id,
            before={"no_show_at": None},
            after={"no_show_at": header.now, "bulk": True},
        )
    return len(ids)


async def phone_booking(
    db: AsyncSession,
    actor: Actor,
    session_id: int,
    data: Mapping[str, object],
    *,
    key: str | None = None,
) -> RosterEntry:
    """A booking the desk takes over the phone: the same first-come rules and codes as the
    public pages; e-mail is optional. A retry with the same key gets the first entry back."""

    async def run(_: KeyClaim | None) -> RosterEntry:
        await _header(db, actor, session_id)
        valid = validate_booking_input(data, email_required=False)
        view = await book(db, session_id, valid, channel="phone", staff_id=actor.id)
        return await _audit_change(db, actor, "booking.phone", None, view.id)

    parts = (str(actor.id), str(session_id), canonical(data))
    return (await once(db, PHONE_SCOPE, key, parts, RosterEntry, run)).value


def _walk_in_gate(header: SessionHeader) -> None:
    _require_scheduled(header)
    if header.event_status != "published":
        raise Conflict("公開していないイベントです。", code="event_not_published")
    if not header.is_day_of_or_later:
        raise Conflict(
            "当日参加は開催日の当日から受け付けます。それより前は電話予約で登録してください。",
            code="session_not_today",
        )
    if header.has_ended:
        raise Conflict("この回はすでに終了しています。", code="session_past")


def _walk_in_full(header: SessionHeader) -> Conflict:
    message = (
        f"定員（{header.capacity}人）に達しています。定員を超えて受け付けるときは、"
        "「定員を超えて受け付ける」にチェックを入れてください。"
    )
    return Conflict(message, code="session_full", fields={"override": message})


async def walk_in(
    db: AsyncSession,
    actor: Actor,
    session_id: int,
    data: Mapping[str, object],
    *,
    override: bool = False,
    key: str | None = None,
) -> RosterEntry:
    """Someone at the door without a booking (当日参加): a free seat if there is one, beyond
    the capacity only when staff explicitly override (recorded on the booking and in the
    audit log). Checked in at once. A retry with the same key gets the first entry back."""

    async def run(_: KeyClaim | None) -> RosterEntry:
        return await _walk_in(db, actor, session_id, data, override=override)

    parts = (str(actor.id), str(session_id), str(override), canonical(data))
    return (await once(db, WALK_IN_SCOPE, key, parts, RosterEntry, run)).value


async def _walk_in(
    db: AsyncSession,
    actor: Actor,
    session_id: int,
    data: Mapping[str, object],
    *,
    override: bool,
) -> RosterEntry:
    await _header(db, actor, session_id)
    valid: ValidBooking = validate_booking_input(data, email_required=False)
    # Under the session lock, like every other change to the session's seats.
    await session_seats.lock_session(db, session_id)
    repo = RosterRepository(db)
    header = await repo.header(session_id)
    if header is None:
        raise booking_errors.session_not_found()
    _walk_in_gate(header)
    if valid.party_size - 1 > header.max_companions:
        # The event's own limit, as for every booking (the form offers only that many rows).
        raise booking_errors.too_many_companions(header.max_companions)
    if await repo.live_booking_with_phone(session_id, valid.phone) is not None:
        message = "この電話番号で予約があります。名簿から探して受付してください。"
        raise Conflict(message, code="already_booked", fields={"phone": message})
    code = new_code()
    try:
        seated = await session_seats.seat_walk_in(
            db, session_id, code, valid, actor.id, override=override
        )
        if seated is None:
            raise _walk_in_full(header)
        booking_id, notice = seated
        await repo.set_attendance(booking_id, checked_in=True)
    except IntegrityError as exc:
        if (meaning := booking_errors.for_violation(exc)) is not None:
            raise meaning from None
        raise
    queue_notices(db, notice)
    entry = await _audit_change(db, actor, "booking.walk_in", None, booking_id)
    return entry


async def promote(
    db: AsyncSession, actor: Actor, booking_id: int, *, override: bool = False
) -> RosterEntry:
    """Moves a waitlisted person up to confirmed (beyond the seats only with override)."""
    await require_booking(db, actor, booking_id)
    before = await RosterRepository(db).entry(booking_id)
    if before is None:
        raise _booking_not_found()
    try:
        await promote_booking(db, booking_id, staff_id=actor.id, override=override)
    except Conflict as exc:
        if exc.code == "session_full":
            # Staff wording: the public 「満席のため…」 says nothing of what staff can do.
            raise Conflict(PROMOTE_NO_SEAT, code="session_full") from None
        raise
    return await _audit_change(db, actor, "booking.promote", before, booking_id)


async def cancel_for(
    db: AsyncSession, actor: Actor, booking_id: int, reason: object
) -> RosterEntry:
    """Cancels a booking on someone's behalf; the reason is required and recorded."""
    await require_booking(db, actor, booking_id)
    text_reason = validate_reason(reason)
    before = await RosterRepository(db).entry(booking_id)
    if before is None:
        raise _booking_not_found()
    await cancel_booking_by_id(db, booking_id, staff_id=actor.id, reason=text_reason)
    return await _audit_change(db, actor, "booking.cancel", before, booking_id)


async def cancel_companion_for(
    db: AsyncSession, actor: Actor, booking_id: int, position: int
) -> RosterEntry:
    """One companion of a party no longer comes (told the desk by phone): one seat back, the
    waiting list moves up when its first party now fits."""
    await require_booking(db, actor, booking_id)
    before = await RosterRepository(db).entry(booking_id)
    if before is None:
        raise _booking_not_found()
    await cancel_companion(db, booking_id, position, staff_id=actor.id, self_service=False)
    # A checked-in party's companion is only recorded as not come (its seat is kept).
    action = "booking.companion_absent" if before.checked_in_at else "booking.companion_cancel"
    return await _audit_change(db, actor, action, before, booking_id)


async def needs_by_session(db: AsyncSession, actor: Actor, event_id: int) -> dict[int, int]:
    """How many live bookings of each session of the event asked for help at the door: a count
    for the event page (the texts themselves are on the roster)."""
    await require_event(db, actor, event_id)
    return await RosterRepository(db).needs_by_session(event_id)
