"""Retention: personal data of bookings whose session ended more than RETENTION_MONTHS ago is
purged (names, phones, e-mail addresses and comments replaced, person rows removed unless the
person was active since or asked to be kept informed: consent to news, not withdrawn). The
bookings themselves stay, with their status, check-in, channel and how the person heard, so
every count and compiled indicator stays exactly the same. Each batch is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.audit import record
from service.domain.indicators.retention_repository import RetentionRepository
from service.platform.local_time import TOKYO

BATCH = 2000


@dataclass(frozen=True, slots=True)
class PurgeOutcome:
    bookings: int
    persons: int


def months_before(moment: datetime, months: int) -> datetime:
    """The same Tokyo day and time `months` earlier (the month's last day when shorter)."""
    local = moment.astimezone(TOKYO)
    index = local.year * 12 + local.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    day = local.day
    while True:
        try:
            return local.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


async def purge_batch(db: AsyncSession, now: datetime, months: int) -> PurgeOutcome:
    """One batch in the caller's transaction; 0 bookings when nothing is due."""
    cutoff = months_before(now, months)
    repo = RetentionRepository(db)
    ids = await repo.due_bookings(cutoff, BATCH)
    if not ids:
        # Registered persons without bookings go by the same period of inactivity.
        return PurgeOutcome(0, await repo.remove_inactive_persons(cutoff, BATCH))
    person_ids = await repo.purge_bookings(ids)
    removed = await repo.remove_unreferenced_persons(person_ids, cutoff)
    await repo.clear_related(ids)
    await record(
        db,
        None,
        "retention.purge",
        "bookings",
        None,
        after={
            "sessions_ended_before": cutoff,
            "retention_months": months,
            "bookings": len(ids),
            "first_booking_id": ids[0],
            "last_booking_id": ids[-1],
            "persons_removed": removed,
        },
    )
    return PurgeOutcome(len(ids), removed)
