"""The LINE channel's tasks: each webhook event processed once, a sweep for events whose job was
lost, and a staff news send."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from service.domain.line import inbound, news
from workers.context import settings_of, transaction


async def process_line_event(ctx: dict[str, Any], event_row_id: int) -> str:
    """One stored webhook event. Safe to run twice: the second run finds it processed."""
    return await inbound.process_event(partial(transaction, ctx), settings_of(ctx), event_row_id)


async def sweep_line_events(ctx: dict[str, Any]) -> int:
    """Every minute: events stored but not processed (a job lost with Redis, a killed worker)."""
    if not settings_of(ctx).line_enabled:
        return 0
    async with transaction(ctx) as db:
        return await inbound.queue_unprocessed(db, time.time())


async def send_line_news(ctx: dict[str, Any], send_id: int) -> str:
    """A news send staff asked for: one multicast per 500 people (or one broadcast)."""
    return await news.deliver(partial(transaction, ctx), settings_of(ctx), send_id)
