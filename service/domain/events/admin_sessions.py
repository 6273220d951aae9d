"""The organizer console's rules for sessions: add, change (the booking window, the venue and
the capacity: a resize promotes from the waiting list), cancel (everyone booked is told).
Every change is written to the audit log in the same transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.access import require_role
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import changed, record
from service.domain.bookings import session_seats
from service.domain.bookings.errors import session_not_found
from service.domain.bookings.service import queue_notices, resize_session
from service.domain.errors import Conflict, InvalidInput, NotFound
from service.domain.events.admin_common import (
    _check_venue,
    _locked_event,
    _locked_session,
    _session_values,
)
from service.domain.events.admin_events import show_event
from service.domain.events.admin_repository import EventAdminRepository
from service.domain.events.admin_schemas import (
    SessionInput,
    validate_reason,
    validate_session_input,
)
from service.domain.events.models import EventSession
from service.domain.events.schemas import EventView, SessionView
from service.domain.events.session_changes import (
    NOTICED_FIELDS,
    ChangePreview,
    Snapshot,
    describe,
    snapshot,
)
from service.platform.local_time import TOKYO


def _booking_window(
    data: SessionInput, now: datetime, current: EventSession | None = None
) -> tuple[datetime, datetime]:
    """Left empty, a new session takes bookings from now (the form's hint says 「今から」, and the
    console shows this minute, not midnight) until it starts; an edited one keeps its window."""
    this_minute = now.astimezone(TOKYO).replace(second=0, microsecond=0)
    default_opens = current.booking_opens_at if current else min(this_minute, data.starts_at)
    default_closes = current.booking_closes_at if current else data.starts_at
    opens = data.booking_opens_at or default_opens
    closes = data.booking_closes_at or default_closes
    if closes <= opens:
        raise InvalidInput(fields={"booking_closes_at": "受付締切は受付開始より後にしてください。"})
    return opens, closes


async def add_session(
    db: AsyncSession, actor: Actor, event_id: int, raw: Mapping[str, object]
) -> int:
    require_role(actor, "organizer")
    data = validate_session_input(raw)
    repo = EventAdminRepository(db)
    event = await _locked_event(repo, event_id)
    if event.status == "cancelled":
        raise Conflict("中止したイベントには回を追加できません。", code="event_cancelled")
    await _check_venue(repo, data.venue_id)
    now = clock.now()
    if data.starts_at <= now:
        raise InvalidInput(fields={"starts_at": "開始日時は今より後にしてください。"})
    opens, closes = _booking_window(data, now)
    session = await repo.add_session(
        EventSession(
            event_id=event_id,
            venue_id=data.venue_id,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
            capacity=data.capacity,
            waitlist_limit=data.waitlist_limit,
            booking_opens_at=opens,
            booking_closes_at=closes,
            is_online=data.is_online,
            join_url=data.join_url,
            join_instructions=data.join_instructions,
        )
    )
    # The seats are what bookers claim; a session without them could never be booked.
    await session_seats.open_seats(db, session.id, data.capacity)
    await record(
        db,
        actor,
        "session.create",
        "session",
        session.id,
        after=_session_values(session),
    )
    return session.id


async def _snapshot(
    repo: EventAdminRepository,
    *,
    venue_id: int,
    starts_at: datetime,
    ends_at: datetime,
    is_online: bool,
    join_url: str | None,
) -> Snapshot:
    venue = await repo.venue(venue_id)
    return snapshot(
        starts_at=starts_at,
        ends_at=ends_at,
        venue_name=venue.name if venue else "",
        venue_ward=venue.ward if venue else "",
        is_online=is_online,
        join_url=join_url,
    )


async def _session_snapshot(repo: EventAdminRepository, s: EventSession) -> Snapshot:
    return await _snapshot(
        repo,
        venue_id=s.venue_id,
        starts_at=s.starts_at,
        ends_at=s.ends_at,
        is_online=s.is_online,
        join_url=s.join_url,
    )


async def preview_session_change(
    db: AsyncSession, actor: Actor, session_id: int, raw: Mapping[str, object]
) -> ChangePreview | None:
    """What saving this input would tell the people booked: the changed items (before →
    after) and how many bookings get a mail and how many a phone call. None when nobody would
    be told (no change of time, place or link, or nobody booked). Bad input is refused as
    update_session refuses it, so the form shows its errors before any question."""
    require_role(actor, "organizer")
    data = validate_session_input(raw)
    repo = EventAdminRepository(db)
    session = await repo.session(session_id)
    if session is None:
        raise session_not_found()
    await _check_venue(repo, data.venue_id)
    current = _session_values(session)
    wanted = {
        "starts_at": data.starts_at,
        "ends_at": data.ends_at,
        "venue_id": data.venue_id,
        "is_online": data.is_online,
        "join_url": data.join_url,
    }
    if session.status == "cancelled" or all(current[k] == wanted[k] for k in NOTICED_FIELDS):
        return None
    by_mail, by_phone = await repo.notice_reach(session_id)
    if by_mail + by_phone == 0:
        return None
    before = await _session_snapshot(repo, session)
    after = await _snapshot(
        repo,
        venue_id=data.venue_id,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        is_online=data.is_online,
        join_url=data.join_url,
    )
    return ChangePreview(describe(before, after, with_links=True), by_mail, by_phone)


async def update_session_after_warning(
    db: AsyncSession, actor: Actor, session_id: int, raw: Mapping[str, object], *, warned: bool
) -> ChangePreview | None:
    """The console's save: a change people booked must be told of is first shown to staff
    (what changes, who is told and how) and saved only once they confirm (`warned`). Returns
    the warning (nothing saved), or None once saved."""
    if not warned:
        preview = await preview_session_change(db, actor, session_id, raw)
        if preview is not None:
            return preview
    await update_session(db, actor, session_id, raw)
    return None


async def session_reach(db: AsyncSession, actor: Actor, session_id: int) -> tuple[int, int]:
    """(by mail, by phone): how a notice to everyone booked on the session would reach them,
    for the cancel page's warning."""
    await show_session(db, actor, session_id)
    return await EventAdminRepository(db).notice_reach(session_id)


