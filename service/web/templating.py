"""Jinja2 environment: filters for dates in Asia/Tokyo and the programme's vocabularies."""

from __future__ import annotations

import re

from jinja2 import Environment

from service.domain.bookings.schemas import SessionSummary
from service.domain.events.enums import EVENT_KINDS, SECTORS, SUB_KINDS, WARDS
from service.domain.events.schemas import EventView, SessionView
from service.platform.local_time import jp_date, jp_time
from service.platform.settings import Settings
from service.web.calendar_links import google_calendar_url, google_calendar_url_for, map_url

# A phone number or a code written with hyphens (090-1234-5678, 1234-5678-9012): browsers
# break lines after a hyphen, and a number cut in two is misread.
_HYPHENATED_NUMBER = re.compile(r"\d+(?:[-‐－]\d+)+")


def number_parts(value: object) -> list[tuple[str, bool]]:
    """The text in parts, each hyphenated number one part marked True (the template keeps it
    on one line; every part is escaped by the template as usual)."""
    text = str(value)
    parts: list[tuple[str, bool]] = []
    at = 0
    for found in _HYPHENATED_NUMBER.finditer(text):
        if found.start() > at:
            parts.append((text[at : found.start()], False))
        parts.append((found.group(), True))
        at = found.end()
    if at < len(text):
        parts.append((text[at:], False))
    return parts


def configure_environment(env: Environment, settings: Settings) -> None:
    env.autoescape = True
    env.filters["number_parts"] = number_parts
    env.filters["jp_date"] = jp_date
    env.filters["jp_time"] = jp_time

    def google_calendar(event: EventView, s: SessionView) -> str:
        return google_calendar_url(event, s, settings.base_url)

    def google_calendar_for_booking(s: SessionSummary) -> str:
        return google_calendar_url_for(s, settings.base_url)

    feed = settings.base_url.rstrip("/") + "/events.ics"
    env.globals.update(
        # 「カレンダーアプリで購読」: webcal:// opens the calendar app; the https address is to
        # paste into one (Google Calendar takes only that).
        public_feed={"https": feed, "webcal": "webcal://" + feed.split("://", 1)[1]},
        google_calendar_url=google_calendar,
        google_calendar_url_for_booking=google_calendar_for_booking,
        map_url=map_url,
        # The console's LINE buttons show only when the desk's LINE account is connected.
        line_enabled=settings.line_enabled,
        desk={
            "name": settings.desk_name,
            "phone": settings.desk_phone,
            "hours": settings.desk_hours,
        },
        EVENT_KINDS=EVENT_KINDS,
        SECTORS=SECTORS,
        SUB_KINDS=SUB_KINDS,
        WARDS=WARDS,
    )
