"""Reminders per event (3 and 1 days before at 9:00 Tokyo by default, once each, caught up after
an outage) and the change notice when staff move a session; a real worker and SMTP server."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.service import book
from service.domain.notifications import service as notifications
from service.platform.local_time import TOKYO
from service.platform.settings import Settings
from tests.factories import person
from tests.mail_support import (
    Mailbox,
    arq_pool,
    body_of,
    book_and_commit,
    run_worker,
    session_at,
    tokyo_day,
    with_smtp_port,
    worker_context,
)
from tests.manage_support import bearer, issue_token, make_staff
from tests.test_worker_notifications import subject_of
from workers.notifications import sweep_notifications


def at_nine(day: datetime, days_before: int, minutes: int = 5) -> datetime:
    """`minutes` after 9:00 Tokyo, `days_before` days before `day`."""
    local = day.astimezone(TOKYO).date() - timedelta(days=days_before)
    return datetime.combine(local, time(9), tzinfo=TOKYO) + timedelta(minutes=minutes)


async def send_all(settings: Settings) -> None:
    """The minute sweep, then the worker: every pending notice is handled."""
    async with worker_context(settings) as ctx:
        await sweep_notifications(ctx)
    await run_worker(settings)


async def reminder_keys(db: AsyncSession) -> list[str]:
    await db.rollback()
    rows = await db.scalars(
        text("SELECT dedup_key FROM notifications WHERE kind = 'reminder' ORDER BY id")
    )
    return list(rows)


async def test_reminders_at_3_and_1_days_go_out_once_each(
    db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    mail_settings = with_smtp_port(settings, port)
    starts = tokyo_day(5) + timedelta(hours=10)
    session = await session_at(db, starts)
    async with arq_pool(mail_settings) as redis:
        booked = await book_and_commit(db, redis, session.id, person(1, email=True))
        cancelled = await book_and_commit(db, redis, session.id, person(2, email=True))
    # Booked well before any reminder was due; one of them cancels.
    await db.execute(text("UPDATE bookings SET confirmed_at = confirmed_at - interval '20 days'"))
    await db.execute(
        text("UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE id = :b"),
        {"b": cancelled.id},
    )
    await db.commit()
    await run_worker(mail_settings)
    mailbox.messages.clear()

    # Before 9:00 three days before: nothing due yet.
    assert await notifications.write_reminders(db, at_nine(starts, 3, minutes=-5)) == []
    for _ in range(2):  # the cron and the worker run twice: still one reminder
        await notifications.write_reminders(db, at_nine(starts, 3))
        await db.commit()
        await send_all(mail_settings)
    assert await reminder_keys(db) == [f"reminder:{booked.id}:3"]
    for _ in range(2):
        await notifications.write_reminders(db, at_nine(starts, 1, minutes=30))
        await db.commit()
        await send_all(mail_settings)
    assert await reminder_keys(db) == [f"reminder:{booked.id}:3", f"reminder:{booked.id}:1"]
    assert len(mailbox.messages) == 2
    assert {m["To"] for m in mailbox.messages} == {"taro1@example.jp"}
    assert "ご予約のお知らせ" in subject_of(mailbox.messages[0])


async def test_a_worker_back_after_an_outage_sends_only_the_latest_due_reminder(
    db: AsyncSession,
) -> None:
    starts = tokyo_day(5) + timedelta(hours=10)
    session = await session_at(db, starts)
    view = await book(db, session.id, person(1, email=True))
    await db.execute(text("UPDATE bookings SET confirmed_at = confirmed_at - interval '20 days'"))
    await db.commit()
    # Down from before the 3-day reminder until 17:01 the day before: the 1-day one goes.
    await notifications.write_reminders(db, at_nine(starts, 1, minutes=8 * 60 + 1))
    await db.commit()
    assert await reminder_keys(db) == [f"reminder:{view.id}:1"]
    # Booked after a reminder was due: the confirmation said it all, no reminder for that day.
    late = await book(db, session.id, person(2, email=True))
    await db.commit()
    await notifications.write_reminders(db, datetime.now(TOKYO) + timedelta(minutes=1))
    await db.commit()
    assert f"reminder:{late.id}:1" not in await reminder_keys(db)


async def test_a_session_moved_by_staff_sends_one_change_notice_per_live_booking(
    client: AsyncClient, db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    mail_settings = with_smtp_port(settings, port)
    starts = tokyo_day(6) + timedelta(hours=10)
    session = await session_at(db, starts, capacity=1)
    session_id, venue_id = session.id, session.venue_id
    async with arq_pool(mail_settings) as redis:
        mailed = await book_and_commit(db, redis, session_id, person(1, email=True))
        phoned = await book_and_commit(db, redis, session_id, person(2))  # waitlisted
    await run_worker(mail_settings)
    mailbox.messages.clear()
    user = await make_staff(db, "organizer")
    headers = bearer(await issue_token(db, user))
    moved = starts + timedelta(days=1, hours=3)
    body = {
        "venue_id": venue_id,
        "starts_at": moved.isoformat(),
        "ends_at": (moved + timedelta(hours=2)).isoformat(),
        "capacity": 1,
        "waitlist_limit": 10,
    }
    for _ in range(2):  # saving the same change twice tells people once
        r = await client.put(f"/api/v1/manage/sessions/{session_id}", json=body, headers=headers)
        assert r.status_code == 200, r.text
    await send_all(mail_settings)

    kinds = await db.execute(
        text("SELECT booking_id, status FROM notifications WHERE kind = 'session_changed'")
    )
    assert {(r.booking_id, r.status) for r in kinds} == {
        (mailed.id, "sent"),
        (phoned.id, "skipped"),
    }
    [message] = mailbox.messages
    assert "変更のお知らせ" in subject_of(message)
    local = moved.astimezone(TOKYO)
    assert f"{local.month}月{local.day}日" in body_of(message)
    [task] = (await db.execute(text("SELECT booking_id, kind FROM call_tasks"))).all()
    assert (task.booking_id, task.kind) == (phoned.id, "session_changed")
