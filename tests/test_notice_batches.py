"""The crons' reminders sent in batches (service/domain/notifications/batches.py): one job for a
morning's reminders, a few SMTP connections kept open, every mail once, failures recorded one by
one, and a database that cannot record the batch does not make anyone get a mail twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from email.header import decode_header, make_header
from functools import partial
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.notifications import batches
from service.platform.settings import Settings
from tests.factories import person
from tests.mail_support import (
    Mailbox,
    arq_pool,
    body_of,
    book_and_commit,
    dead_smtp,
    run_worker,
    session_at,
    tokyo_day,
    with_smtp_port,
    worker_context,
)
from workers.context import transaction
from workers.notifications import RedisReceipts, send_due_notices, write_reminders


async def due_reminders(
    db: AsyncSession, settings: Settings, mailbox: Mailbox, n: int, refused: int | None = None
) -> None:
    """N bookings (with mail) of tomorrow's session, made days ago, whose reminder is due now;
    booking `refused` (1-based) has an address the server refuses."""
    session = await session_at(db, tokyo_day(1) + timedelta(hours=10), capacity=n + 5)
    async with arq_pool(settings) as redis:
        for i in range(1, n + 1):
            await book_and_commit(db, redis, session.id, person(i, email=True))
    await run_worker(settings)  # the confirmations
    mailbox.messages.clear()
    mailbox.peers.clear()
    await db.execute(text("UPDATE bookings SET confirmed_at = confirmed_at - interval '9 days'"))
    # Two days before at 9:00 was yesterday: due whatever the hour of this run.
    await db.execute(
        text("UPDATE events SET reminder_days = '{2}' WHERE id = :e"), {"e": session.event_id}
    )
    if refused is not None:
        await db.execute(
            text(
                "UPDATE bookings SET email = 'nobody@example.jp' WHERE id = "
                "(SELECT id FROM bookings ORDER BY id OFFSET :o LIMIT 1)"
            ),
            {"o": refused - 1},
        )
    await db.commit()


async def reminder_rows(db: AsyncSession) -> list[dict[str, Any]]:
    await db.rollback()
    rows = await db.execute(
        text(
            "SELECT n.id, n.status, n.attempts, n.message_id, n.last_error, n.send_after, b.email"
            " FROM notifications n JOIN bookings b ON b.id = n.booking_id"
            " WHERE n.kind = 'reminder' ORDER BY n.id"
        )
    )
    return [dict(r._mapping) for r in rows]


async def test_a_mornings_reminders_are_one_job_over_a_few_connections(
    db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    mail_settings = with_smtp_port(settings, port)
    await due_reminders(db, mail_settings, mailbox, 30, refused=7)

    async with worker_context(mail_settings) as ctx:
        assert await write_reminders(ctx) == 30
    worker = await run_worker(mail_settings)

    assert worker.jobs_complete == 1  # one send_due_notices job, not one job per mail
    rows = await reminder_rows(db)
    sent = [r for r in rows if r["status"] == "sent"]
    assert len(sent) == 29 and all(r["attempts"] == 1 for r in sent)
    [refused] = [r for r in rows if r["status"] != "sent"]
    # 550: not retried.
    assert refused["status"] == "failed" and refused["email"] == "nobody@example.jp"
    assert "550" in refused["last_error"]
    # Each person once, with the Message-ID stored for the notice.
    assert sorted(str(m["To"]) for m in mailbox.messages) == sorted(r["email"] for r in sent)
    assert {str(m["Message-ID"]) for m in mailbox.messages} == {r["message_id"] for r in sent}
    assert all(r["message_id"].startswith(f"<notification-{r['id']}.") for r in sent)
    # Built as bytes for the batch, read back as the full build would be.
    first = mailbox.messages[0]
    assert "明日のご予約のお知らせ" in str(make_header(decode_header(str(first["Subject"]))))
    assert "明日は、ご予約いただいているイベントの開催日です" in body_of(first)
    assert first["Auto-Submitted"] == "auto-generated" and first["Date"]
    assert str(first["From"]) == mail_settings.mail_from
    # The connections were kept open for many mails each, no more at once than the lanes.
    connections = set(mailbox.peers)
    assert len(connections) <= batches.CONCURRENCY < len(mailbox.messages)


async def test_two_runs_at_once_send_each_reminder_once(
    db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    mailbox, port = smtp
    mail_settings = with_smtp_port(settings, port)
    await due_reminders(db, mail_settings, mailbox, 24)
    monkeypatch.setattr(batches, "BATCH", 5)  # several batches each, interleaved

    async with worker_context(mail_settings) as ctx:
        await write_reminders(ctx)
        first, second = await asyncio.gather(
            send_due_notices(ctx, "reminder"), send_due_notices(ctx, "reminder")
        )
    assert first + second == 24 and first > 0 and second > 0
    assert len(mailbox.messages) == 24
    assert len({str(m["To"]) for m in mailbox.messages}) == 24
    assert {r["status"] for r in await reminder_rows(db)} == {"sent"}


async def test_smtp_down_puts_each_reminder_off_and_it_goes_when_the_server_is_back(
    db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    mail_settings = with_smtp_port(settings, port)
    await due_reminders(db, mail_settings, mailbox, 12)

    async with worker_context(dead_smtp(mail_settings)) as ctx:
        await write_reminders(ctx)
        assert await send_due_notices(ctx, "reminder") == 0
    rows = await reminder_rows(db)
    assert all(r["status"] == "pending" and r["attempts"] == 1 for r in rows)
    assert all(r["last_error"].startswith("smtp:") for r in rows)
    await db.execute(text("UPDATE notifications SET send_after = now() WHERE kind = 'reminder'"))
    await db.commit()

    async with worker_context(mail_settings) as ctx:
        assert await send_due_notices(ctx, "reminder") == 12
    rows = await reminder_rows(db)
    assert all(r["status"] == "sent" and r["attempts"] == 2 for r in rows)
    assert len(mailbox.messages) == 12


async def test_accepted_mail_the_database_could_not_record_is_not_sent_again(
    db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    mail_settings = with_smtp_port(settings, port)
    await due_reminders(db, mail_settings, mailbox, 8)

    async with worker_context(mail_settings) as ctx:
        await write_reminders(ctx)
        calls = 0

        @asynccontextmanager
        async def down_at_the_mark() -> AsyncIterator[AsyncSession]:
            # The batch's second transaction is the mark: the database goes away then.
            nonlocal calls
            calls += 1
            if calls == 2:
                raise ConnectionRefusedError("the database is restarting")
            async with transaction(ctx) as session:
                yield session

        receipts = RedisReceipts(ctx["redis"])
        with pytest.raises(ConnectionRefusedError):
            await batches.deliver_due(down_at_the_mark, mail_settings, "reminder", receipts)
        assert len(mailbox.messages) == 8
        rows = await reminder_rows(db)
        assert all(r["status"] == "sending" for r in rows)
        assert all([await receipts.accepted(r["id"]) for r in rows])

        # The lease runs out; the next run records them as sent without sending them again.
        await db.execute(
            text(
                "UPDATE notifications SET lease_until = now() - interval '1 second'"
                " WHERE kind = 'reminder'"
            )
        )
        await db.commit()
        assert (
            await batches.deliver_due(
                partial(transaction, ctx), mail_settings, "reminder", receipts
            )
            == 8
        )
        assert len(mailbox.messages) == 8
        assert {r["status"] for r in await reminder_rows(db)} == {"sent"}
        assert not any([await receipts.accepted(r["id"]) for r in rows])
