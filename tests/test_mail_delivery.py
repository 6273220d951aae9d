"""Mail delivery that staff can see and nothing lost to an SMTP outage: retries for over a day,
each booking's history, the failed mails with sending again (real worker and SMTP server)."""

from __future__ import annotations

from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.notifications import service as notifications
from service.platform.settings import Settings
from tests.factories import person
from tests.mail_support import (
    Mailbox,
    arq_pool,
    book_and_commit,
    dead_smtp,
    notices,
    run_worker,
    session_at,
    tokyo_day,
    with_smtp_port,
    worker_context,
)
from tests.manage_support import csrf_token, make_staff, web_login
from workers.notifications import sweep_notifications


async def due_now_and_send(db: AsyncSession, settings: Settings) -> None:
    """Time passes (the retry delay is moved back), the sweep and the worker run."""
    await db.execute(text("UPDATE notifications SET send_after = now() - interval '1 second'"))
    await db.commit()
    async with worker_context(settings) as ctx:
        await sweep_notifications(ctx)
    await run_worker(settings)


def test_temporary_failures_are_retried_for_more_than_a_day() -> None:
    assert sum(notifications.RETRY_DELAYS, timedelta()) >= timedelta(hours=24)
    assert notifications.MAX_ATTEMPTS == len(notifications.RETRY_DELAYS) + 1


async def test_smtp_down_for_two_hours_loses_no_mail(
    db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    down, up = dead_smtp(settings), with_smtp_port(settings, port)
    session = await session_at(db, tokyo_day(3) + timedelta(hours=10))
    async with arq_pool(down) as redis:
        view = await book_and_commit(db, redis, session.id, person(1, email=True))
    await run_worker(down)
    # Two hours of tries: 1, 5, 15, 60 minutes later and beyond, every one refused.
    waited = timedelta(minutes=1)
    for delay in notifications.RETRY_DELAYS[:5]:
        await due_now_and_send(db, down)
        waited += delay
    assert waited >= timedelta(hours=2)
    [notice] = await notices(db, view.id)
    assert notice["status"] == "pending" and notice["attempts"] == 6
    await due_now_and_send(db, up)
    [notice] = await notices(db, view.id)
    assert notice["status"] == "sent"
    assert len(mailbox.messages) == 1


async def test_staff_see_each_booking_s_mails_and_send_failed_ones_again(
    client: AsyncClient, db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    down, up = dead_smtp(settings), with_smtp_port(settings, port)
    session = await session_at(db, tokyo_day(3) + timedelta(hours=10))
    async with arq_pool(down) as redis:
        failing = await book_and_commit(db, redis, session.id, person(1, email=True))
        no_mail = await book_and_commit(db, redis, session.id, person(2))
    await db.execute(
        text("UPDATE notifications SET attempts = :n"), {"n": notifications.MAX_ATTEMPTS - 1}
    )
    await db.commit()
    await run_worker(down)
    [failed] = await notices(db, failing.id)
    assert failed["status"] == "failed"
    # Failed for good: on the call list too.
    task = await db.scalar(
        text("SELECT reason FROM call_tasks WHERE booking_id = :b"), {"b": failing.id}
    )
    assert task == "mail_failed"

    user = await make_staff(db, "organizer")
    await web_login(client, db, user)
    page = await client.get(f"/manage/bookings/{failing.id}")
    assert "お知らせ（メール）の履歴" in page.text and "送信できず" in page.text
    other = await client.get(f"/manage/bookings/{no_mail.id}")
    assert "メールアドレスなし" in other.text
    listed = await client.get("/manage/mails/failed")
    assert f"/manage/mails/{failed['id']}/retry" in listed.text

    # SMTP is back: send them all again.
    r = await client.post("/manage/mails/retry-all", data={"_csrf_token": await csrf_token(client)})
    assert r.status_code == 303
    await due_now_and_send(db, up)
    [notice] = await notices(db, failing.id)
    assert notice["status"] == "sent"
    assert [m["To"] for m in mailbox.messages] == ["taro1@example.jp"]
    empty = await client.get("/manage/mails/failed")
    assert "送信できなかったメールはありません" in empty.text
