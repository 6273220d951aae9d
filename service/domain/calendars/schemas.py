"""Shapes the calendar feeds share between the adapters, the service and the repository."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FeedWindow:
    """Sessions starting in [starts_from, starts_before); cancelled ones only from
    cancelled_from (they stay a shorter while)."""

    starts_from: datetime
    cancelled_from: datetime
    starts_before: datetime
