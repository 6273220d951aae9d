"""The programme's time zone: everything is shown in Asia/Tokyo."""

from __future__ import annotations

from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")
