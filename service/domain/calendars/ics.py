"""iCalendar (RFC 5545) documents, written line by line.

The icalendar library builds a property object per value and costs about a millisecond per
event in Python (seconds for a 5,000-session feed); the few property types used here are
written directly: TEXT escaped (backslash, semicolon, comma, newline), lines folded at 75
octets without splitting a UTF-8 character, times as local Asia/Tokyo with TZID or as UTC.
The Asia/Tokyo VTIMEZONE comes from icalendar, once. Every file is parsed back with icalendar,
vobject and khal in the tests."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from icalendar import Calendar, Event

from service.domain.calendars.repository import SessionEntry
from service.platform.local_time import TOKYO
from service.platform.settings import Settings

PRODID = "-//NEXTwork Shizuoka//Event booking//JA"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TZID = "Asia/Tokyo"


def clean_text(value: str) -> str:
    """Text as typed by staff, minus what RFC 5545 TEXT cannot carry (control characters);
    line breaks stay and are escaped."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def escape_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> bytes:
    """One content line, folded to at most 75 octets per physical line (RFC 5545 3.1)."""
    data = line.encode()
    if len(data) <= 75:
        return data + b"\r\n"
    parts: list[bytes] = []
    start, limit = 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:
            end -= 1  # never cut inside a UTF-8 sequence
        parts.append(data[start:end])
        start, limit = end, 74  # continuation lines start with a space
    return b"\r\n ".join(parts) + b"\r\n"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local(moment: datetime) -> str:
    return moment.astimezone(TOKYO).strftime("%Y%m%dT%H%M%S")


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return (
        "PT"
        + (f"{hours}H" if hours else "")
        + (f"{minutes}M" if minutes else "")
        + (f"{secs}S" if secs or not (hours or minutes) else "")
    )


def uid_domain(settings: Settings) -> str:
    return urlsplit(settings.base_url).hostname or "localhost"


def make_uid(settings: Settings, installation: uuid.UUID, kind: str, object_id: int) -> str:
    """Never derived from a secret (rotating SECRET_KEY changes no UID); the installation's
    own id keeps two installations on the same host name apart."""
    return f"{kind}-{object_id}-{installation}@{uid_domain(settings)}"


@dataclass(frozen=True)
class Reminder:
    trigger: datetime
    text: str


def alarms_for(entry: SessionEntry) -> list[Reminder]:
    """The day before at 9:00 Japan time and N minutes before the start, as the event says."""
    alarms: list[Reminder] = []
    start = entry.starts_at.astimezone(TOKYO)
    title = entry.title.strip()
    if entry.alarm_day_before:
        day_before = datetime.combine(start.date() - timedelta(days=1), time(9), tzinfo=TOKYO)
        alarms.append(Reminder(day_before, f"明日 {start:%H:%M}から：{title}"))
    minutes = entry.alarm_minutes_before
    if minutes:
        label = f"{minutes // 60}時間" if minutes % 60 == 0 else f"{minutes}分"
        alarms.append(
            Reminder(start - timedelta(minutes=minutes), f"{label}後に始まります：{title}")
        )
    return alarms


@lru_cache(maxsize=1)
def _tokyo_vtimezone() -> bytes:
    # icalendar knows how to turn the tz database entry into a VTIMEZONE; done once.
    calendar = Calendar()
    event = Event()
    event.add("dtstart", datetime(2026, 1, 1, tzinfo=TOKYO))
    calendar.add_component(event)
    calendar.add_missing_timezones()
    [timezone] = calendar.walk("VTIMEZONE")
    ical: bytes = timezone.to_ical()
    return ical


def location_of(entry: SessionEntry) -> str:
    if entry.venue_ward == "online" or not entry.venue_address.strip():
        return entry.venue_name.strip()
    return f"{entry.venue_name.strip()}, {entry.venue_address.strip()}"


