"""The organizer console's rules for events: list, show, create, edit, publish, cancel.

Organizers and admins manage every event; co-host staff see the events their organization
co-hosts (and work their rosters) but do not create, edit, publish or cancel them.
Every change is written to the audit log in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.access import require_event, require_role
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import changed, record
from service.domain.errors import Conflict, InvalidInput, NotFound
from service.domain.events.admin_common import LIST_LIMIT, _event_not_found, _locked_event
from service.domain.events.admin_repository import EventAdminRepository
from service.domain.events.admin_schemas import (
    EventInput,
    FieldReader,
    validate_event_input,
)
from service.domain.events.enums import EVENT_STATUSES
from service.domain.events.models import Event, Organization, Venue
from service.domain.events.repository import EventRepository
from service.domain.events.schemas import EventRow, EventView
from service.domain.events.service import get_event


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
        "sub_kind": event.sub_kind,
        "contact": event.contact,
        "what_to_bring": event.what_to_bring,
        "alarm_day_before": event.alarm_day_before,
        "alarm_minutes_before": event.alarm_minutes_before,
        "fee_yen": event.fee_yen,
        "audience": event.audience,
        "arrival_note": event.arrival_note,
        "max_companions": event.max_companions,
        "reminder_days": list(event.reminder_days or []),
        "call_reminders": event.call_reminders,
        "status": event.status,
        "cohost_ids": sorted(cohost_ids),
        "employer_ids": sorted(employer_ids),
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
    await require_event(db, actor, event_id)
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
            sub_kind=data.sub_kind,
            contact=data.contact,
            what_to_bring=data.what_to_bring,
            alarm_day_before=data.alarm_day_before,
            alarm_minutes_before=data.alarm_minutes_before,
            fee_yen=data.fee_yen,
            audience=data.audience,
            arrival_note=data.arrival_note,
            max_companions=data.max_companions,
            reminder_days=list(data.reminder_days),
            call_reminders=data.call_reminders,
            status="draft",
            organizer_id=organizer.id,
        )
    )
    await EventRepository(db).set_organizations(
        event.id, cohost_ids=list(data.cohost_ids), employer_ids=list(data.employer_ids)
    )
    await record(
        db,
        actor,
        "event.create",
        "event",
        event.id,
        after=_event_values(event, list(data.cohost_ids), list(data.employer_ids)),
    )
    return event.id


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
    event.sub_kind = data.sub_kind
    event.contact = data.contact
    event.what_to_bring = data.what_to_bring
    event.alarm_day_before = data.alarm_day_before
    event.alarm_minutes_before = data.alarm_minutes_before
    event.fee_yen = data.fee_yen
    event.audience = data.audience
    event.arrival_note = data.arrival_note
    event.max_companions = data.max_companions
    event.reminder_days = list(data.reminder_days)
    event.call_reminders = data.call_reminders
    await repo.save()
    await EventRepository(db).set_organizations(
        event.id, cohost_ids=list(data.cohost_ids), employer_ids=list(data.employer_ids)
    )
    after = _event_values(event, list(data.cohost_ids), list(data.employer_ids))
    old, new = changed(before, after)
    if new:
        await record(db, actor, "event.update", "event", event.id, before=old, after=new)


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
    await repo.save()
    await record(
        db,
        actor,
        "event.publish",
        "event",
        event.id,
        before={"status": "draft"},
        after={"status": "published"},
    )
