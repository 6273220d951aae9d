"""Staff API: events, sessions, venues and organizations (/api/v1/manage/...)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from service.domain.events import admin_events, admin_places, admin_sessions
from service.domain.events.admin_schemas import (
    validate_organization_input,
    validate_venue_input,
)
from service.domain.events.reminders import DEFAULT_REMINDER_DAYS
from service.domain.events.schemas import EventRow, EventView
from service.edge.dependencies import DB
from service.edge.staff_auth import Staff

ORGANIZER = {"staff_role": "organizer"}


class EventBody(msgspec.Struct, forbid_unknown_fields=True):
    title: str
    kind: str
    sector: str
    description: str = ""
    tags: list[str] = msgspec.field(default_factory=list)
    contact: str = ""
    what_to_bring: str = ""
    fee_yen: int = 0
    audience: str = ""
    arrival_note: str = ""
    max_companions: Annotated[
        int, msgspec.Meta(description="Companions one booking may bring (0-5, 0: none).")
    ] = 1
    reminder_days: Annotated[
        list[int],
        msgspec.Meta(description="Days before a session that reminders go out, at 9:00 JST."),
    ] = msgspec.field(default_factory=lambda: list(DEFAULT_REMINDER_DAYS))
    call_reminders: Annotated[
        bool,
        msgspec.Meta(description="People without e-mail are phoned for the reminder."),
    ] = False
    cohost_ids: list[int] = msgspec.field(default_factory=list)
    employer_ids: list[int] = msgspec.field(default_factory=list)
    # middle_senior or side_job: the seminars the programme's report counts apart.
    sub_kind: str | None = None
    # Alarms in the attendee's .ics: the day before at 9:00, and this many minutes before the
    # start (null: none).
    alarm_day_before: bool = True
    alarm_minutes_before: int | None = 120


# A string rather than a datetime: "2025-10-21T10:00" (what a datetime-local input sends) is
# accepted too, and read as Japan time.
Moment = Annotated[
    str,
    msgspec.Meta(
        description="ISO 8601 date and time; without an offset it is Japan time",
        examples=["2025-10-21T10:00", "2025-10-21T10:00:00+09:00"],
    ),
]


class SessionBody(msgspec.Struct, forbid_unknown_fields=True):
    """Times are ISO 8601; without an offset they are read as Japan time. The booking window
    defaults to "from now until the start"."""

    venue_id: int
    starts_at: Moment
    ends_at: Moment
    capacity: int
    waitlist_limit: int = 0
    booking_opens_at: Moment | None = None
    booking_closes_at: Moment | None = None
    is_online: bool = False
    join_url: Annotated[
        str | None,
        msgspec.Meta(
            description="Online sessions: the join link, told only to confirmed people (done "
            "page, look-up, mails, call list), never on public pages, feeds or .ics files."
        ),
    ] = None
    join_instructions: str | None = None


class ReasonBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


class VenueBody(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    ward: str
    address: str = ""
    # WGS 84, both or neither; written as GEO in calendar files.
    latitude: float | None = None
    longitude: float | None = None


class OrganizationBody(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    kind: str


class Created(msgspec.Struct):
    id: int


class SessionUpdated(msgspec.Struct):
    id: int
    promoted_booking_ids: list[int]


class SessionCancelled(msgspec.Struct):
    id: int
    cancelled_bookings: int


class Choice(msgspec.Struct):
    id: int
    name: str
    kind: str


class VenueChoice(msgspec.Struct):
    id: int
    name: str
    address: str
    ward: str


class FormChoices(msgspec.Struct):
    cohosts: list[Choice]
    employers: list[Choice]
    venues: list[VenueChoice]


class ManageEventsController(Controller):
    path = "/events"
    tags = ["staff: events"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/", summary="Events (co-host staff: only those their organization co-hosts)")
    async def list_events(
        self,
        db: DB,
        staff: Staff,
        status: Annotated[
            str | None, QueryParameter(description="draft | published | cancelled")
        ] = None,
        q: Annotated[
            str | None, QueryParameter(description="part of the title", max_length=200)
        ] = None,
        include_past: FromQuery[bool] = False,
    ) -> list[EventRow]:
        return await admin_events.list_events(
            db, staff, status=status, title=q, include_past=include_past
        )

    @post("/", status_code=HTTP_201_CREATED, opt=ORGANIZER, summary="Create an event (draft)")
    async def create_event(self, db: DB, staff: Staff, data: JSONBody[EventBody]) -> Created:
        valid = await admin_events.check_event_input(db, msgspec.structs.asdict(data))
        return Created(id=await admin_events.create_event(db, staff, valid))

    @get("/{event_id:int}", summary="An event with its sessions and seat counts")
    async def show_event(self, db: DB, staff: Staff, event_id: FromPath[int]) -> EventView:
        return await admin_events.show_event(db, staff, event_id)

    @put("/{event_id:int}", opt=ORGANIZER, summary="Change an event, its co-hosts and employers")
    async def update_event(
        self, db: DB, staff: Staff, event_id: FromPath[int], data: JSONBody[EventBody]
    ) -> EventView:
        await admin_events.update_event(
            db,
            staff,
            event_id,
            await admin_events.check_event_input(db, msgspec.structs.asdict(data)),
        )
        return await admin_events.show_event(db, staff, event_id)

    @post("/{event_id:int}/publish", status_code=HTTP_200_OK, opt=ORGANIZER, summary="Publish")
    async def publish_event(self, db: DB, staff: Staff, event_id: FromPath[int]) -> EventView:
        await admin_events.publish_event(db, staff, event_id)
        return await admin_events.show_event(db, staff, event_id)

    @post(
        "/{event_id:int}/cancel",
        status_code=HTTP_200_OK,
        opt=ORGANIZER,
        summary="Cancel the event and all its sessions (bookings kept, each person notified)",
    )
    async def cancel_event(
        self, db: DB, staff: Staff, event_id: FromPath[int], data: JSONBody[ReasonBody]
    ) -> EventView:
        await admin_sessions.cancel_event(db, staff, event_id, data.reason)
        return await admin_events.show_event(db, staff, event_id)

    @post(
        "/{event_id:int}/sessions",
        status_code=HTTP_201_CREATED,
        opt=ORGANIZER,
        summary="Add a session (its seats are created with it)",
    )
    async def add_session(
        self, db: DB, staff: Staff, event_id: FromPath[int], data: JSONBody[SessionBody]
    ) -> Created:
        raw = msgspec.structs.asdict(data)
        return Created(id=await admin_sessions.add_session(db, staff, event_id, raw))


class ManageSessionsController(Controller):
    path = "/sessions"
    tags = ["staff: events"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @put(
        "/{session_id:int}",
        opt=ORGANIZER,
        summary="Change a session",
        description=(
            "A capacity below the confirmed bookings is refused (409 capacity_below_confirmed);"
            " a larger one promotes from the waiting list in order."
        ),
    )
    async def update_session(
        self, db: DB, staff: Staff, session_id: FromPath[int], data: JSONBody[SessionBody]
    ) -> SessionUpdated:
        raw = msgspec.structs.asdict(data)
        promoted = await admin_sessions.update_session(db, staff, session_id, raw)
        return SessionUpdated(id=session_id, promoted_booking_ids=promoted)

    @post(
        "/{session_id:int}/cancel",
        status_code=HTTP_200_OK,
        opt=ORGANIZER,
        summary="Cancel a session (bookings kept as cancelled, each booked person notified)",
    )
    async def cancel_session(
        self, db: DB, staff: Staff, session_id: FromPath[int], data: JSONBody[ReasonBody]
    ) -> SessionCancelled:
        count = await admin_sessions.cancel_session(db, staff, session_id, data.reason)
        return SessionCancelled(id=session_id, cancelled_bookings=count)


class ManageReferenceController(Controller):
    path = "/"
    tags = ["staff: events"]  # noqa: RUF012 - Litestar reads it as a class attribute
    opt = {"staff_role": "organizer"}  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/form-choices", summary="Co-hosts, employers and venues to choose from")
    async def form_choices(self, db: DB, staff: Staff) -> FormChoices:
        choices = await admin_events.form_choices(db, staff)
        return FormChoices(
            cohosts=[Choice(o.id, o.name, o.kind) for o in choices.cohosts],
            employers=[Choice(o.id, o.name, o.kind) for o in choices.employers],
            venues=[VenueChoice(v.id, v.name, v.address, v.ward) for v in choices.venues],
        )

    @post("/venues", status_code=HTTP_201_CREATED, summary="Add a venue")
    async def add_venue(self, db: DB, staff: Staff, data: JSONBody[VenueBody]) -> Created:
        valid = validate_venue_input(msgspec.structs.asdict(data))
        return Created(id=await admin_places.add_venue(db, staff, valid))

    @post("/organizations", status_code=HTTP_201_CREATED, summary="Add a co-host or employer")
    async def add_organization(
        self, db: DB, staff: Staff, data: JSONBody[OrganizationBody]
    ) -> Created:
        valid = validate_organization_input(msgspec.structs.asdict(data))
        return Created(id=await admin_places.add_organization(db, staff, valid))
