"""Follow-up campaign mail: batches of leased targets, each sent over a few open SMTP
connections and marked in one statement (service.domain.followups.delivery)."""

from __future__ import annotations

from typing import Any

import structlog

from service.domain.followups import delivery
from workers.context import settings_of, transaction

log = structlog.get_logger("workers.followups")


async def send_follow_up_mails(ctx: dict[str, Any], campaign_id: int) -> int:
    """Until no mail of the campaign is due: lease a batch, send it, mark it. Returns the number
    sent by this run."""
    settings = settings_of(ctx)
    total = 0
    while True:
        async with transaction(ctx) as db:
            leases = await delivery.lease_batch(db, campaign_id)
        if not leases:
            break
        outcome = await delivery.deliver(settings, leases)
        async with transaction(ctx) as db:
            await delivery.record_batch(db, outcome)
        total += len(outcome.sent)
        if not outcome.sent:
            # Nothing got through (the mail server is away): stop; the sweep tries later.
            break
    async with transaction(ctx) as db:
        await delivery.finish(db, campaign_id)
    log.info("follow_up_mails_sent", campaign_id=campaign_id, sent=total)
    return total


async def sweep_follow_ups(ctx: dict[str, Any]) -> int:
    """Every few minutes: campaigns still sending (a job lost, a worker killed, a mail server
    that was away) are sent on."""
    async with transaction(ctx) as db:
        ids = await delivery.sending_campaigns(db)
    for campaign_id in ids:
        await send_follow_up_mails(ctx, campaign_id)
    return len(ids)
