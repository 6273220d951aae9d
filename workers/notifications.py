"""Tasks that turn outbox notices into mails, and the crons that keep the outbox moving."""

from __future__ import annotations

from typing import Any

from service.domain import clock
from service.domain.notifications import service as notifications
from workers.context import settings_of, transaction


async def send_notification(ctx: dict[str, Any], notification_id: int) -> str:
    """Mail one notice. Safe to run twice: the second run finds it sent (or locked)."""
    async with transaction(ctx) as db:
        outcome = await notifications.deliver(db, settings_of(ctx), notification_id)
    return outcome.value


async def sweep_notifications(ctx: dict[str, Any]) -> int:
    """Every minute: enqueue due pending notices, in case the enqueue after the booking's commit
    was lost (Redis down, process killed) or a failed attempt is due again."""
    async with transaction(ctx) as db:
        ids = await notifications.due_notification_ids(db)
        notifications.queue_pending(db, ids)
    return len(ids)


async def write_reminders(ctx: dict[str, Any]) -> int:
    """Reminders for tomorrow's sessions; repeated runs add nothing (one per booking)."""
    async with transaction(ctx) as db:
        ids = await notifications.write_reminders(db, clock.now())
    return len(ids)


async def write_survey_invitations(ctx: dict[str, Any]) -> int:
    """The satisfaction survey for yesterday's attended consultations and seminars; repeated
    runs add nothing (one per booking)."""
    async with transaction(ctx) as db:
        ids = await notifications.write_survey_invitations(db, clock.now())
    return len(ids)
