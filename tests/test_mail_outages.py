"""Mail across outages (issue 19, point 9), with a real arq worker, a real SMTP server on
loopback and a throwaway PostgreSQL stopped in the middle of sending.

- PostgreSQL stops right after the SMTP server accepted a mail, before it is recorded as sent,
  and stays down longer than the lease: when it is back, that mail is recorded as sent, not
  sent again, and every other mail goes out once (one message per Message-ID).
- After an SMTP outage, mail waiting for its next attempt goes at the next sweep once the
  server answers, not when its timer (1, 5, 15 minutes ...) runs out.
- Staff send waiting mail now from the console (audited).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.devtools.embedded_servers import (
    Postgres,
    free_port,
    remove_throwaway,
    throwaway_postgres,
)
from service.domain.notifications import service as notifications
from service.platform.db import make_engine, make_session_factory
from service.platform.migrations import upgrade
from service.platform.settings import Settings
from tests.mail_support import (
    Mailbox,
    arq_pool,
    book_and_commit,
    dead_smtp,
    run_worker,
    session_at,
    tokyo_day,
    with_smtp_port,
    worker_context,
)
from tests.manage_support import make_staff, person, post_form, web_login
from workers.notifications import sweep_notifications

MAILS = 8
STOP_AT = 3  # the third mail accepted takes PostgreSQL down with it
LEASE = timedelta(seconds=2)


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[Postgres]:
    pg = throwaway_postgres()
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()
        remove_throwaway(pg, None)


class StoppingMailbox(Mailbox):
    """Accepts every mail; having taken the STOP_AT-th, stops PostgreSQL before saying 250."""

    def __init__(self, pg: Postgres) -> None:
        super().__init__()
        self.pg = pg

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if len(self.messages) == STOP_AT:
            self.pg.stop()
        return answer


async def _database(pg: Postgres, settings: Settings) -> Settings:
    conn = await asyncpg.connect(pg.url)
    try:
        await conn.execute("DROP DATABASE IF EXISTS mail_outage WITH (FORCE)")
        await conn.execute("CREATE DATABASE mail_outage")
    finally:
        await conn.close()
    url = pg.url.rsplit("/", 1)[0] + "/mail_outage"
    await asyncio.to_thread(upgrade, url)
    return dataclasses.replace(settings, database_url=url)


async def _book(settings: Settings, count: int) -> None:
    engine = make_engine(settings.sqlalchemy_url, 2)
    try:
        async with make_session_factory(engine)() as db, arq_pool(settings) as redis:
            s = await session_at(db, tokyo_day(10), capacity=count + 5)
            for n in range(count):
                await book_and_commit(db, redis, s.id, person(n + 1, email=f"p{n}@example.jp"))
    finally:
        await engine.dispose()


async def _statuses(settings: Settings) -> Counter[str]:
    conn = await asyncpg.connect(settings.database_url)
    try:
        rows = await conn.fetch("SELECT status FROM notifications")
    finally:
        await conn.close()
    return Counter(r["status"] for r in rows)


async def test_a_database_stop_during_sending_delivers_each_mail_once(
    own_postgres: Postgres, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifications, "LEASE", LEASE)
    if not own_postgres.running():
        own_postgres.start()
    own = await _database(own_postgres, settings)
    await _book(own, MAILS)
    mailbox = StoppingMailbox(own_postgres)
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        mailing = with_smtp_port(own, port)
        # Ten jobs at a time: the mails in flight when the third is accepted are accepted too,
        # and none of them can be recorded as sent; those not yet taken fail on the database.
        await run_worker(mailing)
        accepted_in_outage = len(mailbox.messages)
        assert accepted_in_outage >= STOP_AT
        assert not own_postgres.running()
        await asyncio.sleep(LEASE.total_seconds() + 1)  # down longer than the lease
        await asyncio.to_thread(own_postgres.start)
        await asyncio.sleep(LEASE.total_seconds() + 1)
        async with worker_context(mailing) as ctx:
            await sweep_notifications(ctx)
        await run_worker(mailing)
    finally:
        controller.stop()
    ids = Counter(str(m["Message-ID"]) for m in mailbox.messages)
    assert len(ids) == MAILS and set(ids.values()) == {1}, (ids, await _statuses(own))
    assert await _statuses(own) == {"sent": MAILS}
    print(f"accepted while the database went down: {accepted_in_outage}; sent twice: 0")


async def test_mail_waiting_after_an_smtp_outage_goes_once_the_server_answers(
    db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    s = await session_at(db, tokyo_day(10))
    async with arq_pool(settings) as redis:
        for n in range(3):
            await book_and_commit(db, redis, s.id, person(n + 1, email=f"q{n}@example.jp"))
    await run_worker(dead_smtp(settings))  # SMTP down: each waits for its next attempt
    await db.rollback()
    waiting = await db.scalar(
        text("SELECT min(send_after - now()) FROM notifications WHERE status = 'pending'")
    )
    assert waiting is not None and waiting > timedelta(seconds=30)
    back = with_smtp_port(settings, port)
    async with worker_context(back) as ctx:
        await sweep_notifications(ctx)  # the server answers: everything is due now
    await run_worker(back)
    assert len(mailbox.messages) == 3
    await db.rollback()
    sent = await db.scalar(text("SELECT count(*) FROM notifications WHERE status = 'sent'"))
    assert sent == 3


async def test_a_sweep_while_smtp_is_still_down_changes_nothing(
    db: AsyncSession, settings: Settings
) -> None:
    s = await session_at(db, tokyo_day(10))
    async with arq_pool(settings) as redis:
        await book_and_commit(db, redis, s.id, person(1, email="s1@example.jp"))
    down = dead_smtp(settings)
    await run_worker(down)
    await db.rollback()
    before = await db.scalar(text("SELECT send_after FROM notifications"))
    async with worker_context(down) as ctx:
        await sweep_notifications(ctx)
    await db.rollback()
    assert await db.scalar(text("SELECT send_after FROM notifications")) == before


async def test_staff_send_waiting_mail_now_from_the_console(
    client: AsyncClient, db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    s = await session_at(db, tokyo_day(10))
    async with arq_pool(settings) as redis:
        for n in range(2):
            await book_and_commit(db, redis, s.id, person(n + 1, email=f"r{n}@example.jp"))
    await run_worker(dead_smtp(settings))
    await web_login(client, db, await make_staff(db, "organizer"))
    listed = await client.get("/manage/mails/failed")
    assert "送信待ちのメール" in listed.text and "今すぐ送る（2通）" in listed.text
    r = await post_form(client, "/manage/mails/send-now")
    assert r.status_code == 303
    after: Any = await client.get(r.headers["location"])
    assert "送信待ちのメールを今すぐ送ります" in after.text
    await run_worker(with_smtp_port(settings, port))
    assert len(mailbox.messages) == 2
    await db.rollback()
    audited = await db.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'mail.send_now'"))
    assert audited == 1
    # Nothing waits any more: the button says so.
    r = await post_form(client, "/manage/mails/send-now")
    after = await client.get(r.headers["location"])
    assert "送信待ちのメールはありませんでした" in after.text
