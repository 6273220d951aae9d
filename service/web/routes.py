"""Every page route handler, public and organizer."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from service.web.calendars import CalendarFiles
from service.web.public_pages import PublicPages

web_handlers: list[ControllerRouterHandler] = [PublicPages, CalendarFiles]
