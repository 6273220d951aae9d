"""Every page route handler, public and organizer."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from service.web.calendars import CalendarFiles
from service.web.manage import manage_page_handlers
from service.web.public_pages import PublicPages

web_handlers: list[ControllerRouterHandler] = [PublicPages, CalendarFiles]
web_handlers += manage_page_handlers
