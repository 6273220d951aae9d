"""Whether a session can be booked at a moment: the one rule, read by the booking core (which
turns it into an error), the event pages (which show it as a state) and the benchmark floor.
The booking statement checks the same conditions in SQL (repository._OPEN), where the hot
path needs it in the same round trip."""

from __future__ import annotations

from datetime import datetime

# Why a session cannot be booked, in the order they are checked.
NOT_PUBLISHED = "event_not_published"
CANCELLED = "session_cancelled"
PAST = "session_past"
NOT_OPEN = "session_not_open"
CLOSED = "booking_closed"


def refusal(
    *,
    event_status: str,
    session_status: str,
    opens_at: datetime,
    closes_at: datetime,
    starts_at: datetime,
    now: datetime,
) -> str | None:
    """None when bookings are taken now: from opens_at (inclusive) to closes_at (exclusive),
    before the session starts, for a scheduled session of a published event."""
    if event_status != "published":
        return NOT_PUBLISHED
    if session_status == "cancelled":
        return CANCELLED
    if starts_at <= now:
        return PAST
    if now < opens_at:
        return NOT_OPEN
    if now >= closes_at:
        return CLOSED
    return None
