"""Imports every model so that Base.metadata is complete (for Alembic and tests)."""

from service.db import Base
from service.domain.accounts.models import AuditEntry, StaffToken, StaffUser
from service.domain.bookings.models import Booking, IdempotencyRecord, Person
from service.domain.events.models import (
    Event,
    EventSession,
    Organization,
    SessionSeat,
    Venue,
    event_cohosts,
    event_employers,
)
from service.domain.notifications.models import Notification

__all__ = [
    "AuditEntry",
    "Base",
    "Booking",
    "Event",
    "EventSession",
    "IdempotencyRecord",
    "Notification",
    "Organization",
    "Person",
    "SessionSeat",
    "StaffToken",
    "StaffUser",
    "Venue",
    "event_cohosts",
    "event_employers",
]
