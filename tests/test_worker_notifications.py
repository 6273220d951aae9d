"""The outbox end to end: the booking core writes a notice, a real arq worker (burst mode)
sends it to a real SMTP server on loopback."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.normalize import format_code
from service.domain.bookings.repository import BookingRepository
from service.domain.calendars import service as calendars
from service.domain.notifications import service as notifications
from service.platform.local_time import TOKYO
from service.platform.settings import Settings
from tests.factories import person
from tests.mail_support import (
    REFUSED_PREFIX,
    Mailbox,
    arq_pool,
    body_of,
    book_and_commit,
    dead_smtp,
    notices,
    run_worker,
    session_at,
    tokyo_day,
    with_smtp_port,
    worker_context,
)
from workers.notifications import send_notification, sweep_notifications, write_reminders
from workers.waiting_lists import promote_waiting_lists

WEEKDAYS = "月火水木金土日"


@pytest.fixture
def mailbox(smtp: tuple[Mailbox, int]) -> Mailbox:
    return smtp[0]


def subject_of(message: object) -> str:
    from email.message import EmailMessage

    assert isinstance(message, EmailMessage)
    return str(make_header(decode_header(str(message["Subject"]))))


async def test_confirmation_mail_arrives_in_japanese(
    db: AsyncSession, mail_settings: Settings, mailbox: Mailbox
) -> None:
    starts = tokyo_day(10) + timedelta(hours=10)
    session = await session_at(db, starts, title="介護のお仕事説明会")
    async with arq_pool(mail_settings) as redis:
        view = await book_and_commit(db, redis, session.id, person(1, email=True))

    worker = await run_worker(mail_settings)

    assert worker.jobs_complete == 1
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert mailbox.recipients == [["taro1@example.jp"]]
    assert message["To"] == "taro1@example.jp"
    assert "NEXTワークしずおか" in str(message["From"])
    assert subject_of(message) == "【NEXTワークしずおか】ご予約を承りました：介護のお仕事説明会"
    body = body_of(message)
    local = starts.astimezone(TOKYO)
    when = f"{local.month}月{local.day}日（{WEEKDAYS[local.weekday()]}） 10:00〜15:00"
    assert "静岡 太郎1 様" in body
    assert f"予約番号：{format_code(view.code)}" in body
    assert f"日時：{when}" in body
    assert "イベント名：介護のお仕事説明会" in body
    assert "住所：静岡市清水区旭町6-8" in body
    assert "持ち物：筆記用具" in body
    assert "http://127.0.0.1:8000/bookings/lookup" in body
    assert "054-254-2770" in body
    assert "9:00〜17:00（土日祝を除く）" in body
    assert f"{await calendars.booking_calendar_path(db, view.code)}" in body
    # The same event as an attachment beside the link, for phones that add it with a tap.
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_filename() == "nextwork.ics"
    ics = attachment.get_content()
    ics_text = ics if isinstance(ics, str) else ics.decode()
    assert "METHOD:PUBLISH" in ics_text and "BEGIN:VALARM" in ics_text
    assert "SUMMARY:介護のお仕事説明会" in ics_text
    [notice] = await notices(db, view.id)
    assert notice["kind"] == "booking_confirmed"
    assert notice["status"] == "sent"
    assert notice["attempts"] == 1
    assert notice["sent_at"] is not None
    assert notice["last_error"] is None


async def test_waitlisted_mail_gives_position_and_next_steps(
    db: AsyncSession, mail_settings: Settings, mailbox: Mailbox
) -> None:
    session = await session_at(db, tokyo_day(7) + timedelta(hours=13), capacity=1)
    async with arq_pool(mail_settings) as redis:
        await book_and_commit(db, redis, session.id, person(1))
        view = await book_and_commit(db, redis, session.id, person(2, email=True))
    assert view.status == "waitlisted"

    await run_worker(mail_settings)

    [message] = mailbox.messages
    assert "キャンセル待ち" in subject_of(message)
    body = body_of(message)
    assert "キャンセル待ちの順番：1番目" in body
    assert "繰り上げてご予約を確定し、メールでお知らせします" in body
    assert "まだご予約は確定していません" in body
    # No calendar link for a seat the person does not have yet.
    assert "calendar.ics" not in body


async def test_running_the_job_twice_sends_one_mail(
    db: AsyncSession, mail_settings: Settings, mailbox: Mailbox
) -> None:
    session = await session_at(db, tokyo_day(5) + timedelta(hours=10))
    async with arq_pool(mail_settings) as redis:
        view = await book_and_commit(db, redis, session.id, person(1, email=True))
        [notice] = await notices(db, view.id)
        await run_worker(mail_settings)
        # arq may deliver the same job again (a worker died after sending, a retry): the same
        # job id can be enqueued again because no result is kept.
        again = await redis.enqueue_job(
            "send_notification", notice["id"], _job_id=f"notify:{notice['id']}"
        )
        assert again is not None
        worker = await run_worker(mail_settings)

    assert worker.jobs_complete == 1
    assert len(mailbox.messages) == 1
    [notice] = await notices(db, view.id)
    assert notice["status"] == "sent"
    assert notice["attempts"] == 1


async def test_a_notice_locked_by_another_worker_is_not_sent_twice(
    db: AsyncSession, mail_settings: Settings, mailbox: Mailbox
) -> None:
    session = await session_at(db, tokyo_day(5) + timedelta(hours=10))
    async with arq_pool(mail_settings) as redis:
        view = await book_and_commit(db, redis, session.id, person(1, email=True))
    [notice] = await notices(db, view.id)

    async with worker_context(mail_settings) as ctx:
        # Another worker is in the middle of sending this notice (it holds the row lock).
        async with ctx["session_factory"]() as other:
            await other.execute(
                text("SELECT id FROM notifications WHERE id = :id FOR UPDATE"),
                {"id": notice["id"]},
            )
            assert await send_notification(ctx, notice["id"]) == "nothing_to_do"
            await other.rollback()
        assert mailbox.messages == []
        # Once the lock is gone the notice is still pending and goes out.
        assert await send_notification(ctx, notice["id"]) == "sent"
        assert await send_notification(ctx, notice["id"]) == "nothing_to_do"
    assert len(mailbox.messages) == 1


async def test_a_notice_leased_by_a_live_worker_waits_and_a_lapsed_lease_is_sent_again(
    db: AsyncSession, mail_settings: Settings, mailbox: Mailbox
) -> None:
    """Another worker took the notice and is talking to the SMTP server (a live lease): nothing
    to do. That worker died (the lease ran out): sent, with the Message-ID stored at the first
    attempt, and marked sent."""
    session = await session_at(db, tokyo_day(5) + timedelta(hours=10))
    async with arq_pool(mail_settings) as redis:
        view = await book_and_commit(db, redis, session.id, person(1, email=True))
    [notice] = await notices(db, view.id)
    stored = "<notification-x.abc@example.jp>"
    await db.execute(
        text(
            "UPDATE notifications SET status = 'sending', claims = 1, message_id = :m, "
            "lease_until = now() + interval '40 seconds' WHERE id = :id"
        ),
        {"id": notice["id"], "m": stored},
    )
    await db.commit()

    async with worker_context(mail_settings) as ctx:
        assert await send_notification(ctx, notice["id"]) == "nothing_to_do"
        assert await sweep_notifications(ctx) == 0
        await db.execute(text("UPDATE notifications SET lease_until = now() - interval '1 second'"))
        await db.commit()
        assert await sweep_notifications(ctx) == 1
        assert await send_notification(ctx, notice["id"]) == "sent"
        assert await send_notification(ctx, notice["id"]) == "nothing_to_do"

    [message] = mailbox.messages
    assert message["Message-ID"] == stored
    row = (
        await db.execute(
            text("SELECT status, claims, lease_until, attempts FROM notifications WHERE id = :id"),
            {"id": notice["id"]},
        )
    ).one()
    assert (row.status, row.claims, row.lease_until, row.attempts) == ("sent", 2, None, 1)


async def test_the_message_id_is_stored_at_the_first_attempt_and_kept_for_retries(
    db: AsyncSession, settings: Settings, mailbox: Mailbox, smtp: tuple[Mailbox, int]
) -> None:
    session = await session_at(db, tokyo_day(5) + timedelta(hours=10))
    async with arq_pool(settings) as redis:
        view = await book_and_commit(db, redis, session.id, person(1, email=True))
    [notice] = await notices(db, view.id)
    async with worker_context(dead_smtp(settings)) as ctx:
        assert await send_notification(ctx, notice["id"]) == "retry"
    first = await db.scalar(
        text("SELECT message_id FROM notifications WHERE id = :id"), {"id": notice["id"]}
    )
    await db.execute(text("UPDATE notifications SET send_after = now()"))
    await db.commit()
    async with worker_context(with_smtp_port(settings, smtp[1])) as ctx:
        assert await send_notification(ctx, notice["id"]) == "sent"
    assert first and first.startswith(f"<notification-{notice['id']}.")
    assert [m["Message-ID"] for m in mailbox.messages] == [first]


async def test_booking_without_email_is_skipped(
    db: AsyncSession, mail_settings: Settings, mailbox: Mailbox
) -> None:
    session = await session_at(db, tokyo_day(5) + timedelta(hours=10))
    async with arq_pool(mail_settings) as redis:
        view = await book_and_commit(db, redis, session.id, person(1, email=False))

    worker = await run_worker(mail_settings)

    assert worker.jobs_complete == 1
    assert mailbox.messages == []
    [notice] = await notices(db, view.id)
    assert notice["status"] == "skipped"
    assert notice["last_error"] == "no_email"
    assert notice["attempts"] == 0


async def test_smtp_down_records_a_failed_attempt_and_retries_later(
    db: AsyncSession, settings: Settings, mail_settings: Settings, mailbox: Mailbox
) -> None:
    session = await session_at(db, tokyo_day(5) + timedelta(hours=10))
    down = dead_smtp(settings)
    async with arq_pool(down) as redis:
        view = await book_and_commit(db, redis, session.id, person(1, email=True))

    await run_worker(down)

    [notice] = await notices(db, view.id)
    assert notice["status"] == "pending"
    assert notice["attempts"] == 1
    assert notice["last_error"].startswith("smtp:")
    assert notice["send_after"] > datetime.now(UTC)
    async with worker_context(down) as ctx:
        # Not due yet, and the server still does not answer: the sweep leaves it alone.
        assert await sweep_notifications(ctx) == 0
    async with worker_context(mail_settings) as ctx:
        # The server answers again: the sweep does not wait for the retry delay.
        assert await sweep_notifications(ctx) == 1

    await run_worker(mail_settings)

    assert len(mailbox.messages) == 1
    [notice] = await notices(db, view.id)
    assert notice["status"] == "sent"
    assert notice["attempts"] == 2


async def test_smtp_down_on_the_last_attempt_fails_for_good(
    db: AsyncSession, settings: Settings
) -> None:
    session = await session_at(db, tokyo_day(5) + timedelta(hours=10))
    down = dead_smtp(settings)
    async with arq_pool(down) as redis:
        view = await book_and_commit(db, redis, session.id, person(1, email=True))
    await db.execute(
        text("UPDATE notifications SET attempts = :n WHERE booking_id = :b"),
        {"n": notifications.MAX_ATTEMPTS - 1, "b": view.id},
    )
    await db.commit()

    await run_worker(down)

    [notice] = await notices(db, view.id)
    assert notice["status"] == "failed"
    assert notice["attempts"] == notifications.MAX_ATTEMPTS


async def test_refused_recipient_fails_without_retrying(
    db: AsyncSession, mail_settings: Settings, mailbox: Mailbox
) -> None:
    session = await session_at(db, tokyo_day(5) + timedelta(hours=10))
    who = dataclasses.replace(person(1), email=f"{REFUSED_PREFIX}example.jp")
    async with arq_pool(mail_settings) as redis:
        view = await book_and_commit(db, redis, session.id, who)

    await run_worker(mail_settings)

    assert mailbox.messages == []
    [notice] = await notices(db, view.id)
    assert notice["status"] == "failed"
    assert "550" in notice["last_error"]


async def test_lost_enqueue_is_picked_up_by_the_sweep(
    db: AsyncSession, mail_settings: Settings, mailbox: Mailbox
) -> None:
    from service.domain.bookings.service import book

    session = await session_at(db, tokyo_day(5) + timedelta(hours=10))
    view = await book(db, session.id, person(1, email=True))
    await db.commit()  # and the process dies before enqueueing: no job in Redis

    assert (await run_worker(mail_settings)).jobs_complete == 0
    async with worker_context(mail_settings) as ctx:
        assert await sweep_notifications(ctx) == 1
        # The job is already queued: a second sweep does not queue it twice.
        await sweep_notifications(ctx)
    worker = await run_worker(mail_settings)

    assert worker.jobs_complete == 1
    assert len(mailbox.messages) == 1
    assert (await notices(db, view.id))[0]["status"] == "sent"


async def test_header_injection_through_the_title_goes_nowhere(
    db: AsyncSession, mail_settings: Settings, mailbox: Mailbox
) -> None:
    title = "説明会\r\nBcc: victim@example.com\r\nX-Evil: 1"
    session = await session_at(db, tokyo_day(5) + timedelta(hours=10), title=title)
    async with arq_pool(mail_settings) as redis:
        await book_and_commit(db, redis, session.id, person(1, email=True))

    await run_worker(mail_settings)

    [message] = mailbox.messages
    assert mailbox.recipients == [["taro1@example.jp"]]
    assert message["Bcc"] is None
    assert message["X-Evil"] is None
    assert "\n" not in subject_of(message)
    assert "説明会 Bcc: victim@example.com X-Evil: 1" in subject_of(message)


async def test_reminder_cron_writes_one_reminder_per_booking_even_when_run_twice(
    db: AsyncSession, mail_settings: Settings, mailbox: Mailbox
) -> None:
    tomorrow = await session_at(db, tokyo_day(1) + timedelta(hours=10), capacity=2)
    later = await session_at(db, tokyo_day(2) + timedelta(hours=10))
    async with arq_pool(mail_settings) as redis:
        with_mail = await book_and_commit(db, redis, tomorrow.id, person(1, email=True))
        by_phone = await book_and_commit(db, redis, tomorrow.id, person(2))
        waiting = await book_and_commit(db, redis, tomorrow.id, person(3, email=True))
        not_tomorrow = await book_and_commit(db, redis, later.id, person(4, email=True))
    assert waiting.status == "waitlisted"
    await run_worker(mail_settings)
    mailbox.messages.clear()
    # Booked days ago; tomorrow's reminder is due whatever the hour of this run (2 days
    # before, at 9:00), the later session's only tomorrow.
    await db.execute(text("UPDATE bookings SET confirmed_at = confirmed_at - interval '9 days'"))
    await db.execute(
        text("UPDATE events SET reminder_days = '{2}' WHERE id = :e"), {"e": tomorrow.event_id}
    )
    await db.execute(
        text("UPDATE events SET reminder_days = '{1}' WHERE id = :e"), {"e": later.event_id}
    )
    await db.commit()

    async with worker_context(mail_settings) as ctx:
        assert await write_reminders(ctx) == 2
        assert await write_reminders(ctx) == 0
    await run_worker(mail_settings)

    count = await db.scalar(text("SELECT count(*) FROM notifications WHERE kind = 'reminder'"))
    assert count == 2
    reminders = {
        b.id: [n for n in await notices(db, b.id) if n["kind"] == "reminder"]
        for b in (with_mail, by_phone, waiting, not_tomorrow)
    }
    assert [n["status"] for n in reminders[with_mail.id]] == ["sent"]
    assert [n["status"] for n in reminders[by_phone.id]] == ["skipped"]
    assert reminders[waiting.id] == []
    assert reminders[not_tomorrow.id] == []
    [message] = mailbox.messages
    assert "明日のご予約のお知らせ" in subject_of(message)
    assert "明日は、ご予約いただいているイベントの開催日です" in body_of(message)


async def test_promote_cron_fills_a_free_seat_and_mails_the_person(
    db: AsyncSession, mail_settings: Settings, mailbox: Mailbox
) -> None:
    session = await session_at(db, tokyo_day(6) + timedelta(hours=10), capacity=1)
    async with arq_pool(mail_settings) as redis:
        await book_and_commit(db, redis, session.id, person(1))
        waiting = await book_and_commit(db, redis, session.id, person(2, email=True))
    await run_worker(mail_settings)
    mailbox.messages.clear()
    # A seat appears without the core promoting anyone (e.g. fixed by hand in the database).
    await BookingRepository(db).add_seats(session.id, 2, 2)
    await db.execute(text("UPDATE sessions SET capacity = 2 WHERE id = :s"), {"s": session.id})
    await db.commit()

    async with worker_context(mail_settings) as ctx:
        assert await promote_waiting_lists(ctx) == 1
        assert await promote_waiting_lists(ctx) == 0
    await run_worker(mail_settings)

    status = await db.scalar(text("SELECT status FROM bookings WHERE id = :b"), {"b": waiting.id})
    assert status == "confirmed"
    [message] = mailbox.messages
    assert "キャンセル待ちから予約が確定しました" in subject_of(message)
    assert format_code(waiting.code) in body_of(message)
