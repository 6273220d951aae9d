"""The programme's time zone: everything is shown in Asia/Tokyo."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")
WEEKDAYS = "月火水木金土日"


def jp_date(value: datetime) -> str:
    """12月1日（火）: the day as pages, mails and calendars show it."""
    local = value.astimezone(TOKYO)
    return f"{local.month}月{local.day}日（{WEEKDAYS[local.weekday()]}）"


def jp_time(value: datetime) -> str:
    local = value.astimezone(TOKYO)
    return f"{local.hour}:{local.minute:02d}"
