"""Tasks that turn outbox notices into mails, and the crons that keep the outbox moving."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from redis.asyncio import Redis

from service.domain import clock
from service.domain.notifications import batches
from service.domain.notifications import service as notifications
from workers.context import settings_of, transaction

RECEIPT_SECONDS = 7 * 24 * 3600


class RedisReceipts:
    """notifications.Receipts in the workers' Redis: one key per mail a server accepted while
    the database could not record it, kept a week (far longer than any outage)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    @staticmethod
    def _key(notification_id: int) -> str:
        return f"mail:accepted:{notification_id}"

    async def remember(self, notification_id: int, message_id: str) -> None:
        await self.redis.set(self._key(notification_id), message_id, ex=RECEIPT_SECONDS)

    async def accepted(self, notification_id: int) -> bool:
        return bool(await self.redis.exists(self._key(notification_id)))

    async def forget(self, notification_id: int) -> None:
        await self.redis.delete(self._key(notification_id))


async def send_notification(ctx: dict[str, Any], notification_id: int) -> str:
    """Mail one notice. Safe to run twice: the second run finds it sent (or leased)."""
    outcome = await notifications.deliver(
        partial(transaction, ctx), settings_of(ctx), notification_id, RedisReceipts(ctx["redis"])
    )
    return outcome.value


async def send_due_notices(ctx: dict[str, Any], kind: str) -> int:
    """The crons' reminders or survey invitations, in batches. Safe to run twice: each batch
    is leased, and a second run finds nothing due."""
    return await batches.deliver_due(
        partial(transaction, ctx), settings_of(ctx), kind, RedisReceipts(ctx["redis"])
    )


async def sweep_notifications(ctx: dict[str, Any]) -> int:
    """Every 30 s, at start, and for a rush of bookings (service/platform/jobs.py): enqueue every
    due notice, in case the enqueue after the booking's commit was lost (Redis down, process
    killed), a failed attempt is due again, or the worker sending it was killed (its lease ran
    out)."""
    async with transaction(ctx) as db:
        due = await notifications.queue_due(db, time.time())
    # After an SMTP outage: mail waiting for its next attempt goes once the server answers.
    recovered = await notifications.retry_after_recovery(
        partial(transaction, ctx), settings_of(ctx)
    )
    return due + recovered


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
