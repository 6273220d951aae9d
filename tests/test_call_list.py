"""The call list (電話連絡リスト): notices that cannot go by mail become call tasks, through a
real arq worker and SMTP server on loopback; staff settle them from the console or the API."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.devtools.demo_data import load_demo_bookings, load_demo_data
from service.domain.bookings import service as bookings
from service.domain.bookings.normalize import format_code
from service.platform.jobs import enqueue_after_commit_jobs
from service.platform.settings import Settings
from tests.factories import person
from tests.mail_support import (
    REFUSED_PREFIX,
    arq_pool,
    book_and_commit,
    run_worker,
    session_at,
    tokyo_day,
    worker_context,
)
from tests.manage_support import bearer, csrf_token, issue_token, make_staff, web_login
from tests.test_booking_concurrency import check_session_invariants
from workers.notifications import sweep_notifications


async def tasks(db: AsyncSession) -> list[Any]:
    await db.rollback()
    return list(
        (
            await db.execute(
                text("SELECT booking_id, kind, reason, state, script, attempts FROM call_tasks")
            )
        ).all()
    )


async def test_a_no_email_promotion_creates_exactly_one_call_task(
    db: AsyncSession, mail_settings: Settings
) -> None:
    session = await session_at(db, tokyo_day(1) + timedelta(hours=10), capacity=1)
    async with arq_pool(mail_settings) as redis:
        first = await book_and_commit(db, redis, session.id, person(1, email=True))
        waiting = await book_and_commit(db, redis, session.id, person(2))
    await run_worker(mail_settings)
    assert await tasks(db) == []  # confirmations and waiting-list notices are not phoned

    await bookings.cancel_booking(db, first.code, first.phone)
    await db.commit()
    await db.execute(text("UPDATE notifications SET send_after = now()"))
    await db.commit()
    async with arq_pool(mail_settings) as redis:
        await enqueue_after_commit_jobs(db, redis)
        # The same notice handled twice (a job run again) adds no second task.
        for nid in await db.scalars(text("SELECT id FROM notifications")):
            await redis.enqueue_job("send_notification", nid, _job_id=f"again:{nid}")
    await run_worker(mail_settings)

    [task] = await tasks(db)
    assert (task.booking_id, task.kind, task.reason, task.state) == (
        waiting.id,
        "booking_promoted",
        "no_email",
        "open",
    )
    assert format_code(waiting.code) in task.script and "確定しました" in task.script


async def test_a_bounced_mail_becomes_a_call_task_and_an_error(
    db: AsyncSession, mail_settings: Settings
) -> None:
    session = await session_at(db, tokyo_day(4) + timedelta(hours=10))
    who = dataclasses.replace(person(1), email=f"{REFUSED_PREFIX}example.jp")
    async with arq_pool(mail_settings) as redis:
        view = await book_and_commit(db, redis, session.id, who)
    await run_worker(mail_settings)
    [task] = await tasks(db)
    assert (task.booking_id, task.kind, task.reason) == (
        view.id,
        "booking_confirmed",
        "mail_failed",
    )
    assert "メールが届かなかった" in task.script


async def test_declining_by_phone_promotes_the_next_party(
    client: AsyncClient, db: AsyncSession, mail_settings: Settings
) -> None:
    session = await session_at(db, tokyo_day(1) + timedelta(hours=10), capacity=1)
    session_id = session.id
    async with arq_pool(mail_settings) as redis:
        first = await book_and_commit(db, redis, session.id, person(1, email=True))
        second = await book_and_commit(db, redis, session.id, person(2))
        third = await book_and_commit(db, redis, session.id, person(3))
    await bookings.cancel_booking(db, first.code, first.phone)
    await db.commit()
    async with arq_pool(mail_settings) as redis:
        await enqueue_after_commit_jobs(db, redis)
    await run_worker(mail_settings)
    assert [t.booking_id for t in await tasks(db)] == [second.id]

    user = await make_staff(db, "organizer")
    headers = bearer(await issue_token(db, user))
    await web_login(client, db, user)
    listed = await client.get("/api/v1/manage/call-tasks", headers=headers)
    assert listed.status_code == 200
    body = listed.json()
    assert body["counts"] == {"today": 1, "total": 1}
    assert [t["booking_id"] for t in body["tasks"]] == [second.id]
    assert body["tasks"][0]["phone"] == second.phone

    # Nobody answers: still open, due again later.
    r = await client.post(f"/api/v1/manage/bookings/{second.id}/calls/no-answer", headers=headers)
    assert r.status_code == 200, r.text
    [task] = await tasks(db)
    assert (task.state, task.attempts) == ("open", 1)
    # They decline: the booking is cancelled and the next person moves up (and is phoned).
    r = await client.post(f"/api/v1/manage/bookings/{second.id}/calls/declined", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    moved = await bookings.find_booking(db, third.code, third.phone)
    assert moved.status == "confirmed"
    await check_session_invariants(db, session_id)
    async with arq_pool(mail_settings) as redis:
        await enqueue_after_commit_jobs(db, redis)
    await run_worker(mail_settings)
    states = {(t.booking_id, t.state) for t in await tasks(db)}
    assert states == {(second.id, "declined"), (third.id, "open")}
    again = await client.post(f"/api/v1/manage/bookings/{second.id}/calls/reached", headers=headers)
    assert again.status_code == 409

    # The console: the page with one-tap outcomes, 要連絡 on the roster, counts on the home page.
    page = await client.get("/manage/calls")
    assert "電話連絡リスト" in page.text and format_code(third.code) in page.text
    assert f"/manage/bookings/{third.id}/calls/reached" in page.text
    roster = await client.get(f"/manage/sessions/{session_id}")
    assert "要連絡" in roster.text
    home = await client.get("/manage")
    assert "今日かける分 <strong>1</strong>件" in home.text
    done = await client.post(
        f"/manage/bookings/{third.id}/calls/reached",
        data={"_csrf_token": await csrf_token(client)},
    )
    assert done.status_code == 303
    assert {(t.booking_id, t.state) for t in await tasks(db)} == {
        (second.id, "declined"),
        (third.id, "done"),
    }
    exported = await client.get("/manage/calls.csv", params={"state": "all"})
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"), newline="")))
    assert rows[0][:3] == ["期限", "状態", "内容"] and len(rows) == 3
    bad = await client.get("/api/v1/manage/call-tasks", params={"day": "昨日"}, headers=headers)
    assert bad.status_code == 422 and "day" in bad.json()["fields"]


async def test_the_demo_has_a_couple_and_a_promoted_person_on_the_call_list(
    db: AsyncSession, mail_settings: Settings
) -> None:
    assert await load_demo_data(db)
    await load_demo_bookings(db)
    await db.commit()
    async with worker_context(mail_settings) as ctx:
        await sweep_notifications(ctx)
    await run_worker(mail_settings)
    couple = (
        await db.execute(text("SELECT party_size, needs FROM bookings WHERE phone = '0543542111'"))
    ).one()
    assert couple.party_size == 2 and couple.needs
    [task] = await tasks(db)
    assert task.kind == "booking_promoted" and task.reason == "no_email"
    name = await db.scalar(
        text("SELECT p.name FROM bookings b JOIN persons p ON p.id = b.person_id WHERE b.id = :b"),
        {"b": task.booking_id},
    )
    assert name == "松井 春子"
