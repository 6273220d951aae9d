"""iCalendar (RFC 5545) documents built with the icalendar library: it folds long lines and
escapes commas, semicolons and newlines in text values."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Event, vDuration

from service.domain import clock
from service.domain.calendars.repository import SessionEntry
from service.local_time import TOKYO
from service.settings import Settings

PRODID = "-//NEXTwork Shizuoka//Event booking//JA"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(value: str) -> str:
    """Text as typed by staff, minus what RFC 5545 TEXT cannot carry (control characters);
    line breaks stay and are escaped by the library."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def uid_domain(settings: Settings) -> str:
    return urlsplit(settings.base_url).hostname or "localhost"


def new_calendar(name: str, *, refresh: timedelta | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Asia/Tokyo")
    if refresh is not None:
        # Subscribed feeds: how often calendar apps should fetch them again.
        calendar.add("refresh-interval", vDuration(refresh), parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(refresh))
    return calendar


def location_of(entry: SessionEntry) -> str:
    if entry.venue_ward == "online" or not entry.venue_address.strip():
        return entry.venue_name.strip()
    return f"{entry.venue_name.strip()}, {entry.venue_address.strip()}"


def add_event(
    calendar: Calendar,
    *,
    uid: str,
    entry: SessionEntry,
    summary: str,
    description: str,
    status: str,
    url: str | None = None,
    now: datetime | None = None,
) -> None:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", (now or clock.now()).astimezone(UTC))
    event.add("dtstart", entry.starts_at.astimezone(TOKYO))
    event.add("dtend", entry.ends_at.astimezone(TOKYO))
    event.add("summary", clean_text(summary))
    event.add("location", clean_text(location_of(entry)))
    event.add("description", clean_text(description))
    event.add("status", status)
    if url:
        event.add("url", url)
    calendar.add_component(event)


def to_bytes(calendar: Calendar) -> bytes:
    # VTIMEZONE for Asia/Tokyo, so clients without the tz database read TZID right.
    calendar.add_missing_timezones()
    ical: bytes = calendar.to_ical()
    return ical
