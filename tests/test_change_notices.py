"""Notices that say what changed: a session moved from 10:00 to 10:30 in the console is first
shown to staff (who is told, and how), then mailed as before → after with the updated .ics
(the same UID, a higher SEQUENCE), and phoned with the same before → after; a cancellation's
mail carries a cancelling .ics and no 交通 or 持ち物. Through the real worker and an SMTP
server on loopback."""

from __future__ import annotations

import dataclasses
import html
import re
from datetime import timedelta
from email.message import EmailMessage

import icalendar
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.service import cancel_booking
from service.domain.notifications.call_scripts import call_script
from service.platform.local_time import TOKYO
from service.platform.settings import Settings
from tests.factories import person
from tests.mail_support import (
    Mailbox,
    arq_pool,
    body_of,
    book_and_commit,
    session_at,
    tokyo_day,
    with_smtp_port,
)
from tests.manage_support import make_staff, post_form, web_login
from tests.test_reminders_and_changes import send_all
from tests.test_worker_notifications import subject_of


def calendar_of(message: EmailMessage) -> tuple[str, icalendar.Event]:
    """(the attachment's METHOD parameter, its one VEVENT)."""
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
    [event] = cal.walk("VEVENT")
    assert str(cal["METHOD"]) == part.get_param("method")
    return str(part.get_param("method")), event


def _local(moment: object) -> str:
    from datetime import datetime

    assert isinstance(moment, datetime)
    return moment.astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M")


