"""Staff API: rosters, CSV export, check-in, no-shows, and bookings the desk makes or changes."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from service.api.schemas_bookings import CompanionIn
from service.api.schemas_common import IdempotencyKey
from service.domain.rosters import changes as booking_changes
from service.domain.rosters import service as rosters
from service.domain.rosters.csv_export import roster_csv, roster_filename
from service.domain.rosters.schemas import RosterEntry, SessionHeader
from service.edge.dependencies import DB
from service.edge.downloads import csv_download
from service.edge.staff_auth import Staff


class RosterOut(msgspec.Struct):
    session: SessionHeader
    confirmed: list[RosterEntry]
    waitlisted: list[RosterEntry]
    cancelled: list[RosterEntry]
    query: str


class PersonBody(msgspec.Struct, forbid_unknown_fields=True):
    """As the public booking form: name, reading, phone required; the rest optional."""

    name: str
    name_kana: str
    phone: str
    email: str | None = None
    age_band: str | None = None
    ward: str | None = None
    heard_from: str | None = None
    companions: list[CompanionIn] | None = None
    needs: str | None = None


class BookingPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields given change; `companions` replaces the list; email, needs, age_band,
    ward or heard_from null clears it. age_band, ward and heard_from take the booking body's
    vocabularies; they are audited but not told to the person."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    name_kana: str | msgspec.UnsetType = msgspec.UNSET
    phone: str | msgspec.UnsetType = msgspec.UNSET
    email: str | msgspec.UnsetType | None = msgspec.UNSET
    needs: str | msgspec.UnsetType | None = msgspec.UNSET
    age_band: str | msgspec.UnsetType | None = msgspec.UNSET
    ward: str | msgspec.UnsetType | None = msgspec.UNSET
    heard_from: str | msgspec.UnsetType | None = msgspec.UNSET
    companions: list[CompanionIn] | msgspec.UnsetType = msgspec.UNSET


class MoveBody(msgspec.Struct, forbid_unknown_fields=True):
    session_id: int


class WalkInBody(PersonBody, forbid_unknown_fields=True):
    override: bool = msgspec.field(default=False)


class PromoteBody(msgspec.Struct, forbid_unknown_fields=True):
    override: bool = False


class ReasonBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


class Marked(msgspec.Struct):
    session_id: int
    marked: int


def _person(data: PersonBody) -> dict[str, object]:
    values: dict[str, object] = msgspec.to_builtins(data)
    values.pop("override", None)
    return values


class ManageRosterController(Controller):
    path = "/sessions/{session_id:int}"
    tags = ["staff: rosters"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get(
        "/roster",
        summary="Confirmed (by reading), waitlisted (in order) and cancelled bookings",
        description="q searches name, reading (hiragana or katakana) and phone. Audited.",
    )
    async def roster(
        self,
        db: DB,
        staff: Staff,
        session_id: FromPath[int],
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
    ) -> RosterOut:
        r = await rosters.get_roster(db, staff, session_id, query=q)
        return RosterOut(r.session, r.confirmed, r.waitlisted, r.cancelled, r.query)

    @get(
        "/roster.csv",
        summary="The roster as CSV for Excel (UTF-8 with BOM, CRLF, formulas escaped). Audited.",
        media_type="text/csv; charset=utf-8",
    )
    async def roster_csv(self, db: DB, staff: Staff, session_id: FromPath[int]) -> Response[bytes]:
        r = await rosters.get_roster(db, staff, session_id, purpose="export")
        return csv_download(roster_csv(r), roster_filename(r))

    @post(
        "/phone-bookings",
        status_code=HTTP_201_CREATED,
        summary="Book for someone who phoned the desk (same rules and codes as the web)",
    )
    async def phone_booking(
        self,
        db: DB,
        staff: Staff,
        session_id: FromPath[int],
        data: JSONBody[PersonBody],
        idempotency_key: IdempotencyKey = None,
    ) -> RosterEntry:
        return await rosters.phone_booking(
            db, staff, session_id, _person(data), key=idempotency_key
        )

    @post(
        "/walk-ins",
        status_code=HTTP_201_CREATED,
        summary="Add someone at the door (当日参加), checked in at once",
        description="Beyond the capacity only with override: true (409 session_full otherwise).",
    )
    async def walk_in(
        self,
        db: DB,
        staff: Staff,
        session_id: FromPath[int],
        data: JSONBody[WalkInBody],
        idempotency_key: IdempotencyKey = None,
    ) -> RosterEntry:
        return await rosters.walk_in(
            db, staff, session_id, _person(data), override=data.override, key=idempotency_key
        )

    @post(
        "/no-shows",
        status_code=HTTP_200_OK,
        summary="After the session: mark everyone confirmed and not checked in as no-show",
    )
    async def mark_no_shows(self, db: DB, staff: Staff, session_id: FromPath[int]) -> Marked:
        count = await rosters.mark_remaining_no_shows(db, staff, session_id)
        return Marked(session_id=session_id, marked=count)


class ManageBookingController(Controller):
    path = "/bookings/{booking_id:int}"
    tags = ["staff: rosters"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/", summary="One booking with the person's details. Audited.")
    async def show(self, db: DB, staff: Staff, booking_id: FromPath[int]) -> RosterEntry:
        return await rosters.get_booking(db, staff, booking_id)

    @post("/check-in", status_code=HTTP_200_OK, summary="Check in (a second tap changes nothing)")
    async def check_in(self, db: DB, staff: Staff, booking_id: FromPath[int]) -> RosterEntry:
        return await rosters.check_in(db, staff, booking_id)

    @delete("/check-in", status_code=HTTP_200_OK, summary="Undo a check-in")
    async def undo_check_in(self, db: DB, staff: Staff, booking_id: FromPath[int]) -> RosterEntry:
        return await rosters.undo_check_in(db, staff, booking_id)

    @post("/no-show", status_code=HTTP_200_OK, summary="Mark a no-show (after the session)")
    async def no_show(self, db: DB, staff: Staff, booking_id: FromPath[int]) -> RosterEntry:
        return await rosters.mark_no_show(db, staff, booking_id)

    @delete("/no-show", status_code=HTTP_200_OK, summary="Undo a no-show mark")
    async def undo_no_show(self, db: DB, staff: Staff, booking_id: FromPath[int]) -> RosterEntry:
        return await rosters.undo_no_show(db, staff, booking_id)

    @post(
        "/promote",
        status_code=HTTP_200_OK,
        summary="Move a waitlisted person up (beyond the seats only with override)",
    )
    async def promote(
        self,
        db: DB,
        staff: Staff,
        booking_id: FromPath[int],
        data: JSONBody[PromoteBody | None] = None,
    ) -> RosterEntry:
        override = data.override if data else False
        return await rosters.promote(db, staff, booking_id, override=override)

    @post(
        "/companions/{position:int}/cancel",
        status_code=HTTP_200_OK,
        summary="Cancel one companion of a party (one seat back, the waiting list moves up)",
    )
    async def cancel_companion(
        self, db: DB, staff: Staff, booking_id: FromPath[int], position: FromPath[int]
    ) -> RosterEntry:
        return await rosters.cancel_companion_for(db, staff, booking_id, position)

    @post("/cancel", status_code=HTTP_200_OK, summary="Cancel for someone, with a reason")
    async def cancel(
        self, db: DB, staff: Staff, booking_id: FromPath[int], data: JSONBody[ReasonBody]
    ) -> RosterEntry:
        return await rosters.cancel_for(db, staff, booking_id, data.reason)

    @patch(
        "/",
        status_code=HTTP_200_OK,
        summary="Change a booking: name, reading, phone, e-mail, 配慮事項, companions",
        description=(
            "Fields given replace; `companions` replaces the list. A party that grows takes "
            "free seats only while nobody waits, else the whole party goes to the end of the "
            "waiting list (409 waitlist_full when it is full: nothing changes). The person is "
            "told (mail, or a call task without e-mail); audited."
        ),
    )
    async def change(
        self, db: DB, staff: Staff, booking_id: FromPath[int], data: JSONBody[BookingPatch]
    ) -> RosterEntry:
        values: dict[str, object] = msgspec.to_builtins(data)
        return await booking_changes.change_booking(db, staff, booking_id, values)

    @post(
        "/move",
        status_code=HTTP_200_OK,
        summary="Move a booking to another session of the same event",
        description=(
            "A seat there while seats last and nobody waits, else the end of its waiting list; "
            "the old seats go back and the old session's waiting list moves up. Audited; the "
            "person is told."
        ),
    )
    async def move(
        self, db: DB, staff: Staff, booking_id: FromPath[int], data: JSONBody[MoveBody]
    ) -> RosterEntry:
        return await booking_changes.move_booking(db, staff, booking_id, data.session_id)