class CalendarFile:
    """A VCALENDAR being written: the header, then add_event() per VEVENT."""

    def __init__(
        self, name: str, *, refresh: timedelta | None = None, method: str = "PUBLISH"
    ) -> None:
        self._chunks: list[bytes] = [
            fold("BEGIN:VCALENDAR"),
            fold(f"PRODID:{PRODID}"),
            fold("VERSION:2.0"),
            fold("CALSCALE:GREGORIAN"),
            fold(f"METHOD:{method}"),
            fold(f"X-WR-CALNAME:{escape_text(clean_text(name))}"),
            fold(f"X-WR-TIMEZONE:{_TZID}"),
        ]
        if refresh is not None:
            # Subscribed feeds: how often calendar apps should fetch them again.
            self._chunks.append(fold(f"REFRESH-INTERVAL;VALUE=DURATION:{_duration(refresh)}"))
            self._chunks.append(fold(f"X-PUBLISHED-TTL:{_duration(refresh)}"))
        # VTIMEZONE for Asia/Tokyo, so clients without the tz database read TZID right.
        self._chunks.append(_tokyo_vtimezone())

    def add_event(
        self,
        *,
        uid: str,
        entry: SessionEntry,
        summary: str,
        description: str,
        status: str,
        now: datetime,
        url: str | None = None,
        alarms: list[Reminder] | None = None,
        sequence: int | None = None,
        organizer: str | None = None,
    ) -> None:
        lines = [
            "BEGIN:VEVENT",
            f"UID:{escape_text(uid)}",
            f"DTSTAMP:{_utc(now)}",
            # A client that imported the file before takes it as newer only when SEQUENCE rose.
            f"SEQUENCE:{entry.revision if sequence is None else sequence}",
            f"CREATED:{_utc(entry.created_at)}",
            f"LAST-MODIFIED:{_utc(entry.last_modified)}",
            f"DTSTART;TZID={_TZID}:{_local(entry.starts_at)}",
            f"DTEND;TZID={_TZID}:{_local(entry.ends_at)}",
            f"SUMMARY:{escape_text(clean_text(summary))}",
            f"LOCATION:{escape_text(clean_text(location_of(entry)))}",
            f"DESCRIPTION:{escape_text(clean_text(description))}",
            f"STATUS:{status}",
        ]
        if entry.latitude is not None and entry.longitude is not None:
            lines.append(f"GEO:{entry.latitude:.6f};{entry.longitude:.6f}")
        if url:
            lines.append(f"URL:{url}")
        if organizer:
            # iTIP (RFC 5546) wants the organizer on a CANCEL.
            lines.append(f"ORGANIZER:mailto:{organizer}")
        for alarm in alarms or ():
            lines += [
                "BEGIN:VALARM",
                "ACTION:DISPLAY",
                f"DESCRIPTION:{escape_text(clean_text(alarm.text))}",
                f"TRIGGER;VALUE=DATE-TIME:{_utc(alarm.trigger)}",
                "END:VALARM",
            ]
        lines.append("END:VEVENT")
        self._chunks.append(b"".join(fold(line) for line in lines))

    def add_day_note(
        self, *, uid: str, day: date, summary: str, description: str, url: str, now: datetime
    ) -> None:
        """An all-day entry that blocks no time (TRANSPARENT): a reminder to staff, not a
        session."""
        lines = [
            "BEGIN:VEVENT",
            f"UID:{escape_text(uid)}",
            f"DTSTAMP:{_utc(now)}",
            f"DTSTART;VALUE=DATE:{day:%Y%m%d}",
            f"DTEND;VALUE=DATE:{day + timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{escape_text(clean_text(summary))}",
            f"DESCRIPTION:{escape_text(clean_text(description))}",
            "TRANSP:TRANSPARENT",
            f"URL:{url}",
            "END:VEVENT",
        ]
        self._chunks.append(b"".join(fold(line) for line in lines))

    def to_bytes(self) -> bytes:
        return b"".join([*self._chunks, fold("END:VCALENDAR")])
