"""Calendars domain: .ics files for a booking, the public feed and the staff feeds."""

from service.domain.calendars.tokens import (
    calendar_path,
    calendar_token,
    staff_feed_path,
    staff_feed_token,
    staff_feed_user_id,
)

__all__ = [
    "calendar_path",
    "calendar_token",
    "staff_feed_path",
    "staff_feed_token",
    "staff_feed_user_id",
]