async def test_a_session_moved_from_10_00_to_10_30_says_before_and_after(
    client: AsyncClient, db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    mail_settings = with_smtp_port(settings, port)
    starts = tokyo_day(6) + timedelta(hours=10)
    session = await session_at(db, starts, capacity=1)
    sid, venue_id, ends = session.id, session.venue_id, session.ends_at
    async with arq_pool(mail_settings) as redis:
        mailed = await book_and_commit(db, redis, sid, person(1, email=True))
        phoned = await book_and_commit(db, redis, sid, person(2))  # waitlisted, no e-mail
    await send_all(mail_settings)
    [confirmation] = mailbox.messages
    _, first_ics = calendar_of(confirmation)
    mailbox.messages.clear()

    await web_login(client, db, await make_staff(db, "organizer"))
    form = {
        "venue_id": str(venue_id),
        "starts_at": _local(starts + timedelta(minutes=30)),
        "ends_at": _local(ends + timedelta(minutes=30)),
        "capacity": "1",
        "waitlist_limit": "10",
    }
    # First the warning: nothing is saved, staff see who is told and how.
    warning = await post_form(client, f"/manage/sessions/{sid}", form)
    assert warning.status_code == 200, warning.text
    page = html.unescape(re.sub(r"<[^>]+>", "", warning.text))
    assert "1名にメール、1名に電話連絡が必要になります" in page
    assert "10:00〜15:00" in page and "10:30〜15:30" in page
    assert 'name="warned" value="1"' in warning.text
    await db.rollback()
    assert (
        await db.scalar(text("SELECT count(*) FROM notifications WHERE kind = 'session_changed'"))
        == 0
    )
    # 「戻って直す」 shows the form again as typed, still saving nothing.
    back = await post_form(client, f"/manage/sessions/{sid}", {**form, "back": "1"})
    assert back.status_code == 200 and "回を編集" in back.text
    # Confirmed: saved, and everyone booked is told.
    saved = await post_form(client, f"/manage/sessions/{sid}", {**form, "warned": "1"})
    assert saved.status_code == 303, saved.text
    await send_all(mail_settings)

    [message] = mailbox.messages
    assert subject_of(message).startswith(
        "【NEXTワークしずおか】【変更のお知らせ】日時が変わりました"
    )
    body = body_of(message)
    day = starts.astimezone(TOKYO)
    when = f"{day.month}月{day.day}日"
    assert f"変更前：{when}" in body and "10:00〜15:00" in body
    assert f"変更後：{when}" in body and "10:30〜15:30" in body
    assert body.index("変更前") < body.index("変更後")
    method, changed_ics = calendar_of(message)
    assert method == "PUBLISH"
    assert changed_ics["UID"] == first_ics["UID"]
    assert int(changed_ics["SEQUENCE"]) > int(first_ics["SEQUENCE"])
    assert changed_ics.decoded("DTSTART").astimezone(TOKYO).strftime("%H:%M") == "10:30"

    await db.rollback()
    [script] = await db.scalars(
        text("SELECT script FROM call_tasks WHERE booking_id = :b"), {"b": phoned.id}
    )
    assert (
        "日時は、" in script
        and "10:00〜15:00から" in script
        and "10:30〜15:30に変わりました" in script
    )
    assert mailed.id != phoned.id


async def test_cancellation_mail_carries_a_cancelling_ics_without_travel_notes(
    db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    mail_settings = with_smtp_port(settings, port)
    session = await session_at(db, tokyo_day(4) + timedelta(hours=10))
    await db.execute(
        text("UPDATE venues SET access_notes = '清水駅から徒歩5分' WHERE id = :v"),
        {"v": session.venue_id},
    )
    await db.commit()
    async with arq_pool(mail_settings) as redis:
        booked = await book_and_commit(db, redis, session.id, person(3, email=True))
    await send_all(mail_settings)
    [confirmation] = mailbox.messages
    assert "交通：清水駅から徒歩5分" in body_of(confirmation)
    assert "持ち物：筆記用具" in body_of(confirmation)
    _, added = calendar_of(confirmation)
    mailbox.messages.clear()

    await cancel_booking(db, booked.code, booked.phone)
    await db.commit()
    await send_all(mail_settings)
    [message] = mailbox.messages
    body = body_of(message)
    assert "取り消しを承りました" in body
    assert "交通：" not in body and "持ち物：" not in body
    method, cancelling = calendar_of(message)
    assert method == "CANCEL"
    assert str(cancelling["STATUS"]) == "CANCELLED"
    assert cancelling["UID"] == added["UID"]
    assert int(cancelling["SEQUENCE"]) > int(added["SEQUENCE"])
    assert "ORGANIZER" in cancelling


def test_a_reason_that_ends_in_notame_is_not_doubled() -> None:
    from tests.test_notifications import facts

    for reason, said in [
        ("台風の接近のため", "台風の接近のため、中止"),
        ("講師の体調不良", "講師の体調不良のため、中止"),
        ("会場の都合により", "会場の都合により、中止"),
    ]:
        script = call_script(
            "session_cancelled",
            dataclasses.replace(facts(), session_cancel_reason=reason),
            "no_email",
        )
        assert said in script and "のためのため" not in script


async def _calls_of(db: AsyncSession, booking_id: int) -> list[tuple[str, str]]:
    await db.rollback()
    rows = await db.execute(
        text("SELECT state, script FROM call_tasks WHERE booking_id = :b ORDER BY id"),
        {"b": booking_id},
    )
    return [(str(r[0]), str(r[1])) for r in rows]


async def test_changes_before_the_call_are_one_call_from_what_the_person_last_heard(
    client: AsyncClient, db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    """10:00 → 10:30, then → 11:00, before the desk phoned: one card, 10:00 → 11:00 (the first
    is superseded: it would tell a time that is no longer true). Changed back to 10:00: no card
    at all. After the call, the next change is told from what they heard."""
    mailbox, port = smtp
    mail_settings = with_smtp_port(settings, port)
    starts = tokyo_day(6) + timedelta(hours=10)
    session = await session_at(db, starts, capacity=2)
    sid, venue_id, ends = session.id, session.venue_id, session.ends_at
    async with arq_pool(mail_settings) as redis:
        phoned = await book_and_commit(db, redis, sid, person(5))  # confirmed, no e-mail
        await book_and_commit(db, redis, sid, person(6, email=True))
    await send_all(mail_settings)
    await web_login(client, db, await make_staff(db, "organizer"))

    async def move_by(minutes: int) -> None:
        form = {
            "venue_id": str(venue_id),
            "starts_at": _local(starts + timedelta(minutes=minutes)),
            "ends_at": _local(ends + timedelta(minutes=minutes)),
            "capacity": "2",
            "waitlist_limit": "10",
            "warned": "1",
        }
        saved = await post_form(client, f"/manage/sessions/{sid}", form)
        assert saved.status_code == 303, saved.text
        await send_all(mail_settings)

    await move_by(30)
    [(state, script)] = await _calls_of(db, phoned.id)
    assert state == "open" and "10:00〜15:00から" in script and "10:30〜15:30に" in script

    await move_by(60)
    [(first, _), (second, script)] = await _calls_of(db, phoned.id)
    assert (first, second) == ("superseded", "open")
    assert "10:00〜15:00から" in script and "11:00〜16:00に変わりました" in script
    assert "10:30" not in script

    await move_by(0)  # back to what they were last told (nothing): nobody to phone
    assert [s for s, _ in await _calls_of(db, phoned.id)] == ["superseded", "superseded"]

    await move_by(30)
    [*_, (state, script)] = await _calls_of(db, phoned.id)
    assert state == "open" and "10:00〜15:00から" in script and "10:30〜15:30に" in script
    reached = await post_form(client, f"/manage/bookings/{phoned.id}/calls/reached", {})
    assert reached.status_code == 303, reached.text

    await move_by(60)  # told 10:30 on the phone: this change is from 10:30
    [*_, (done, _), (state, script)] = await _calls_of(db, phoned.id)
    assert (done, state) == ("done", "open")
    assert "10:30〜15:30から" in script and "11:00〜16:00に変わりました" in script
    page = await client.get("/manage/calls", params={"state": "superseded"})
    assert page.status_code == 200 and "後の変更とまとめて連絡" in page.text
    # Mail goes at once, so the person with an address hears every change, 10:30 twice too
    # (its notice is not taken for the first one's duplicate).
    changes = [m for m in mailbox.messages if "変更のお知らせ" in subject_of(m)]
    assert len(changes) == 5
    assert ["11:00〜16:00" in body_of(m).split("変更後")[1] for m in changes] == [
        False,
        True,
        False,
        False,
        True,
    ]


async def test_a_changed_join_link_is_a_newer_calendar_file_each_time(
    client: AsyncClient, db: AsyncSession, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    """An online session's link changed, changed back, and changed again: three mails, each
    with the booking's .ics at a higher SEQUENCE than the last (a calendar takes a file with
    the same SEQUENCE as the old one and keeps the old link)."""
    mailbox, port = smtp
    mail_settings = with_smtp_port(settings, port)
    starts = tokyo_day(6) + timedelta(hours=10)
    session = await session_at(db, starts, capacity=2)
    sid, venue_id, ends = session.id, session.venue_id, session.ends_at
    links = ["https://meet.example.jp/j/room-a", "https://meet.example.jp/j/room-b"]
    await db.execute(
        text("UPDATE sessions SET is_online = true, join_url = :u WHERE id = :s"),
        {"u": links[0], "s": sid},
    )
    await db.commit()
    async with arq_pool(mail_settings) as redis:
        await book_and_commit(db, redis, sid, person(7, email=True))
    await send_all(mail_settings)
    [confirmation] = mailbox.messages
    sequences = [int(calendar_of(confirmation)[1]["SEQUENCE"])]
    mailbox.messages.clear()
    await web_login(client, db, await make_staff(db, "organizer"))
    for link in (links[1], links[0], links[1]):
        form = {
            "venue_id": str(venue_id),
            "starts_at": _local(starts),
            "ends_at": _local(ends),
            "capacity": "2",
            "waitlist_limit": "10",
            "is_online": "1",
            "join_url": link,
            "warned": "1",
        }
        saved = await post_form(client, f"/manage/sessions/{sid}", form)
        assert saved.status_code == 303, saved.text
        await send_all(mail_settings)
        [mail] = mailbox.messages
        mailbox.messages.clear()
        assert "参加用のリンク" in body_of(mail) and link in body_of(mail)
        sequences.append(int(calendar_of(mail)[1]["SEQUENCE"]))
    assert sequences == sorted(set(sequences)), sequences
