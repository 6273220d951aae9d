"""Links to outside services built from public event facts only (never a person's data): a
Google Calendar "add event" link beside the .ics file (what Android phones use), and a map
search for a venue's address. Ordinary links: no embedded map, no third-party script."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from service.domain.bookings.schemas import SessionSummary
from service.domain.events.schemas import EventView, SessionView

GOOGLE_CALENDAR = "https://calendar.google.com/calendar/render"
MAP_SEARCH = "https://www.google.com/maps/search/"


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _google(
    title: str, starts_at: datetime, ends_at: datetime, where: str, event_id: int, base_url: str
) -> str:
    query = {
        "action": "TEMPLATE",
        "text": title,
        "dates": f"{_utc(starts_at)}/{_utc(ends_at)}",
        "location": where,
        "details": f"{base_url}/events/{event_id}",
        "ctz": "Asia/Tokyo",
    }
    return f"{GOOGLE_CALENDAR}?{urlencode(query)}"


def _place(name: str, address: str, ward: str) -> str:
    return name if ward == "online" else f"{name} {address}".strip()


def google_calendar_url(event: EventView, s: SessionView, base_url: str) -> str:
    where = _place(s.venue.name, s.venue.address, s.venue.ward)
    return _google(event.title, s.starts_at, s.ends_at, where, event.id, base_url)


def google_calendar_url_for(s: SessionSummary, base_url: str) -> str:
    """The same link from a booking's session summary (the look-up page)."""
    where = _place(s.venue_name, s.venue_address, s.ward)
    return _google(s.event_title, s.starts_at, s.ends_at, where, s.event_id, base_url)


def map_url(address: str) -> str:
    return f"{MAP_SEARCH}?{urlencode({'api': '1', 'query': address})}"