async def event_reach(db: AsyncSession, actor: Actor, event_id: int) -> tuple[int, int]:
    """(by mail, by phone) over the event's sessions still to come (the ones a cancel of the
    event cancels), for the event's cancel page."""
    await show_event(db, actor, event_id)
    return await EventAdminRepository(db).event_notice_reach(event_id)


async def update_session(
    db: AsyncSession, actor: Actor, session_id: int, raw: Mapping[str, object]
) -> list[int]:
    """Changes a session (resizes it, too): the raw input as the form or the API sent it. A
    smaller capacity than the confirmed bookings is refused; a larger one promotes from the
    waiting list in order. A new time, place or link is told to everyone booked, with what it
    was before. Returns the promoted booking ids."""
    require_role(actor, "organizer")
    data = validate_session_input(raw)
    repo = EventAdminRepository(db)
    session = await _locked_session(repo, session_id)
    if session.status == "cancelled":
        raise Conflict("中止した回は変更できません。", code="session_cancelled")
    await _check_venue(repo, data.venue_id)
    if data.waitlist_limit < session.waitlist_count:
        message = (
            "キャンセル待ちの上限を、いま待っている人数"
            f"（{session.waitlist_count}人）より少なくすることはできません。"
        )
        raise Conflict(
            message, code="waitlist_limit_below_waiting", fields={"waitlist_limit": message}
        )
    before = _session_values(session)
    place_before = await _session_snapshot(repo, session)
    opens, closes = _booking_window(data, clock.now(), session)
    session.venue_id = data.venue_id
    session.starts_at = data.starts_at
    session.ends_at = data.ends_at
    session.waitlist_limit = data.waitlist_limit
    session.booking_opens_at = opens
    session.booking_closes_at = closes
    session.is_online = data.is_online
    session.join_url = data.join_url
    session.join_instructions = data.join_instructions
    await repo.save()
    promoted: list[int] = []
    if data.capacity != session.capacity:
        promoted = await resize_session(db, session_id, data.capacity)
        await repo.reload(session)
    after = _session_values(session)
    old, new = changed(before, after)
    if promoted:
        new["promoted_booking_ids"] = promoted
    if any(k in new for k in NOTICED_FIELDS):
        # Everyone booked hears of the new time or place, and what it was (a mail, or a call
        # without e-mail).
        # One notice per saved change: the key carries the session's revision (raised by the
        # database on every such change), so a session moved back to a time it had before
        # (10:30, 10:00, 10:30 again) is told each time, not deduplicated into silence.
        await repo.reload(session)
        key = "-".join([str(session.revision), *(str(after[k]) for k in NOTICED_FIELDS)])
        place_after = await _session_snapshot(repo, session)
        notices = await repo.add_change_notices(
            session_id,
            hashlib.sha256(key.encode()).hexdigest()[:32],
            {"before": place_before, "after": place_after},
        )
        queue_notices(db, *notices)
        new["change_notices"] = len(notices)
    if new:
        await record(
            db,
            actor,
            "session.update",
            "session",
            session_id,
            before=old,
            after=new,
        )
    return promoted


