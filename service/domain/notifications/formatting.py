"""Dates and times as people read them (Asia/Tokyo, Japanese weekdays)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from service.platform.local_time import TOKYO, jp_date, jp_time

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def jp_when(starts_at: datetime, ends_at: datetime) -> str:
    """12月11日（金） 10:00〜15:00; the end date is repeated only when it is another day."""
    start, end = starts_at.astimezone(TOKYO), ends_at.astimezone(TOKYO)
    if start.date() == end.date():
        return f"{jp_date(start)} {jp_time(start)}〜{jp_time(end)}"
    return f"{jp_date(start)} {jp_time(start)}〜{jp_date(end)} {jp_time(end)}"


def one_line(text: str, limit: int) -> str:
    """Text made safe for a mail header or a one-line summary: no control characters or line
    breaks (header injection), whitespace collapsed, at most `limit` characters."""
    cleaned = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", text)).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
