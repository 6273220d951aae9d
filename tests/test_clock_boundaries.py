"""Boundaries, with the domain's one clock (service.domain.clock) set exactly on them: the
booking window at opens_at and closes_at, "tomorrow" at midnight in Tokyo, and the retry
delays of a failed mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.bookings import service as rules
from service.domain.errors import Conflict
from service.domain.notifications import service as notifications
from service.domain.notifications.models import Notification
from service.domain.notifications.repository import NotificationRepository
from service.platform.local_time import TOKYO
from tests.factories import make_session, person

TICK = timedelta(microseconds=1)
OPENS = datetime(2026, 12, 1, 0, 0, tzinfo=TOKYO)
CLOSES = datetime(2026, 12, 10, 17, 0, tzinfo=TOKYO)


async def _windowed_session(db: AsyncSession) -> int:
    s = await make_session(db, starts_in=timedelta(days=400))
    await db.execute(
        text("UPDATE sessions SET booking_opens_at = :o, booking_closes_at = :c WHERE id = :s"),
        {"o": OPENS, "c": CLOSES, "s": s.id},
    )
    await db.commit()
    return s.id


@pytest.mark.parametrize(
    ("moment", "refused"),
    [
        (OPENS - TICK, "session_not_open"),
        (OPENS, None),
        (CLOSES - TICK, None),
        (CLOSES, "booking_closed"),
    ],
)
async def test_the_booking_window_is_opens_at_inclusive_to_closes_at_exclusive(
    db: AsyncSession, moment: datetime, refused: str | None
) -> None:
    session_id = await _windowed_session(db)
    with clock.frozen_at(moment):
        if refused is None:
            booked = await rules.book(db, session_id, person(1))
            assert booked.status == "confirmed"
        else:
            with pytest.raises(Conflict) as info:
                await rules.book(db, session_id, person(1))
            assert info.value.code == refused
    await db.commit()
    count = await db.scalar(text("SELECT count(*) FROM bookings"))
    assert count == (1 if refused is None else 0)


@pytest.mark.parametrize(
    ("moment", "tomorrow"),
    [
        (datetime(2026, 12, 1, 23, 59, 59, 999999, tzinfo=TOKYO), datetime(2026, 12, 2)),
        (datetime(2026, 12, 2, 0, 0, tzinfo=TOKYO), datetime(2026, 12, 3)),
        # 15:00 UTC is midnight in Tokyo: the UTC date is still the day before.
        (datetime(2026, 12, 1, 15, 0, tzinfo=UTC), datetime(2026, 12, 3)),
        (datetime(2026, 12, 1, 14, 59, 59, tzinfo=UTC), datetime(2026, 12, 2)),
    ],
)
def test_tomorrow_turns_at_midnight_in_tokyo(moment: datetime, tomorrow: datetime) -> None:
    start, end = notifications.tomorrow_in_tokyo(moment)
    assert start == tomorrow.replace(tzinfo=TOKYO)
    assert end - start == timedelta(days=1)


async def test_a_failed_mail_is_due_again_exactly_after_its_delay(db: AsyncSession) -> None:
    s = await make_session(db)
    booked = await rules.book(db, s.id, person(1, email=True))
    await db.commit()
    repo = NotificationRepository(db)
    notice_id = await db.scalar(
        text("SELECT id FROM notifications WHERE booking_id = :b"), {"b": booked.id}
    )
    failed_at = datetime.now(UTC) + timedelta(seconds=5)

    async def claim(notice_id: int) -> Notification | None:
        # Taking the lease is what a worker does before it talks to the SMTP server.
        return await repo.take_lease(notice_id, notifications.LEASE, "<clock-test@example.jp>")

    for attempts, delay in enumerate(notifications.RETRY_DELAYS):
        with clock.frozen_at(failed_at):
            notice = await claim(notice_id)
            assert notice is not None and notice.attempts == attempts
            await repo.mark_failed_attempt(notice, "smtp: down", notifications._retry_in(attempts))
        await db.commit()
        with clock.frozen_at(failed_at + delay - TICK):
            assert await claim(notice_id) is None
        await db.rollback()
        failed_at += delay
    with clock.frozen_at(failed_at):
        notice = await claim(notice_id)
        assert notice is not None and notice.attempts == len(notifications.RETRY_DELAYS)
        # The last allowed attempt fails for good: no delay, no retry.
        assert notifications._retry_in(notice.attempts) is None


def test_the_clock_refuses_a_naive_moment() -> None:
    with pytest.raises(ValueError), clock.frozen_at(datetime(2026, 12, 1)):
        pass
