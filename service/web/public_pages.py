"""Public pages: the list of upcoming events (with filters) and an event's details."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from litestar import Controller, get
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from service.domain import clock
from service.domain.events import service as events
from service.domain.events.enums import SECTORS, WARDS
from service.domain.events.schemas import EventView, SessionView
from service.edge.dependencies import DB, AppSettings
from service.platform.local_time import TOKYO
from service.web import page_drafts
from service.web.public_common import month_range, retention_period

PER_PAGE = 20
MONTHS_AHEAD = 6
# Query values are short codes; anything longer is not one of ours.
QueryText = Annotated[str | None, QueryParameter(max_length=20, required=False)]


@dataclass(frozen=True, slots=True)
class Filters:
    sector: str | None
    ward: str | None
    month: str | None

    def query(self, **overrides: object) -> str:
        params: dict[str, object] = {
            "sector": self.sector,
            "ward": self.ward,
            "month": self.month,
            **overrides,
        }
        pairs = {k: v for k, v in params.items() if v not in (None, "", 1)}
        return "?" + urlencode(pairs) if pairs else ""

    @property
    def any(self) -> bool:
        return bool(self.sector or self.ward or self.month)


@dataclass(frozen=True, slots=True)
class ListedEvent:
    event: EventView
    sessions: list[SessionView]


def month_options(today: date) -> list[tuple[str, str]]:
    options = []
    year, month = today.year, today.month
    for _ in range(MONTHS_AHEAD):
        options.append((f"{year:04d}-{month:02d}", f"{year}年{month}月"))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return options


def _known(value: str | None, choices: dict[str, str]) -> str | None:
    # A stale or mistyped link shows every event rather than an error page.
    return value if value in choices else None


def _shown_sessions(event: EventView, filters: Filters) -> list[SessionView]:
    span = month_range(filters.month) if filters.month else None
    shown = []
    for s in event.sessions:
        if s.state in ("past", "cancelled"):
            continue
        if filters.ward and s.venue.ward != filters.ward:
            continue
        if span and not span[0] <= s.starts_at.astimezone(TOKYO).date() <= span[1]:
            continue
        shown.append(s)
    return shown


class PublicPages(Controller):
    include_in_schema = False

    @get("/", name="home")
    async def home(
        self,
        db: DB,
        sector: QueryText = None,
        ward: QueryText = None,
        month: QueryText = None,
        page: Annotated[int, QueryParameter(ge=1, le=1000)] = 1,
    ) -> Template:
        today = clock.now().astimezone(TOKYO).date()
        months = month_options(today)
        filters = Filters(
            sector=_known(sector, SECTORS),
            ward=_known(ward, WARDS),
            month=month if month in dict(months) else None,
        )
        span = month_range(filters.month) if filters.month else None
        result = await events.list_upcoming(
            db,
            sector=filters.sector,
            ward=filters.ward,
            date_from=span[0] if span else None,
            date_to=span[1] if span else None,
            page=page,
            per_page=PER_PAGE,
        )
        listed = [ListedEvent(e, _shown_sessions(e, filters)) for e in result.items]
        return Template(
            template_name="index.html",
            context={
                "listed": listed,
                "result": result,
                "filters": filters,
                "months": months,
                "ignored_filter": bool(
                    (sector and not filters.sector)
                    or (ward and not filters.ward)
                    or (month and not filters.month)
                ),
            },
        )

    @get("/privacy", name="privacy")
    async def privacy(self, settings: AppSettings) -> Template:
        return Template(
            template_name="privacy.html",
            context={
                "retention": retention_period(settings.retention_months),
                # How long typed values wait for the next step (service/web/page_drafts.py).
                "draft_minutes": page_drafts.BOOKING.ttl_seconds // 60,
                "grant_minutes": page_drafts.GRANT.ttl_seconds // 60,
            },
        )

    @get("/accessibility", name="accessibility")
    async def accessibility(self) -> Template:
        return Template(template_name="accessibility.html")

    @get("/events/{event_id:int}", name="event_detail")
    async def event_detail(self, db: DB, event_id: FromPath[int]) -> Template:
        event = await events.get_event(db, event_id)
        upcoming = [s for s in event.sessions if s.state != "past"]
        return Template(
            template_name="event.html",
            context={"event": event, "sessions": upcoming, "ended": not upcoming},
        )
