"""Public pages: the list of upcoming events."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, get
from litestar.response import Template

from service.dependencies import DB
from service.domain.events.repository import EventRepository


class PublicPages(Controller):
    include_in_schema = False

    @get("/", name="home")
    async def home(self, db: DB) -> Template:
        events = await EventRepository(db).upcoming_published(datetime.now(UTC))
        return Template(template_name="index.html", context={"events": events})
