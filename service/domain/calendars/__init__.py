"""Calendars domain: .ics files for a booking, the public feed and the staff feeds."""

from service.domain.calendars.tokens import calendar_path, staff_feed_path

__all__ = ["calendar_path", "staff_feed_path"]
