"""Online sessions: the join link reaches confirmed people only (done page, look-up page, mails,
call list) and never a public page, feed or .ics file; their mails speak of joining."""

from __future__ import annotations

from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.actor import Actor
from service.domain.bookings import service as bookings
from service.domain.calendars import links
from service.domain.calendars import service as calendars
from service.domain.events.models import EventSession
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
from tests.manage_support import make_staff
from tests.test_pages_public import GOOD, hidden_of, submit
from workers.notifications import sweep_notifications, write_reminders

SECRET_URL = "https://meet.example.jp/j/secret-room-4711"
SECRET_NOTE = "パスコード 9931"


async def make_online(db: AsyncSession, session: EventSession) -> None:
    await db.execute(
        text(
            "UPDATE sessions SET is_online = true, join_url = :u, join_instructions = :n "
            "WHERE id = :s"
        ),
        {"u": SECRET_URL, "n": SECRET_NOTE, "s": session.id},
    )
    await db.commit()


async def test_the_join_link_reaches_only_confirmed_people(
    client: AsyncClient, db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    mail_settings = with_smtp_port(settings, port)
    session = await session_at(db, tokyo_day(1) + timedelta(hours=10), capacity=1)
    session_id, event_id = session.id, session.event_id
    await make_online(db, session)

    # Booked on the public pages: the done page tells how to join.
    base = f"/events/{event_id}/sessions/{session_id}/book"
    form = await client.get(base)
    confirm = await submit(client, form, base + "/confirm", {**GOOD, "email": "a@example.jp"})
    done = await client.post(base + "/complete", data=hidden_of(confirm))
    page = await client.get(done.headers["location"])
    assert SECRET_URL in page.text and SECRET_NOTE in page.text
    assert "受付で予約番号" not in page.text

    # Waiting: no link anywhere for them yet.
    async with arq_pool(mail_settings) as redis:
        waiting = await book_and_commit(db, redis, session_id, person(2, email=True))
    assert waiting.status == "waitlisted"
    lookup = await client.get("/bookings/lookup")
    waiting_page = await submit(
        client, lookup, "/bookings/lookup", {"code": waiting.code, "phone": waiting.phone}
    )
    assert SECRET_URL not in waiting_page.text
    confirmed_code = await db.scalar(
        text("SELECT code FROM bookings WHERE status = 'confirmed' AND session_id = :s"),
        {"s": session_id},
    )
    own_page = await submit(
        client, lookup, "/bookings/lookup", {"code": confirmed_code, "phone": GOOD["phone"]}
    )
    assert SECRET_URL in own_page.text

    # Never public: pages, the API, the feeds, the booking's own .ics.
    staff = await make_staff(db, "organizer")
    feed_link = await links.create_link(db, settings, Actor.of(staff), name="スマホ")
    await db.commit()
    booking_ics = await calendars.booking_calendar_path(db, str(confirmed_code))
    assert booking_ics is not None
    public = [
        "/",
        f"/events/{event_id}",
        "/api/v1/events",
        f"/api/v1/events/{event_id}",
        "/events.ics",
        booking_ics,
        feed_link.url.removeprefix(settings.base_url),
    ]
    for url in public:
        r = await client.get(url)
        assert r.status_code == 200, url
        assert SECRET_URL not in r.text and "secret-room" not in r.text, url

    # Mails: the confirmation carries the link; the waiting-list notice does not.
    await run_worker(mail_settings)
    bodies = {m["To"]: body_of(m) for m in mailbox.messages}
    assert SECRET_URL in bodies["a@example.jp"] and "参加方法：オンライン" in bodies["a@example.jp"]
    assert SECRET_URL not in bodies[str(waiting.email)]
    assert "お越しください" not in bodies["a@example.jp"]

    # The reminder speaks of joining, not of coming (booked days ago, due 2 days before).
    mailbox.messages.clear()
    await db.execute(text("UPDATE bookings SET confirmed_at = confirmed_at - interval '9 days'"))
    await db.execute(text("UPDATE events SET reminder_days = '{2}' WHERE id = :e"), {"e": event_id})
    await db.commit()
    async with worker_context(mail_settings) as ctx:
        await write_reminders(ctx)
    await run_worker(mail_settings)
    [reminder] = [body_of(m) for m in mailbox.messages]
    assert "オンラインでの開催" in reminder and SECRET_URL in reminder
    assert "お気をつけてお越しください" not in reminder


async def test_a_promoted_person_without_email_is_read_the_link_on_the_call_list(
    db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    mail_settings = with_smtp_port(settings, smtp[1])
    session = await session_at(db, tokyo_day(2) + timedelta(hours=10), capacity=1)
    session_id = session.id
    await make_online(db, session)
    async with arq_pool(mail_settings) as redis:
        first = await book_and_commit(db, redis, session_id, person(1, email=True))
        await book_and_commit(db, redis, session_id, person(2))
    await bookings.cancel_booking(db, first.code, first.phone)
    await db.commit()
    async with worker_context(mail_settings) as ctx:
        await sweep_notifications(ctx)
    await run_worker(mail_settings)
    script = await db.scalar(text("SELECT script FROM call_tasks"))
    assert script is not None and SECRET_URL in script and SECRET_NOTE in script
