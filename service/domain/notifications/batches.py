"""The crons' notices (reminders at 9:00, survey invitations), sent in batches.

A morning's reminders are thousands of mails written at once. One job per mail spent three
transactions and an SMTP connection on each (0.09-0.17 of a bare aiosmtplib loop's rate). Here a
worker leases up to BATCH due notices of one kind in one statement, reads their bookings in one
more, decides each as service.decide does (skipped, LINE, the call list, or a mail), sends the
mails over CONCURRENCY SMTP connections kept open for the batch, and marks the accepted ones sent
in one statement.

The guarantees of service.py hold, with a wider window: a worker killed mid-batch leaves mail the
server accepted unmarked, and it goes again (with the same Message-ID) once the batch's lease
has run out. The lease covers the slowest batch: each lane's share at SEND_DEADLINE per mail. A
database that cannot take the marks gets them remembered in receipts, as for one mail. A failed
mail is recorded on its own, with service.py's retries and call list."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from datetime import timedelta

import aiosmtplib
import structlog

from service.domain.notifications import line_channel
from service.domain.notifications.mail import (
    MailBytes,
    message_id_domain,
    smtp_connect,
    smtp_goodbye,
)
from service.domain.notifications.models import Notification
from service.domain.notifications.repository import NotificationRepository
from service.domain.notifications.service import (
    LEASE,
    SEND_DEADLINE,
    Leased,
    Outcome,
    Receipts,
    UnitOfWork,
    decide,
    hand_over,
    push_by_line,
    record_failure,
)
from service.platform.settings import Settings

log = structlog.get_logger("service.notifications")

BATCH = 100
# SMTP connections at a time, as many as the worker's jobs at a time (arq's max_jobs).
CONCURRENCY = 10
BATCH_LEASE = SEND_DEADLINE * math.ceil(BATCH / CONCURRENCY) + LEASE
# A run takes no new batch after this; the sweep (every 30 s) queues what is left, one job each.
RUN_BUDGET = timedelta(seconds=90)


@dataclass(slots=True)
class _Sent:
    accepted: list[Notification] = field(default_factory=list)
    # Accepted on an earlier try that the database could not record (receipts).
    known: list[Notification] = field(default_factory=list)
    failed: list[tuple[Notification, BaseException]] = field(default_factory=list)


async def deliver_due(
    unit_of_work: UnitOfWork,
    settings: Settings,
    kind: str,
    receipts: Receipts | None = None,
    budget: timedelta = RUN_BUDGET,
) -> int:
    """Send every due notice of this kind, a batch at a time; how many went (mail or LINE).
    Safe to run twice, or in two workers at once: each batch is leased."""
    sent = 0
    ends = time.monotonic() + budget.total_seconds()
    while time.monotonic() < ends:
        taken = await _take_batch(unit_of_work, settings, kind)
        if not taken:
            break
        mails: list[Leased] = []
        for item in taken:
            if isinstance(item, line_channel.LinePlan):
                item = await push_by_line(unit_of_work, settings, item)
            if isinstance(item, Leased):
                mails.append(item)
            elif item is Outcome.SENT:
                sent += 1
        sent += await _send(unit_of_work, settings, mails, receipts)
    return sent


async def _take_batch(
    unit_of_work: UnitOfWork, settings: Settings, kind: str
) -> list[Leased | line_channel.LinePlan | Outcome]:
    async with unit_of_work() as db:
        repo = NotificationRepository(db)
        notices = await repo.take_due_leases(
            [kind], BATCH, BATCH_LEASE, message_id_domain(settings)
        )
        if not notices:
            return []
        facts = await repo.mail_facts_of({n.booking_id for n in notices})
        as_bytes = MailBytes(settings)
        return [await decide(db, settings, n, facts.get(n.booking_id), as_bytes) for n in notices]


async def _send(
    unit_of_work: UnitOfWork,
    settings: Settings,
    mails: list[Leased],
    receipts: Receipts | None,
) -> int:
    result = _Sent()
    queue = list(reversed(mails))

    async def lane() -> None:
        client: aiosmtplib.SMTP | None = None
        try:
            while queue:
                mail = queue.pop()
                notice = mail.notice
                if receipts is not None and notice.claims > 1:
                    if await receipts.accepted(notice.id):
                        result.known.append(notice)
                        continue
                try:
                    async with asyncio.timeout(SEND_DEADLINE.total_seconds()):
                        if client is None:
                            client = await smtp_connect(settings)
                        await hand_over(client, settings, mail)
                except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                    result.failed.append((notice, exc))
                    # The next mail gets a fresh connection: this one may be broken.
                    if client is not None:
                        client.close()
                        client = None
                else:
                    result.accepted.append(notice)
        finally:
            if client is not None:
                await smtp_goodbye(client)

    await asyncio.gather(*(lane() for _ in range(min(CONCURRENCY, len(queue)))))
    marked = await _mark_sent(unit_of_work, result.accepted + result.known, receipts)
    if receipts is not None:
        for notice in result.known:
            await receipts.forget(notice.id)
    for notice, exc in result.failed:
        await record_failure(unit_of_work, notice, exc)
    lost = len(result.accepted) + len(result.known) - len(marked)
    if lost:
        log.warning("notification_batch_leases_lost", count=lost)
    log.info(
        "notification_batch_sent",
        sent=len(result.accepted),
        recorded=len(result.known),
        failed=len(result.failed),
    )
    return len(result.accepted) + len(result.known)


async def _mark_sent(
    unit_of_work: UnitOfWork, notices: list[Notification], receipts: Receipts | None
) -> set[int]:
    """The batch's step 3; when the database cannot take it, each acceptance is kept in
    receipts before the error goes on (service._mark_sent, for many)."""
    try:
        async with unit_of_work() as db:
            return await NotificationRepository(db).mark_sent_many(notices)
    except Exception:
        if receipts is not None:
            for notice in notices:
                try:
                    await receipts.remember(notice.id, notice.message_id or "")
                except Exception:
                    log.exception("notification_receipt_not_kept", id=notice.id)
        raise
