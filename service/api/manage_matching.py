"""Staff API: matching days (/api/v1/manage/events/{id}/matching..., /manage/matching/...).

Company staff (role "company") reach the routes marked COMPANY, scoped by the guard to the
days their company takes part in and to their own company's id and meetings."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from service.domain.indicators.meeting_placements import (
    MeetingHire,
    correct_meeting_hire,
    record_meeting_hire,
    withdraw_meeting_hire,
)
from service.domain.matching import meetings, schedule, sending, service
from service.domain.matching.schemas import CompanyView, MatchingView, MeetingView, ScheduleView
from service.edge.dependencies import DB
from service.edge.staff_auth import Staff

COMPANY = {"staff_role": "company"}


class SettingsBody(msgspec.Struct, forbid_unknown_fields=True):
    slot_minutes: Annotated[int, msgspec.Meta(description="Length of one meeting (5-180).")]
    break_minutes: Annotated[int, msgspec.Meta(description="Pause between meetings (0-120).")]
    max_per_company: int
    max_per_person: int
    online: bool = False


class TableBody(msgspec.Struct, forbid_unknown_fields=True):
    place: str = ""
    join_url: str | None = None


class CompanyBody(msgspec.Struct, forbid_unknown_fields=True):
    organization_id: int
    brings: Annotated[str, msgspec.Meta(description="求人の内容 (面談会) or 経営課題 (交流会)")] = (
        ""
    )
    tables: Annotated[
        int | list[TableBody],
        msgspec.Meta(description="How many tables/terminals, or each with its place and link"),
    ] = 1


class RankedBody(msgspec.Struct, forbid_unknown_fields=True):
    ranked: list[int]


class ProfileBody(msgspec.Struct, forbid_unknown_fields=True):
    profile: str
    consent: bool


class MeetingBody(msgspec.Struct, forbid_unknown_fields=True):
    organization_id: int
    booking_id: int
    table_id: int
    slot: int


class MoveBody(msgspec.Struct, forbid_unknown_fields=True):
    slot: int
    table_id: int | None = None


class PlacementBody(msgspec.Struct, forbid_unknown_fields=True):
    started_on: Annotated[str, msgspec.Meta(description="The start month, 2026-04")]
    employment_type: Annotated[
        str, msgspec.Meta(description="regular, part_time, dispatch, silver, other")
    ]


class OutcomeBody(msgspec.Struct, forbid_unknown_fields=True):
    result: Annotated[str, msgspec.Meta(description="matched, considering, not_matched, absent")]
    note: str = ""


class SendResult(msgspec.Struct):
    notices: int


class Freed(msgspec.Struct):
    freed: int


def _raw(data: msgspec.Struct) -> dict[str, object]:
    raw: dict[str, object] = msgspec.to_builtins(data)
    return {k: v for k, v in raw.items() if v is not None}


class ManageMatchingController(Controller):
    path = "/events/{event_id:int}/matching"
    tags = ["staff: matching days"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @put("", status_code=HTTP_200_OK, summary="Turn matching on for an event, or change it")
    async def configure(
        self, db: DB, staff: Staff, event_id: FromPath[int], data: JSONBody[SettingsBody]
    ) -> MatchingView:
        return await service.configure(db, staff, event_id, _raw(data))

    @get(
        "", summary="Settings, companies, participants with profiles, choices, status", opt=COMPANY
    )
    async def show(self, db: DB, staff: Staff, event_id: FromPath[int]) -> MatchingView:
        return await service.view(db, staff, event_id)

    @post("/companies", status_code=HTTP_200_OK, summary="A company takes part (or changes)")
    async def add_company(
        self, db: DB, staff: Staff, event_id: FromPath[int], data: JSONBody[CompanyBody]
    ) -> CompanyView:
        raw = msgspec.to_builtins(data)
        return await service.add_company(db, staff, event_id, raw)

    @put(
        "/companies/{organization_id:int}/choices",
        summary="Whom a company wants to meet, in rank order (booking ids)",
        opt=COMPANY,
    )
    async def company_choices(
        self,
        db: DB,
        staff: Staff,
        event_id: FromPath[int],
        organization_id: FromPath[int],
        data: JSONBody[RankedBody],
    ) -> RankedBody:
        ranked = await service.set_company_choices(db, staff, event_id, organization_id, _raw(data))
        return RankedBody(ranked)

    @put(
        "/participants/{booking_id:int}/choices",
        summary="The companies a participant wants to meet, in rank order (organization ids)",
    )
    async def participant_choices(
        self,
        db: DB,
        staff: Staff,
        event_id: FromPath[int],
        booking_id: FromPath[int],
        data: JSONBody[RankedBody],
    ) -> RankedBody:
        ranked = await service.set_participant_choices(db, staff, event_id, booking_id, _raw(data))
        return RankedBody(ranked)

    @put(
        "/participants/{booking_id:int}/profile",
        status_code=HTTP_204_NO_CONTENT,
        summary="A phone registration's profile and consent, entered by staff",
    )
    async def participant_profile(
        self,
        db: DB,
        staff: Staff,
        event_id: FromPath[int],
        booking_id: FromPath[int],
        data: JSONBody[ProfileBody],
    ) -> None:
        await service.save_profile(db, staff, event_id, booking_id, msgspec.to_builtins(data))

    @post(
        "/participants/{booking_id:int}/absent",
        status_code=HTTP_200_OK,
        summary="A participant did not come: their meetings are removed (slots freed)",
    )
    async def absent(
        self, db: DB, staff: Staff, event_id: FromPath[int], booking_id: FromPath[int]
    ) -> Freed:
        return Freed(await meetings.mark_absent(db, staff, event_id, booking_id))

    @get(
        "/free-slots",
        summary="Free tables per slot still to come, with the company's next choices present",
    )
    async def free_slots(
        self, db: DB, staff: Staff, event_id: FromPath[int]
    ) -> list[meetings.FreeSlot]:
        return await meetings.free_slots(db, staff, event_id)

    @post(
        "/schedule",
        status_code=HTTP_202_ACCEPTED,
        summary="面談表を作成: the workers build the timetable (poll GET .../schedule)",
    )
    async def build(self, db: DB, staff: Staff, event_id: FromPath[int]) -> ScheduleView:
        return await schedule.request_build(db, staff, event_id)

    @get("/schedule", summary="The timetable (a company login: its own meetings)", opt=COMPANY)
    async def show_schedule(self, db: DB, staff: Staff, event_id: FromPath[int]) -> ScheduleView:
        return await schedule.schedule_view(db, staff, event_id)

    @post("/meetings", status_code=HTTP_200_OK, summary="Add a meeting by hand (hard rules hold)")
    async def add_meeting(
        self, db: DB, staff: Staff, event_id: FromPath[int], data: JSONBody[MeetingBody]
    ) -> MeetingView:
        return await meetings.add_meeting(db, staff, event_id, _raw(data))

    @post(
        "/send",
        status_code=HTTP_200_OK,
        summary="Send each participant their timetable (or a change notice)",
    )
    async def send(self, db: DB, staff: Staff, event_id: FromPath[int]) -> SendResult:
        return SendResult(await sending.send_timetables(db, staff, event_id))


class ManageMeetingsController(Controller):
    path = "/matching/meetings/{meeting_id:int}"
    tags = ["staff: matching days"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post("/outcome", status_code=HTTP_200_OK, summary="Record a meeting's outcome", opt=COMPANY)
    async def outcome(
        self, db: DB, staff: Staff, meeting_id: FromPath[int], data: JSONBody[OutcomeBody]
    ) -> MeetingView:
        return await meetings.record_outcome(db, staff, meeting_id, _raw(data))

    @post(
        "/placement",
        status_code=HTTP_200_OK,
        summary="Record that a matched participant was hired (a placement, counted once)",
        opt=COMPANY,
    )
    async def placement(
        self, db: DB, staff: Staff, meeting_id: FromPath[int], data: JSONBody[PlacementBody]
    ) -> MeetingHire:
        return await record_meeting_hire(db, staff, meeting_id, _raw(data))

    @put(
        "/placement",
        summary="Correct a recorded hire's start month or way of working (same fiscal year)",
        opt=COMPANY,
    )
    async def correct_placement(
        self, db: DB, staff: Staff, meeting_id: FromPath[int], data: JSONBody[PlacementBody]
    ) -> MeetingHire:
        return await correct_meeting_hire(db, staff, meeting_id, _raw(data))

    @delete(
        "/placement",
        status_code=HTTP_204_NO_CONTENT,
        summary="Withdraw a hire recorded by mistake (its placement is no longer counted)",
        opt=COMPANY,
    )
    async def withdraw_placement(self, db: DB, staff: Staff, meeting_id: FromPath[int]) -> None:
        await withdraw_meeting_hire(db, staff, meeting_id)

    @put("", summary="Move a meeting to another slot (and table) by hand")
    async def move(
        self, db: DB, staff: Staff, meeting_id: FromPath[int], data: JSONBody[MoveBody]
    ) -> MeetingView:
        return await meetings.move_meeting(db, staff, meeting_id, _raw(data))

    @delete("", status_code=HTTP_204_NO_CONTENT, summary="Remove a meeting")
    async def remove(self, db: DB, staff: Staff, meeting_id: FromPath[int]) -> None:
        await meetings.remove_meeting(db, staff, meeting_id)
