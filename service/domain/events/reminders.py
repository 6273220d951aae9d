"""When reminders go out, in one place: the event form's default and its limit, the model's
default and CHECK, the API's default and the workers' query all take these."""

from __future__ import annotations

from datetime import time, timedelta

# Days before a session that its reminders go out, unless the event says otherwise.
DEFAULT_REMINDER_DAYS: tuple[int, ...] = (3, 1)
# The earliest reminder an organizer may ask for, in days before the session.
REMINDER_DAYS_MAX = 14
# Reminders are due at this time (Asia/Tokyo) on their day.
REMINDER_SEND_TIME = time(9, 0)
# How far ahead the workers look for sessions that may owe a reminder: the earliest possible
# one, and a day more so that a worker down at the moment catches up.
REMINDER_HORIZON = timedelta(days=REMINDER_DAYS_MAX + 1)
