"""A participant's timetable as an .ics: one VEVENT per meeting (company, table or join link).

UIDs are per meeting (`matching-meeting-<id>@<host>`), so a moved meeting updates the entry in
the person's calendar instead of adding a second one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from icalendar import Calendar, Event

from service.domain.matching.schemas import MeetingView


def timetable_ics(
    meetings: Sequence[MeetingView], *, title: str, base_url: str, now: datetime
) -> bytes:
    host = urlsplit(base_url).hostname or "localhost"
    calendar = Calendar()
    calendar.add("prodid", "-//NEXTワークしずおか//matching//JA")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    for m in meetings:
        event = Event()
        event.add("uid", f"matching-meeting-{m.id}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", m.starts_at)
        event.add("dtend", m.ends_at)
        event.add("summary", f"面談：{m.company}（{title}）")
        where = m.join_url or f"{m.place} テーブル{m.table}".strip()
        event.add("location", where)
        lines = [f"{m.company} との面談", f"テーブル（端末）：{m.table} {m.place}".rstrip()]
        if m.join_url:
            lines.append(f"参加用リンク：{m.join_url}")
        event.add("description", "\n".join(lines))
        calendar.add_component(event)
    return bytes(calendar.to_ical())
