"""Nightly housekeeping: tables that would otherwise grow forever."""

from __future__ import annotations

from typing import Any

import structlog

from service.domain.accounts.logins import purge_expired_tokens
from service.domain.bookings.idempotency import purge_idempotency_records
from service.domain.line.inbound import purge_old as purge_line_records
from workers.context import transaction

log = structlog.get_logger("workers.maintenance")


async def purge_expired_records(ctx: dict[str, Any]) -> dict[str, int]:
    """Idempotency records past the 24 hours the API promises, expired staff tokens, and LINE
    webhook events past their 30 days (with unusable link nonces and desk codes)."""
    async with transaction(ctx) as db:
        records = await purge_idempotency_records(db)
        tokens = await purge_expired_tokens(db)
        line = await purge_line_records(db)
    log.info("purged", idempotency_records=records, staff_tokens=tokens, **line)
    return {"idempotency_records": records, "staff_tokens": tokens, **line}