async def cancel_session(db: AsyncSession, actor: Actor, session_id: int, reason: object) -> int:
    """Cancels the session; its bookings are kept, marked cancelled, and each booked person
    gets a notice. Returns how many bookings were cancelled."""
    require_role(actor, "organizer")
    return await _cancel_session(db, actor, session_id, validate_reason(reason))


async def _cancel_session(db: AsyncSession, actor: Actor, session_id: int, reason: str) -> int:
    repo = EventAdminRepository(db)
    session = await _locked_session(repo, session_id)
    if session.status == "cancelled":
        raise Conflict("この回はすでに中止になっています。", code="session_cancelled")
    if session.starts_at <= clock.now():
        # People may already be checked in; their attendance is a record, not a booking.
        raise Conflict("始まった回や終わった回は中止にできません。", code="session_started")
    await repo.withdraw_free_seats(session_id)
    booking_ids, notice_ids = await repo.cancel_live_bookings(
        session_id, reason=reason, staff_id=actor.id
    )
    before = {"status": session.status, "waitlist_count": session.waitlist_count}
    session.status = "cancelled"
    session.cancelled_at = clock.now()
    session.cancel_reason = reason
    session.waitlist_count = 0
    await repo.save()
    queue_notices(db, *notice_ids)
    await record(
        db,
        actor,
        "session.cancel",
        "session",
        session_id,
        before=before,
        after={
            "status": "cancelled",
            "reason": reason,
            "cancelled_booking_ids": booking_ids,
        },
    )
    return len(booking_ids)


async def show_session(
    db: AsyncSession, actor: Actor, session_id: int
) -> tuple[EventView, SessionView]:
    found = await EventAdminRepository(db).session(session_id)
    if found is None:
        raise session_not_found()
    event_id = found.event_id
    try:
        event = await show_event(db, actor, event_id)
    except NotFound:
        raise session_not_found() from None
    for session in event.sessions:
        if session.id == session_id:
            return event, session
    raise session_not_found()


async def cancel_event(db: AsyncSession, actor: Actor, event_id: int, reason: object) -> None:
    """Cancels the event and every session still scheduled, with a notice per booked person."""
    require_role(actor, "organizer")
    text_reason = validate_reason(reason)
    repo = EventAdminRepository(db)
    event = await _locked_event(repo, event_id)
    if event.status == "cancelled":
        raise Conflict("このイベントはすでに中止になっています。", code="event_cancelled")
    # Sessions already held (or under way) keep their bookings and attendance as they are.
    for session_id in await repo.session_ids_of_event(
        event_id, status="scheduled", not_started=True
    ):
        await _cancel_session(db, actor, session_id, text_reason)
    before = event.status
    event.status = "cancelled"
    await repo.save()
    await record(
        db,
        actor,
        "event.cancel",
        "event",
        event.id,
        before={"status": before},
        after={"status": "cancelled", "reason": text_reason},
    )


async def session_joining(db: AsyncSession, actor: Actor, session_id: int) -> dict[str, Any]:
    """The online fields of a session for its edit form (staff only: never on public views)."""
    await show_session(db, actor, session_id)
    session = await EventAdminRepository(db).session(session_id)
    if session is None:
        raise session_not_found()
    return {
        "is_online": "1" if session.is_online else "",
        "join_url": session.join_url or "",
        "join_instructions": session.join_instructions or "",
    }
