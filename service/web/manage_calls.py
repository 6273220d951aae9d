"""The call list page (電話連絡リスト): today's calls first, by urgency, each with one-tap
連絡済 / 不在（再度） / 辞退, and its CSV."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from service.domain import clock
from service.domain.errors import Conflict, InvalidInput
from service.domain.notifications import calls
from service.domain.notifications.call_schemas import (
    CALL_OUTCOMES,
    CALL_REASON_LABELS,
    CALL_STATE_LABELS,
)
from service.domain.notifications.call_scripts import CALL_KINDS
from service.edge.dependencies import DB
from service.edge.downloads import csv_download
from service.edge.staff_auth import Staff
from service.web.form_errors import rerender
from service.web.manage_common import done_message, page, see_other

# `state` is a name Litestar keeps for the app state: the query parameter is renamed.
StateQuery = Annotated[str | None, QueryParameter(name="state", required=False)]

OUTCOME_DONE = {
    "reached": "call_reached",
    "no_answer": "call_no_answer",
    "declined": "call_declined",
}


async def calls_page(
    db: DB,
    staff: Staff,
    *,
    day: str | None,
    state: str | None,
    flash: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Template:
    now = clock.now()
    try:
        parsed_day, parsed_state = calls.parse_filters(day, state)
    except InvalidInput as exc:
        parsed_day, parsed_state = None, "open"
        error = " ".join(exc.fields.values())
        status_code = 422
    tasks = await calls.list_call_tasks(db, staff, now, day=parsed_day, state=parsed_state)
    return page(
        "manage/calls.html",
        staff,
        status_code=status_code,
        flash=flash,
        error=error,
        tasks=tasks,
        counts=await calls.call_counts(db, staff, now),
        day=day or "",
        state=parsed_state or "all",
        CALL_KINDS=CALL_KINDS,
        CALL_OUTCOMES=CALL_OUTCOMES,
        CALL_STATE_LABELS=CALL_STATE_LABELS,
        CALL_REASON_LABELS=CALL_REASON_LABELS,
    )


class ManageCallPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/calls")
    async def list_calls(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        staff: Staff,
        day: FromQuery[str | None] = None,
        call_state: StateQuery = None,
    ) -> Template:
        return await calls_page(db, staff, day=day, state=call_state, flash=done_message(request))

    @get("/calls.csv")
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

    async def _outcome(
        self, db: DB, staff: Staff, booking_id: int, outcome: str
    ) -> Template | Redirect:
        try:
            await calls.call_outcome(db, staff, booking_id, outcome, clock.now())
        except Conflict as exc:
            return await rerender(
                db, exc, lambda r: calls_page(db, staff, day=None, state=None, error=r.message)
            )
        return see_other("/manage/calls", done=OUTCOME_DONE[outcome])

    @post("/bookings/{booking_id:int}/calls/reached", status_code=303)
    async def reached(self, db: DB, staff: Staff, booking_id: FromPath[int]) -> Template | Redirect:
        return await self._outcome(db, staff, booking_id, "reached")

    @post("/bookings/{booking_id:int}/calls/no-answer", status_code=303)
    async def no_answer(
        self, db: DB, staff: Staff, booking_id: FromPath[int]
    ) -> Template | Redirect:
        return await self._outcome(db, staff, booking_id, "no_answer")

    @post("/bookings/{booking_id:int}/calls/declined", status_code=303)
    async def declined(
        self, db: DB, staff: Staff, booking_id: FromPath[int]
    ) -> Template | Redirect:
        return await self._outcome(db, staff, booking_id, "declined")
