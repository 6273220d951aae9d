"""The call list in the staff API: tasks to phone people who cannot get a mail, and one POST
per outcome of a call."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.status_codes import HTTP_200_OK

from service.domain import clock
from service.domain.notifications import calls
from service.domain.notifications.call_schemas import CallCounts, CallTaskView
from service.domain.rosters.schemas import RosterEntry
from service.edge.dependencies import DB
from service.edge.downloads import csv_download
from service.edge.staff_auth import Staff

# `state` is a name Litestar keeps for the app state: the query parameter is renamed.
StateQuery = Annotated[str | None, QueryParameter(name="state", required=False)]


class CallList(msgspec.Struct):
    counts: CallCounts
    tasks: list[CallTaskView]


class ManageCallsController(Controller):
    path = "/call-tasks"
    tags = ["staff: call list"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get(
        "/",
        summary="The call list (電話連絡リスト)",
        description=(
            "Notices that could not go by mail (no e-mail address, or the mail failed for "
            "good), each with the person, phone, what to tell them (`script`) and `due_at`. "
            "Sorted by urgency: open first, due by the end of today first, the sooner session "
            "first, a promotion from the waiting list before other notices. `day` (YYYY-MM-DD, "
            "Japan): open tasks due by its end and tasks handled on it; `state`: `open` "
            "(default), `done`, `declined`, `superseded` (a change told in a later task's call) "
            "or `all`."
        ),
    )
    async def list_tasks(
        self,
        db: DB,
        staff: Staff,
        day: FromQuery[str | None] = None,
        call_state: StateQuery = None,
    ) -> CallList:
        now = clock.now()
        parsed_day, parsed_state = calls.parse_filters(day, call_state)
        tasks = await calls.list_call_tasks(db, staff, now, day=parsed_day, state=parsed_state)
        return CallList(counts=await calls.call_counts(db, staff, now), tasks=tasks)

    @get("/export.csv", summary="The call list as CSV (Excel)")
    async def export(
        self,
        db: DB,
        staff: Staff,
        day: FromQuery[str | None] = None,
        call_state: StateQuery = None,
    ) -> Response[bytes]:
        parsed_day, parsed_state = calls.parse_filters(day, call_state)
        body = await calls.export_call_tasks(
            db, staff, clock.now(), day=parsed_day, state=parsed_state
        )
        return csv_download(body, "call-list.csv")


class ManageCallOutcomeController(Controller):
    path = "/bookings/{booking_id:int}/calls"
    tags = ["staff: call list"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        "/reached",
        status_code=HTTP_200_OK,
        summary="連絡済: the person was told; closes the booking's open call tasks",
    )
    async def reached(self, db: DB, staff: Staff, booking_id: FromPath[int]) -> RosterEntry:
        return await calls.call_outcome(db, staff, booking_id, "reached", clock.now())

    @post(
        "/no-answer",
        status_code=HTTP_200_OK,
        summary="不在（再度）: nobody answered; the tasks stay open, due again in 2 hours",
    )
    async def no_answer(self, db: DB, staff: Staff, booking_id: FromPath[int]) -> RosterEntry:
        return await calls.call_outcome(db, staff, booking_id, "no_answer", clock.now())

    @post(
        "/declined",
        status_code=HTTP_200_OK,
        summary="辞退: the person declines; cancels the booking (the waiting list moves up)",
    )
    async def declined(self, db: DB, staff: Staff, booking_id: FromPath[int]) -> RosterEntry:
        return await calls.call_outcome(db, staff, booking_id, "declined", clock.now())
