"""The organizer console's rules for events and sessions: create, edit, publish, cancel.

Organizers and admins manage every event; co-host staff see the events their organization
co-hosts (and work their rosters) but do not create, edit, publish or cancel them.
Every change is written to the audit log in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.access import require_event, require_role
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import changed, record
from service.domain.accounts.repository import AccountRepository
from service.domain.bookings.service import queue_notices, resize_session
from service.domain.errors import Conflict, InvalidInput, NotFound
from service.domain.events.admin_repository import EventAdminRepository, EventRow
from service.domain.events.admin_schemas import (
    EventInput,
    FieldReader,
    OrganizationInput,
    SessionInput,
    VenueInput,
    validate_event_input,
    validate_reason,
)
from service.domain.events.enums import EVENT_STATUSES
from service.domain.events.models import Event, EventSession, Organization, Venue
from service.domain.events.repository import EventRepository
from service.domain.events.schemas import EventView, SessionView
from service.domain.events.service import get_event
from service.local_time import TOKYO

LIST_LIMIT = 500


def _event_not_found() -> NotFound:
    return NotFound("イベントが見つかりません。", code="event_not_found")


def _session_not_found() -> NotFound:
    return NotFound("回（日程）が見つかりません。", code="session_not_found")


@dataclass(frozen=True, slots=True)
class FormChoices:
    """What the event and session forms offer."""

    cohosts: list[Organization]
    employers: list[Organization]
    venues: list[Venue]


def _event_values(event: Event, cohost_ids: list[int], employer_ids: list[int]) -> dict[str, Any]:
    return {
        "title": event.title,
        "kind": event.kind,
        "sector": event.sector,
        "description": event.description,
        "tags": list(event.tags or []),
        "contact": event.contact,
        "what_to_bring": event.what_to_bring,
        "status": event.status,
        "cohost_ids": sorted(cohost_ids),
        "employer_ids": sorted(employer_ids),
    }


def _session_values(s: EventSession) -> dict[str, Any]:
    return {
        "event_id": s.event_id,
        "venue_id": s.venue_id,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "capacity": s.capacity,
        "waitlist_limit": s.waitlist_limit,
        "booking_opens_at": s.booking_opens_at,
        "booking_closes_at": s.booking_closes_at,
        "status": s.status,
        "cancel_reason": s.cancel_reason,
    }


async def list_events(
    db: AsyncSession,
    actor: Actor,
    *,
    status: str | None = None,
    title: str | None = None,
    include_past: bool = False,
) -> list[EventRow]:
    if status and status not in EVENT_STATUSES:
        raise InvalidInput(fields={"status": "状態の指定が正しくありません。"})
    if title and len(title) > 200:
        raise InvalidInput(fields={"q": "検索語が長すぎます。"})
    if not actor.sees_everything and actor.organization_id is None:
        return []
    return await EventAdminRepository(db).list_events(
        cohost_org_id=None if actor.sees_everything else actor.organization_id,
        status=status or None,
        title=title.strip() if title and title.strip() else None,
        upcoming_only=not include_past,
        limit=LIST_LIMIT,
    )


async def show_event(db: AsyncSession, actor: Actor, event_id: int) -> EventView:
    await require_event(AccountRepository(db), actor, event_id)
    try:
        return await get_event(db, event_id, include_unpublished=True)
    except NotFound:
        raise _event_not_found() from None


async def form_choices(db: AsyncSession, actor: Actor) -> FormChoices:
    require_role(actor, "organizer")
    repo = EventAdminRepository(db)
    orgs = await repo.organizations()
    return FormChoices(
        cohosts=[o for o in orgs if o.kind == "cohost"],
        employers=[o for o in orgs if o.kind == "employer"],
        venues=await repo.venues(),
    )


async def _organization_errors(
    repo: EventAdminRepository, cohost_ids: tuple[int, ...], employer_ids: tuple[int, ...]
) -> dict[str, str]:
    fields: dict[str, str] = {}
    for key, ids, kind, label in (
        ("cohost_ids", cohost_ids, "cohost", "共催団体"),
        ("employer_ids", employer_ids, "employer", "参加企業"),
    ):
        found = await repo.organizations_by_ids(ids)
        if len(found) != len(ids) or any(o.kind != kind for o in found):
            fields[key] = f"{label}の指定が正しくありません。"
    return fields


async def check_event_input(db: AsyncSession, data: Mapping[str, object]) -> EventInput:
    """The form or JSON body, checked field by field (co-hosts and employers against the
    database too), every bad field reported at once."""
    fields: dict[str, str] = {}
    valid: EventInput | None = None
    try:
        valid = validate_event_input(data)
    except InvalidInput as exc:
        fields.update(exc.fields)
    reader = FieldReader(data)
    cohost_ids, employer_ids = (
        reader.ids("cohost_ids", "共催団体"),
        reader.ids("employer_ids", "参加企業"),
    )
    for key, message in (
        await _organization_errors(EventAdminRepository(db), cohost_ids, employer_ids)
    ).items():
        fields.setdefault(key, message)
    if fields or valid is None:
        raise InvalidInput("入力内容に誤りがあります。項目をご確認ください。", fields=fields)
    return valid


async def _check_organizations(repo: EventAdminRepository, data: EventInput) -> None:
    fields = await _organization_errors(repo, data.cohost_ids, data.employer_ids)
    if fields:
        raise InvalidInput(fields=fields)


async def create_event(db: AsyncSession, actor: Actor, data: EventInput) -> int:
    require_role(actor, "organizer")
    repo = EventAdminRepository(db)
    await _check_organizations(repo, data)
    organizer = await repo.first_organizer()
    if organizer is None:
        raise Conflict(
            "主催団体が登録されていません。管理者に連絡してください。", code="no_organizer"
        )
    event = await repo.add_event(
        Event(
            title=data.title,
            kind=data.kind,
            sector=data.sector,
            description=data.description,
            tags=list(data.tags),
            contact=data.contact,
            what_to_bring=data.what_to_bring,
            status="draft",
            organizer_id=organizer.id,
        )
    )
    await EventRepository(db).set_organizations(
        event.id, cohost_ids=list(data.cohost_ids), employer_ids=list(data.employer_ids)
    )
    await record(
        AccountRepository(db),
        actor,
        "event.create",
        "event",
        event.id,
        after=_event_values(event, list(data.cohost_ids), list(data.employer_ids)),
    )
    return event.id


async def _locked_event(repo: EventAdminRepository, event_id: int) -> Event:
    event = await repo.event_for_update(event_id)
    if event is None:
        raise _event_not_found()
    return event


async def _org_ids(db: AsyncSession, event_id: int) -> tuple[list[int], list[int]]:
    view = await get_event(db, event_id, include_unpublished=True)
    return sorted(o.id for o in view.cohosts), sorted(o.id for o in view.employers)


async def update_event(db: AsyncSession, actor: Actor, event_id: int, data: EventInput) -> None:
    require_role(actor, "organizer")
    repo = EventAdminRepository(db)
    event = await _locked_event(repo, event_id)
    await _check_organizations(repo, data)
    before = _event_values(event, *await _org_ids(db, event_id))
    event.title = data.title
    event.kind = data.kind
    event.sector = data.sector
    event.description = data.description
    event.tags = list(data.tags)
    event.contact = data.contact
    event.what_to_bring = data.what_to_bring
    await db.flush()
    await EventRepository(db).set_organizations(
        event.id, cohost_ids=list(data.cohost_ids), employer_ids=list(data.employer_ids)
    )
    after = _event_values(event, list(data.cohost_ids), list(data.employer_ids))
    old, new = changed(before, after)
    if new:
        await record(
            AccountRepository(db), actor, "event.update", "event", event.id, before=old, after=new
        )


async def publish_event(db: AsyncSession, actor: Actor, event_id: int) -> None:
    require_role(actor, "organizer")
    repo = EventAdminRepository(db)
    event = await _locked_event(repo, event_id)
    if event.status == "published":
        return
    if event.status == "cancelled":
        raise Conflict("中止したイベントは公開できません。", code="event_cancelled")
    if not await repo.session_ids_of_event(event_id, status="scheduled"):
        raise Conflict(
            "公開するには、回（日程）を1つ以上登録してください。", code="event_has_no_sessions"
        )
    event.status = "published"
    await db.flush()
    await record(
        AccountRepository(db),
        actor,
        "event.publish",
        "event",
        event.id,
        before={"status": "draft"},
        after={"status": "published"},
    )


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
    await db.flush()
    await record(
        AccountRepository(db),
        actor,
        "event.cancel",
        "event",
        event.id,
        before={"status": before},
        after={"status": "cancelled", "reason": text_reason},
    )


async def _check_venue(repo: EventAdminRepository, venue_id: int) -> None:
    if await repo.venue(venue_id) is None:
        raise InvalidInput(fields={"venue_id": "会場を選んでください。"})


def _booking_window(
    data: SessionInput, now: datetime, current: EventSession | None = None
) -> tuple[datetime, datetime]:
    """Left empty, a new session takes bookings from today (Japan time) until it starts;
    an edited one keeps its window."""
    today = datetime.combine(now.astimezone(TOKYO).date(), time(0), tzinfo=TOKYO)
    default_opens = current.booking_opens_at if current else min(today, data.starts_at)
    default_closes = current.booking_closes_at if current else data.starts_at
    opens = data.booking_opens_at or default_opens
    closes = data.booking_closes_at or default_closes
    if closes <= opens:
        raise InvalidInput(fields={"booking_closes_at": "受付締切は受付開始より後にしてください。"})
    return opens, closes


async def add_session(db: AsyncSession, actor: Actor, event_id: int, data: SessionInput) -> int:
    require_role(actor, "organizer")
    repo = EventAdminRepository(db)
    event = await _locked_event(repo, event_id)
    if event.status == "cancelled":
        raise Conflict("中止したイベントには回を追加できません。", code="event_cancelled")
    await _check_venue(repo, data.venue_id)
    now = await repo.now()
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
        )
    )
    # The seats are what bookers claim; a session without them could never be booked.
    await EventRepository(db).add_seats(session.id, 1, data.capacity)
    await record(
        AccountRepository(db),
        actor,
        "session.create",
        "session",
        session.id,
        after=_session_values(session),
    )
    return session.id


async def _locked_session(repo: EventAdminRepository, session_id: int) -> EventSession:
    session = await repo.session_for_update(session_id)
    if session is None:
        raise _session_not_found()
    return session


async def update_session(
    db: AsyncSession, actor: Actor, session_id: int, data: SessionInput
) -> list[int]:
    """Changes a session. A smaller capacity than the confirmed bookings is refused; a larger
    one promotes from the waiting list in order. Returns the promoted booking ids."""
    require_role(actor, "organizer")
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
    opens, closes = _booking_window(data, await repo.now(), session)
    session.venue_id = data.venue_id
    session.starts_at = data.starts_at
    session.ends_at = data.ends_at
    session.waitlist_limit = data.waitlist_limit
    session.booking_opens_at = opens
    session.booking_closes_at = closes
    await db.flush()
    promoted: list[int] = []
    if data.capacity != session.capacity:
        promoted = await resize_session(db, session_id, data.capacity)
        await db.refresh(session)
    after = _session_values(session)
    old, new = changed(before, after)
    if promoted:
        new["promoted_booking_ids"] = promoted
    if new:
        await record(
            AccountRepository(db),
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
    if session.starts_at <= await repo.now():
        # People may already be checked in; their attendance is a record, not a booking.
        raise Conflict("始まった回や終わった回は中止にできません。", code="session_started")
    await repo.withdraw_free_seats(session_id)
    booking_ids, notice_ids = await repo.cancel_live_bookings(
        session_id, reason=reason, staff_id=actor.id
    )
    before = {"status": session.status, "waitlist_count": session.waitlist_count}
    session.status = "cancelled"
    session.cancelled_at = await repo.now()
    session.cancel_reason = reason
    session.waitlist_count = 0
    await db.flush()
    queue_notices(db, *notice_ids)
    await record(
        AccountRepository(db),
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


async def add_venue(db: AsyncSession, actor: Actor, data: VenueInput) -> int:
    require_role(actor, "organizer")
    repo = EventAdminRepository(db)
    if await repo.venue_named(data.name) is not None:
        message = "同じ名前の会場がすでにあります。"
        raise Conflict(message, code="venue_exists", fields={"name": message})
    venue = await repo.add_venue(Venue(name=data.name, address=data.address, ward=data.ward))
    await record(
        AccountRepository(db),
        actor,
        "venue.create",
        "venue",
        venue.id,
        after={"name": data.name, "address": data.address, "ward": data.ward},
    )
    return venue.id


async def add_organization(db: AsyncSession, actor: Actor, data: OrganizationInput) -> int:
    require_role(actor, "organizer")
    repo = EventAdminRepository(db)
    if await repo.organization_named(data.name) is not None:
        message = "同じ名前の団体がすでにあります。"
        raise Conflict(message, code="organization_exists", fields={"name": message})
    org = await repo.add_organization(Organization(name=data.name, kind=data.kind))
    await record(
        AccountRepository(db),
        actor,
        "organization.create",
        "organization",
        org.id,
        after={"name": data.name, "kind": data.kind},
    )
    return org.id


async def show_session(
    db: AsyncSession, actor: Actor, session_id: int
) -> tuple[EventView, SessionView]:
    repo = AccountRepository(db)
    event_id = await repo.event_id_of_session(session_id)
    if event_id is None:
        raise _session_not_found()
    try:
        event = await show_event(db, actor, event_id)
    except NotFound:
        raise _session_not_found() from None
    for session in event.sessions:
        if session.id == session_id:
            return event, session
    raise _session_not_found()
