"""Self-healing: a seat left free while people wait (e.g. a capacity raised by hand in the
database, or a promotion that failed) is filled from the waiting list by the booking core."""

from __future__ import annotations

from typing import Any

import structlog

from service.domain.bookings.service import promote_waiting, sessions_needing_promotion
from workers.context import transaction

log = structlog.get_logger("workers.waiting_lists")


async def promote_waiting_lists(ctx: dict[str, Any]) -> int:
    async with transaction(ctx) as db:
        session_ids = await sessions_needing_promotion(db)
    promoted = 0
    for session_id in session_ids:
        # One transaction per session, so one failing session does not block the others.
        try:
            async with transaction(ctx) as db:
                ids = await promote_waiting(db, session_id)
        except Exception as exc:
            log.error("promote_waiting_failed", session_id=session_id, error=repr(exc))
            continue
        if ids:
            log.info("promoted_from_waiting_list", session_id=session_id, bookings=ids)
        promoted += len(ids)
    return promoted
