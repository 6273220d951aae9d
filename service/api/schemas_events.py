"""Response bodies of the events API: events, their sessions and live availability."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from service.domain.events.enums import EVENT_KINDS, SECTORS, WARDS
from service.domain.events.schemas import EventPage, EventView, OrgView, SessionView
from service.platform.local_time import TOKYO


class OrganizationOut(msgspec.Struct):
    id: int
    name: str
    kind: Annotated[str, Meta(description="`organizer`, `cohost` or `employer`.")]


class VenueOut(msgspec.Struct):
    id: int
    name: str
    address: str
    ward: str
    ward_label: str
    access_notes: str
    barrier_free_notes: str


class SessionOut(msgspec.Struct):
    id: Annotated[int, Meta(description="Book with POST /api/v1/sessions/{id}/bookings.")]
    starts_at: Annotated[datetime, Meta(description="Asia/Tokyo time with its offset.")]
    ends_at: datetime
    venue: VenueOut
    capacity: int
    confirmed: Annotated[int, Meta(description="Confirmed bookings.")]
    seats_left: int
    waitlist_length: Annotated[int, Meta(description="People on the waiting list now.")]
    waitlist_limit: Annotated[int, Meta(description="0: no waiting list.")]
    waitlist_left: int
    booking_opens_at: datetime
    booking_closes_at: datetime
    status: Annotated[str, Meta(description="`scheduled` or `cancelled`.")]
    state: Annotated[
        str,
        Meta(
            description="`open` (seats left), `waitlist` (full, waiting list open), `full`, "
            "`not_yet_open`, `closed`, `cancelled` or `past`."
        ),
    ]
    is_open: Annotated[bool, Meta(description="A booking would be taken now (open or waitlist).")]


class EventOut(msgspec.Struct):
    id: int
    title: str
    description: str
    kind: str
    kind_label: str
    sector: str
    sector_label: str
    tags: list[str]
    organizer: OrganizationOut
    cohosts: list[OrganizationOut]
    employers: list[OrganizationOut]
    contact: str
    what_to_bring: str
    sessions: list[SessionOut]
    fee_yen: Annotated[int, Meta(description="参加費 in yen; 0: free (無料).")] = 0
    audience: Annotated[str, Meta(description="対象: who the event is for; empty: anyone.")] = ""
    arrival_note: Annotated[
        str, Meta(description="来場の目安: when to come on a long consultation day.")
    ] = ""
    max_companions: Annotated[
        int, Meta(description="同伴者: how many companions one booking may bring (0: none).")
    ] = 1


class EventPageOut(msgspec.Struct):
    items: list[EventOut]
    total: int
    page: int
    per_page: int
    pages: int


def _org(o: OrgView) -> OrganizationOut:
    return OrganizationOut(id=o.id, name=o.name, kind=o.kind)


def _session(s: SessionView) -> SessionOut:
    v = s.venue
    return SessionOut(
        id=s.id,
        starts_at=s.starts_at.astimezone(TOKYO),
        ends_at=s.ends_at.astimezone(TOKYO),
        venue=VenueOut(
            id=v.id,
            name=v.name,
            address=v.address,
            ward=v.ward,
            ward_label=WARDS.get(v.ward, v.ward),
            access_notes=v.access_notes,
            barrier_free_notes=v.barrier_free_notes,
        ),
        capacity=s.capacity,
        confirmed=s.confirmed,
        seats_left=s.seats_left,
        waitlist_length=s.waitlist_length,
        waitlist_limit=s.waitlist_limit,
        waitlist_left=s.waitlist_left,
        booking_opens_at=s.booking_opens_at.astimezone(TOKYO),
        booking_closes_at=s.booking_closes_at.astimezone(TOKYO),
        status=s.status,
        state=s.state,
        is_open=s.bookable,
    )


def event_out(e: EventView) -> EventOut:
    return EventOut(
        id=e.id,
        title=e.title,
        description=e.description,
        kind=e.kind,
        kind_label=EVENT_KINDS.get(e.kind, e.kind),
        sector=e.sector,
        sector_label=SECTORS.get(e.sector, e.sector),
        tags=list(e.tags),
        organizer=_org(e.organizer),
        cohosts=[_org(o) for o in e.cohosts],
        employers=[_org(o) for o in e.employers],
        contact=e.contact,
        what_to_bring=e.what_to_bring,
        sessions=[_session(s) for s in e.sessions],
        fee_yen=e.fee_yen,
        audience=e.audience,
        arrival_note=e.arrival_note,
        max_companions=e.max_companions,
    )


def event_page_out(page: EventPage) -> EventPageOut:
    return EventPageOut(
        items=[event_out(e) for e in page.items],
        total=page.total,
        page=page.page,
        per_page=page.per_page,
        pages=page.pages,
    )
