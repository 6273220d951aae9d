"""Tasks that turn outbox notices into mails, and the crons that keep the outbox moving."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from service.domain import clock
from service.domain.notifications import service as notifications
from workers.context import settings_of, transaction


async def send_notification(ctx: dict[str, Any], notification_id: int) -> str:
    """Mail one notice. Safe to run twice: the second run finds it sent (or leased)."""
    outcome = await notifications.deliver(
        partial(transaction, ctx), settings_of(ctx), notification_id
    )
    return outcome.value


async def sweep_notifications(ctx: dict[str, Any]) -> int:
    """Every 30 s, at start, and for a rush of bookings (service/platform/jobs.py): enqueue every
    due notice, in case the enqueue after the booking's commit was lost (Redis down, process
    killed), a failed attempt is due again, or the worker sending it was killed (its lease ran
    out)."""
    async with transaction(ctx) as db:
        return await notifications.queue_due(db, time.time())


async def write_reminders(ctx: dict[str, Any]) -> int:
    """The reminders that are due; repeated runs add nothing (one per booking and day)."""
    async with transaction(ctx) as db:
        ids = await notifications.write_reminders(db, clock.now())
    return len(ids)


async def write_survey_invitations(ctx: dict[str, Any]) -> int:
    """The satisfaction survey for yesterday's attended consultations and seminars; repeated
    runs add nothing (one per booking)."""
    async with transaction(ctx) as db:
        ids = await notifications.write_survey_invitations(db, clock.now())
    return len(ids)
