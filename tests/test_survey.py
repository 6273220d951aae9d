"""The satisfaction survey end to end: the day after an attended seminar a real worker mails
attendees with an address a link (real SMTP on loopback); the one-question page takes one
answer per booking without a login; the link expires 30 days after the session; answers count
in 相談窓口の利用満足度."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.errors import Conflict
from service.domain.indicators import fiscal
from service.domain.indicators import service as indicators
from service.domain.indicators.survey import survey_path, survey_target
from service.platform.local_time import TOKYO
from service.platform.settings import Settings
from tests import indicator_support as w
from tests.mail_support import (
    Mailbox,
    body_of,
    run_worker,
    with_smtp_port,
    worker_context,
)
from tests.manage_support import csrf_token
from workers.notifications import write_survey_invitations


async def seminar_yesterday(db: AsyncSession, days_ago: int = 1) -> dict[str, int]:
    organizer = await w.org(db, f"主催{days_ago}", "organizer")
    event = await w.event(db, organizer, kind="seminar", sector="community")
    day = datetime.now(UTC).astimezone(TOKYO).date() - timedelta(days=days_ago)
    session = await w.held_session(
        db, event, await w.venue(db), w.jst(day.year, day.month, day.day)
    )
    await w.bookings(db, session, checked_in=2, no_shows=1)
    rows = (
        await db.execute(
            text("SELECT id FROM bookings WHERE session_id = :s ORDER BY id"),
            {"s": session.id},
        )
    ).all()
    # checked_in=2, no_shows=1: two attended (the second without an address), one absent.
    attended_mail, _, absent = (r[0] for r in rows)
    await db.execute(
        text("UPDATE bookings SET email = 'p' || id || '@example.jp' WHERE id = ANY(:ids)"),
        {"ids": [attended_mail, absent]},
    )
    await db.commit()
    return {"session": session.id, "attended": attended_mail, "absent": absent}


async def test_the_day_after_an_attended_seminar_the_survey_is_mailed_and_answered_once(
    client: AsyncClient,
    db: AsyncSession,
    settings: Settings,
    smtp: tuple[Mailbox, int],
) -> None:
    ids = await seminar_yesterday(db)
    mail_settings = with_smtp_port(settings, smtp[1])
    async with worker_context(mail_settings) as ctx:
        assert await write_survey_invitations(ctx) == 1
        assert await write_survey_invitations(ctx) == 0
    await run_worker(mail_settings)
    mailbox = smtp[0]
    assert len(mailbox.messages) == 1
    assert mailbox.recipients[0] == [f"p{ids['attended']}@example.jp"]
    body = body_of(mailbox.messages[0])
    assert "アンケート" in str(mailbox.messages[0]["Subject"])
    link = re.search(r"http://\S+(/survey/\S+)", body)
    assert link is not None
    path = link.group(1)

    page = await client.get(path)
    assert page.status_code == 200 and "今回のご利用に、どのくらい満足されましたか" in page.text
    token = await csrf_token(client)
    missing = await client.post(path, data={"_csrf_token": token, "comment": "<b>x</b>"})
    assert missing.status_code == 422 and "満足度を選んでください。" in missing.text
    assert "&lt;b&gt;x&lt;/b&gt;" in missing.text
    done = await client.post(
        path, data={"_csrf_token": token, "score": "4", "comment": "丁寧でした"}
    )
    assert done.status_code == 200 and "ご回答ありがとうございました" in done.text
    again = await client.post(path, data={"_csrf_token": token, "score": "1"})
    assert "すでにお答えいただいています" in again.text
    answers = (
        await db.execute(text("SELECT booking_id, score, source, comment FROM survey_answers"))
    ).all()
    assert [tuple(a) for a in answers] == [(ids["attended"], 4, "web", "丁寧でした")]
    # Tampered links find nothing.
    assert (await client.get(path[:-2] + "xx")).status_code == 404

    year = fiscal.fiscal_year_of(datetime.now(UTC) - timedelta(days=1))
    await indicators.compile_year(db, year)
    await db.commit()
    from service.domain.accounts.actor import Actor
    from service.domain.indicators.report import read_report
    from tests.manage_support import make_staff

    report = await read_report(db, Actor.of(await make_staff(db, "admin")), year)
    # A seminar's answer is イベント満足度; 相談窓口の利用満足度 counts the desk's answers only.
    satisfaction = next(r for r in report.rows if r.code == "outcome_event_satisfaction")
    assert satisfaction.answers == 1 and satisfaction.actual == 100
    desk = next(r for r in report.rows if r.code == "outcome_satisfaction")
    assert desk.answers is None and desk.actual is None


async def test_the_link_expires_thirty_days_after_the_session(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    ids = await seminar_yesterday(db, days_ago=1)
    ends = await db.scalar(
        text("SELECT ends_at FROM sessions WHERE id = :s"), {"s": ids["session"]}
    )
    assert ends is not None
    token = survey_path(settings, ids["attended"], ends).rsplit("/", 1)[1]
    await survey_target(db, settings, token, now=ends + timedelta(days=29))
    with pytest.raises(Conflict) as caught:
        await survey_target(db, settings, token, now=ends + timedelta(days=31))
    assert caught.value.code == "survey_expired"
    old = await seminar_yesterday(db, days_ago=40)
    old_ends = await db.scalar(
        text("SELECT ends_at FROM sessions WHERE id = :s"), {"s": old["session"]}
    )
    assert old_ends is not None
    page = await client.get(survey_path(settings, old["attended"], old_ends))
    assert page.status_code == 410 and "回答の期限を過ぎました" in page.text
    # No answer page for someone who did not attend.
    absent = await client.get(survey_path(settings, ids["absent"], ends))
    assert absent.status_code == 404


async def test_an_attendee_without_mail_but_with_line_gets_the_survey_by_line(
    db: AsyncSession, settings: Settings
) -> None:
    import dataclasses

    from service.domain.line.repository import LineRepository, NewsPrefs
    from tests.line_standin import SECRET, TOKEN, LineStandIn, user_id

    ids = await seminar_yesterday(db)
    [no_mail] = (
        await db.execute(
            text(
                "SELECT id, person_id FROM bookings WHERE session_id = :s AND email IS NULL "
                "AND checked_in_at IS NOT NULL"
            ),
            {"s": ids["session"]},
        )
    ).all()
    await LineRepository(db).link(user_id(1), no_mail.person_id, NewsPrefs())
    await db.commit()
    async with LineStandIn().running() as standin:
        line_settings = dataclasses.replace(
            settings,
            line_channel_secret=SECRET,
            line_channel_access_token=TOKEN,
            line_api_base_url=standin.url,
        )
        async with worker_context(line_settings) as ctx:
            assert await write_survey_invitations(ctx) == 2
        await run_worker(line_settings)
    [push] = standin.delivered("push")
    assert push.body["to"] == user_id(1)
    [message] = push.body["messages"]
    assert "アンケート" in message["text"]
    [button] = [i["action"] for i in message["quickReply"]["items"]]
    assert button["type"] == "uri" and "/survey/" in button["uri"]
