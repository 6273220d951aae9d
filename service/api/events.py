"""GET /api/v1/events and /api/v1/events/{event_id}: what is on, with live availability."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, get
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, QueryParameter

from service.api.schemas_common import ErrorBody
from service.api.schemas_events import EventOut, EventPageOut, event_out, event_page_out
from service.domain.errors import InvalidInput, NotFound
from service.domain.events import service as events
from service.domain.events.enums import EVENT_KINDS, SECTORS, WARDS
from service.domain.text_rules import is_database_id
from service.edge.dependencies import DB

# Beyond what a bigint id or an OFFSET can hold, a request can only be a probe.
MAX_PAGE = 10_000


def _event_not_found() -> NotFound:
    return NotFound("お探しのイベントは見つかりませんでした。", code="event_not_found")


class EventsController(Controller):
    path = "/events"
    tags = ["events"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get(
        "/",
        summary="Published, upcoming events with their sessions and live availability",
        description="Soonest first. Filters combine; `date_from` and `date_to` are Tokyo days "
        "(inclusive) on which a session starts.",
        responses={422: ResponseSpec(ErrorBody, description="A filter is not valid")},
    )
    async def list_events(
        self,
        db: DB,
        sector: Annotated[
            str | None, QueryParameter(description="One of: " + ", ".join(SECTORS), required=False)
        ] = None,
        kind: Annotated[
            str | None,
            QueryParameter(description="One of: " + ", ".join(EVENT_KINDS), required=False),
        ] = None,
        ward: Annotated[
            str | None,
            QueryParameter(description="Venue ward, one of: " + ", ".join(WARDS), required=False),
        ] = None,
        date_from: Annotated[date | None, QueryParameter(description="YYYY-MM-DD")] = None,
        date_to: Annotated[date | None, QueryParameter(description="YYYY-MM-DD, inclusive")] = None,
        page: Annotated[int, QueryParameter(description="From 1.")] = 1,
        per_page: Annotated[int, QueryParameter(description="1 to 100.")] = 20,
    ) -> EventPageOut:
        if page > MAX_PAGE:
            raise InvalidInput(fields={"page": f"ページ番号は{MAX_PAGE}以下で指定してください。"})
        result = await events.list_upcoming(
            db,
            sector=sector or None,
            kind=kind or None,
            ward=ward or None,
            date_from=date_from,
            date_to=date_to,
            page=page,
            per_page=per_page,
        )
        return event_page_out(result)

    @get(
        "/{event_id:int}",
        summary="One published event with its sessions and live availability",
        responses={404: ResponseSpec(ErrorBody, description="`event_not_found`")},
    )
    async def get_event(self, db: DB, event_id: FromPath[int]) -> EventOut:
        if not is_database_id(event_id):
            raise _event_not_found()
        return event_out(await events.get_event(db, event_id))
