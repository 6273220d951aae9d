"""The read side of events: what is on, and how many seats are left."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.bookings import window
from service.domain.errors import InvalidInput, NotFound
from service.domain.events.enums import EVENT_KINDS, SECTORS, WARDS
from service.domain.events.models import Event, EventSession, Organization
from service.domain.events.repository import EventRepository
from service.domain.events.schemas import EventPage, EventView, OrgView, SessionView, VenueView
from service.platform.local_time import TOKYO

MAX_PER_PAGE = 100

DATE_MIN_YEAR = 2000
DATE_MAX_YEAR = 2100


_STATE_OF_REFUSAL = {
    window.CANCELLED: "cancelled",
    window.PAST: "past",
    window.NOT_OPEN: "not_yet_open",
    window.CLOSED: "closed",
}


def session_state(s: EventSession, now: datetime, free: int) -> str:
    """What the pages and the API show; the event is published (only those are listed)."""
    refused = window.refusal(
        event_status="published",
        session_status=s.status,
        opens_at=s.booking_opens_at,
        closes_at=s.booking_closes_at,
        starts_at=s.starts_at,
        now=now,
    )
    if refused is not None:
        return _STATE_OF_REFUSAL[refused]
    if free > 0:
        return "open"
    if s.waitlist_count < s.waitlist_limit:
        return "waitlist"
    return "full"


def _org(o: Organization) -> OrgView:
    return OrgView(id=o.id, name=o.name, kind=o.kind)


def _event_view(e: Event, counts: dict[int, tuple[int, int]], now: datetime) -> EventView:
    sessions = []
    for s in e.sessions:
        confirmed, free = counts.get(s.id, (0, 0))
        v = s.venue
        sessions.append(
            SessionView(
                id=s.id,
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                venue=VenueView(
                    v.id, v.name, v.address, v.ward, v.access_notes, v.barrier_free_notes
                ),
                capacity=s.capacity,
                confirmed=confirmed,
                seats_left=free,
                waitlist_length=s.waitlist_count,
                waitlist_limit=s.waitlist_limit,
                booking_opens_at=s.booking_opens_at,
                booking_closes_at=s.booking_closes_at,
                status=s.status,
                state=session_state(s, now, free),
                is_online=bool(s.is_online) or v.ward == "online",
            )
        )
    return EventView(
        id=e.id,
        title=e.title,
        description=e.description,
        kind=e.kind,
        sector=e.sector,
        tags=list(e.tags or []),
        sub_kind=e.sub_kind,
        status=e.status,
        organizer=_org(e.organizer),
        cohosts=[_org(o) for o in e.cohosts],
        employers=[_org(o) for o in e.employers],
        contact=e.contact,
        what_to_bring=e.what_to_bring,
        sessions=sessions,
        fee_yen=e.fee_yen,
        audience=e.audience,
        arrival_note=e.arrival_note,
        alarm_day_before=e.alarm_day_before,
        alarm_minutes_before=e.alarm_minutes_before,
        max_companions=e.max_companions,
        reminder_days=tuple(e.reminder_days or ()),
        call_reminders=e.call_reminders,
    )


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=TOKYO)


async def list_upcoming(
    db: AsyncSession,
    *,
    sector: str | None = None,
    kind: str | None = None,
    ward: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    per_page: int = 20,
) -> EventPage:
    """Published events with sessions still to come. date_to is inclusive (a Tokyo day)."""
    fields: dict[str, str] = {}
    if sector and sector not in SECTORS:
        fields["sector"] = "分野の指定が正しくありません。"
    if kind and kind not in EVENT_KINDS:
        fields["kind"] = "種類の指定が正しくありません。"
    if ward and ward not in WARDS:
        fields["ward"] = "区の指定が正しくありません。"
    if page < 1:
        fields["page"] = "ページ番号は1以上です。"
    if not 1 <= per_page <= MAX_PER_PAGE:
        fields["per_page"] = f"1ページの件数は1〜{MAX_PER_PAGE}です。"
    for name, day in (("date_from", date_from), ("date_to", date_to)):
        if day and not DATE_MIN_YEAR <= day.year <= DATE_MAX_YEAR:
            fields[name] = f"日付は{DATE_MIN_YEAR}年から{DATE_MAX_YEAR}年の間で指定してください。"
    if date_from and date_to and date_to < date_from:
        fields["date_to"] = "終了日は開始日より後にしてください。"
    if fields:
        raise InvalidInput(fields=fields)
    repo = EventRepository(db)
    now = clock.now()
    ids, total = await repo.search_published(
        now=now,
        sector=sector,
        kind=kind,
        ward=ward,
        date_from=_start_of(date_from) if date_from else None,
        date_to=_start_of(date_to + timedelta(days=1)) if date_to else None,
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    events = await repo.events_with_sessions(ids)
    counts = await repo.session_counts([s.id for e in events for s in e.sessions])
    return EventPage(
        items=[_event_view(e, counts, now) for e in events],
        total=total,
        page=page,
        per_page=per_page,
    )


async def get_event(
    db: AsyncSession, event_id: int, *, include_unpublished: bool = False
) -> EventView:
    repo = EventRepository(db)
    events = await repo.events_with_sessions([event_id])
    if not events or (events[0].status != "published" and not include_unpublished):
        raise NotFound("お探しのイベントは見つかりませんでした。", code="event_not_found")
    counts = await repo.session_counts([s.id for s in events[0].sessions])
    return _event_view(events[0], counts, clock.now())
