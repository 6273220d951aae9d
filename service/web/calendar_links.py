"""Links to outside services built from public event facts only (never a person's data): a
Google Calendar "add event" link beside the .ics file (what Android phones use), and a map
search for a venue's address. Ordinary links: no embedded map, no third-party script."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from service.domain.events.schemas import EventView, SessionView

GOOGLE_CALENDAR = "https://calendar.google.com/calendar/render"
MAP_SEARCH = "https://www.google.com/maps/search/"


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def google_calendar_url(event: EventView, s: SessionView, base_url: str) -> str:
    venue = s.venue
    where = venue.name if venue.ward == "online" else f"{venue.name} {venue.address}".strip()
    query = {
        "action": "TEMPLATE",
        "text": event.title,
        "dates": f"{_utc(s.starts_at)}/{_utc(s.ends_at)}",
        "location": where,
        "details": f"{base_url}/events/{event.id}",
        "ctz": "Asia/Tokyo",
    }
    return f"{GOOGLE_CALENDAR}?{urlencode(query)}"


def map_url(address: str) -> str:
    return f"{MAP_SEARCH}?{urlencode({'api': '1', 'query': address})}"
