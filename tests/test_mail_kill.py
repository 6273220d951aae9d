"""A worker killed with SIGKILL in the middle of sending: the real worker process
(`python -m workers.run`) mails 50 confirmations to a loopback SMTP server that takes its time,
is killed while mails are in flight, and a new one is started. Every notice is mailed; a copy
can only be a resend of a mail in flight at the kill and carries the same Message-ID; and the
killed worker's mail goes out within about a minute of the new worker starting (arq keeps the
killed worker's job ids blocked for minutes; the sweep's own job ids get past them)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.notifications.service import LEASE
from service.platform.settings import Settings
from tests.factories import person
from tests.mail_support import Mailbox, arq_pool, book_and_commit, session_at, tokyo_day
from tests.worker_process import start_worker, stop_worker

BOOKINGS = 50


class SlowMailbox(Mailbox):
    """Takes a moment over each message, as a real relay does, so a kill lands mid-send."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(0.15)
        return await super().handle_DATA(server, session, envelope)


async def _statuses(db: AsyncSession) -> Counter[str]:
    rows = await db.execute(text("SELECT status, count(*) FROM notifications GROUP BY status"))
    counts = Counter({str(r[0]): int(r[1]) for r in rows})
    await db.commit()
    return counts


async def _stored_ids(db: AsyncSession) -> dict[int, str]:
    rows = await db.execute(text("SELECT id, message_id FROM notifications"))
    ids = {int(r[0]): str(r[1]) for r in rows}
    await db.commit()
    return ids


async def test_a_worker_killed_mid_send_resends_with_the_same_message_id_within_a_minute(
    settings: Settings, db: AsyncSession, tmp_path: Path
) -> None:
    from aiosmtpd.controller import Controller

    from service.devtools.embedded_servers import free_port

    mailbox = SlowMailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    log = tmp_path / "worker.log"
    workers: list[Any] = []
    try:
        session = await session_at(db, tokyo_day(10) + timedelta(hours=10), capacity=BOOKINGS)
        session_id = session.id
        async with arq_pool(settings) as redis:
            for n in range(BOOKINGS):
                await book_and_commit(db, redis, session_id, person(n + 1, email=True))

        # Kill while a mail is being handed over (its row leased as sending): the worker
        # takes jobs in batches, and a kill between two batches would prove nothing. The mail
        # in hand can also be accepted between the look and the kill; then nothing was in
        # flight and a new worker is killed the same way (each try sends a few more).
        at_kill: Counter[str] = Counter()
        for _ in range(4):
            first = start_worker(settings, port, log)
            workers.append(first)
            deadline = time.monotonic() + 120
            sent_before = len(mailbox.messages)
            while len(mailbox.messages) < sent_before + 8 or (await _statuses(db))["sending"] < 1:
                assert time.monotonic() < deadline, "the first worker sent too little"
                assert first.poll() is None, log.read_text(errors="replace")[-2000:]
                await asyncio.sleep(0.02)
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
            at_kill = await _statuses(db)
            if at_kill["sending"] >= 1:
                break
        # The kill landed while mails were being handed over, and before the end.
        assert at_kill["sending"] >= 1, at_kill
        assert at_kill["sent"] < BOOKINGS

        second = start_worker(settings, port, log)
        workers.append(second)
        restarted = time.monotonic()
        while (await _statuses(db))["sent"] < BOOKINGS:
            assert time.monotonic() - restarted < 150, await _statuses(db)
            assert second.poll() is None, log.read_text(errors="replace")[-2000:]
            await asyncio.sleep(0.5)
        took = time.monotonic() - restarted
        await asyncio.sleep(1)  # anything late would show up as an extra mail
    finally:
        for worker in workers:
            stop_worker(worker)
        controller.stop()

    # Within the lease plus one sweep (and start-up), not arq's in-progress expiry (310 s).
    assert took < LEASE.total_seconds() + 30 + 25, took
    stored = await _stored_ids(db)
    assert len(stored) == BOOKINGS and len(set(stored.values())) == BOOKINGS
    per_id = Counter(str(m["Message-ID"]) for m in mailbox.messages)
    # Every notice mailed, under the Message-ID stored for it; nothing else.
    assert set(per_id) == set(stored.values())
    copies = sum(n - 1 for n in per_id.values())
    # A copy only of a mail in flight at the kill.
    assert copies <= at_kill["sending"], (copies, at_kill)
    assert len(mailbox.messages) == BOOKINGS + copies
