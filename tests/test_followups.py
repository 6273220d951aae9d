"""The follow-up survey on the real stack: who a campaign reaches and by which channel, the
mails sent by the worker to a real SMTP server, the letters and labels as PDFs read back, the
call list, answers by form, paper and phone, and 就職した counted once in 雇用・就業数 after
the workers compile."""

from __future__ import annotations

import io
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

import pdfplumber
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.actor import Actor
from service.domain.bookings import service as bookings
from service.domain.followups import service as followups
from service.domain.indicators import fiscal
from service.domain.indicators.report import read_report
from service.domain.people import service as people
from service.platform.settings import Settings
from tests.factories import make_session
from tests.mail_support import Mailbox, worker_context
from tests.manage_support import bearer, issue_token, make_staff, person, post_form
from workers.followups import send_follow_up_mails
from workers.indicators import compile_stale_indicators


async def _attended(db: AsyncSession, n: int, **changes: Any) -> int:
    """A person who attended a session 10 days ago; their id."""
    s = await make_session(db)
    booked = await bookings.book(db, s.id, person(n, **changes))
    await db.execute(
        text("""
            UPDATE sessions SET starts_at = now() - interval '10 days',
                   ends_at = now() - interval '10 days' + interval '2 hours',
                   booking_opens_at = now() - interval '30 days',
                   booking_closes_at = now() - interval '11 days'
            WHERE id = :s
        """),
        {"s": s.id},
    )
    await db.execute(
        text("UPDATE bookings SET checked_in_at = now() - interval '10 days' WHERE id = :b"),
        {"b": booked.id},
    )
    await db.commit()
    found = await db.scalar(text("SELECT person_id FROM bookings WHERE id = :b"), {"b": booked.id})
    assert found is not None
    return int(found)


async def _world(db: AsyncSession) -> dict[str, int]:
    """One reached by mail, two by post, one by phone, one withdrawn, one who only booked."""
    ids = {
        "mail": await _attended(db, 1, email="m1@example.jp"),
        "post_a": await _attended(db, 2),
        "post_b": await _attended(db, 3),
        "phone": await _attended(db, 4),
        "withdrawn": await _attended(db, 5, email="gone@example.jp"),
    }
    await people.update(
        db, ids["post_a"], {"postal_code": "424-0806", "contact_by": ["post"]}, actor=None
    )
    await people.update(
        db,
        ids["post_b"],
        {"postal_code": "4200853", "address": "静岡県静岡市葵区追手町5-1", "contact_by": ["post"]},
        actor=None,
    )
    await people.withdraw(db, ids["withdrawn"], actor=None)
    # Booked but never came: not in the campaign.
    s = await make_session(db)
    await bookings.book(db, s.id, person(6, email="never@example.jp"))
    await db.commit()
    return ids


def _pdf_text(body: bytes) -> str:
    with pdfplumber.open(io.BytesIO(body)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


async def test_a_campaign_reaches_each_by_their_channel(
    client: AsyncClient, db: AsyncSession, mail_settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    ids = await _world(db)
    staff = await make_staff(db, "organizer")
    h = bearer(await issue_token(db, staff))
    today = clock.now().date()
    r = await client.post(
        "/api/v1/manage/follow-ups",
        json={
            "title": "12月の就業状況調査",
            "attended_from": (today - timedelta(days=30)).isoformat(),
            "attended_to": today.isoformat(),
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    campaign = r.json()
    assert campaign["counts"] == {"mail": 1, "post": 2, "phone": 1, "total": 4}
    targets = set(
        await db.scalars(
            text("SELECT person_id FROM follow_up_targets WHERE campaign_id = :c"),
            {"c": campaign["id"]},
        )
    )
    assert ids["withdrawn"] not in targets and len(targets) == 4
    cid = campaign["id"]
    assert (
        await client.get(f"/api/v1/manage/follow-ups/{cid}/letters.pdf", headers=h)
    ).status_code == 409

    sent = await client.post(f"/api/v1/manage/follow-ups/{cid}/send", headers=h)
    assert sent.status_code == 202
    async with worker_context(mail_settings) as ctx:
        assert await send_follow_up_mails(ctx, cid) == 1
        assert await send_follow_up_mails(ctx, cid) == 0  # run twice: nothing sent again
    mailbox = smtp[0]
    assert [m["To"] for m in mailbox.messages] == ["m1@example.jp"]
    body = mailbox.messages[0].get_content()
    assert "/follow-up/" in body and "就業状況" in mailbox.messages[0]["Subject"]
    assert mailbox.messages[0]["Message-ID"].startswith("<follow-up-")
    sender = parseaddr(str(mailbox.messages[0]["From"]))[1]
    assert sender == parseaddr(mail_settings.mail_from)[1]
    # The link in the mail opens the form.
    link = next(w for w in body.split() if "/follow-up/" in w)
    assert (await client.get(link.replace(mail_settings.base_url, ""))).status_code == 200

    letters = await client.get(f"/api/v1/manage/follow-ups/{cid}/letters.pdf", headers=h)
    assert letters.status_code == 200 and letters.headers["content-type"] == "application/pdf"
    words = _pdf_text(letters.content)
    codes = dict(
        (await db.execute(
            text("SELECT person_id, short_code FROM follow_up_targets WHERE channel = 'post'")
        )).all()
    )  # fmt: skip
    assert "〒424-0806" in words and "〒420-0853" in words
    assert "静岡県静岡市清水区" in words and "静岡県静岡市葵区追手町5-1" in words
    for code in codes.values():
        assert f"/f/{code}" in words
    # The letters are sorted by postal code: 420 before 424.
    assert words.index("〒420-0853") < words.index("〒424-0806")
    for per_sheet in (12, 24):
        labels = await client.get(
            f"/api/v1/manage/follow-ups/{cid}/labels.pdf",
            params={"per_sheet": per_sheet},
            headers=h,
        )
        assert labels.status_code == 200
        text_of = _pdf_text(labels.content)
        assert text_of.index("〒420-0853") < text_of.index("〒424-0806")
    bad = await client.get(
        f"/api/v1/manage/follow-ups/{cid}/labels.pdf", params={"per_sheet": 10}, headers=h
    )
    assert bad.status_code == 422 and "per_sheet" in bad.json()["fields"]
    calls = (await client.get(f"/api/v1/manage/follow-ups/{cid}/calls", headers=h)).json()
    assert [c["person_id"] for c in calls] == [ids["phone"]]

    # The letter's short URL: a phone-sized form, no login.
    form = await client.get(f"/f/{codes[ids['post_a']]}")
    assert form.status_code == 200 and "就業状況のおたずね" in form.text
    answered = await post_form(
        client,
        f"/f/{codes[ids['post_a']]}",
        {"status": "employed", "employer": "清水警備株式会社", "started_on": "2026-11",
         "employment_type": "part_time", "sector": "security"},
    )  # fmt: skip
    assert answered.status_code == 303
    assert "ご回答ありがとうございました" in (await client.get(answered.headers["location"])).text
    # Changed, not added, while open.
    await post_form(
        client,
        f"/f/{codes[ids['post_a']]}",
        {"status": "employed", "employer": "清水警備（株）", "started_on": "2026-11"},
    )
    # A phone answer entered by staff.
    r = await client.post(
        f"/api/v1/manage/follow-ups/{cid}/answers",
        json={"person_id": ids["phone"], "status": "seeking", "via": "phone"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/manage/follow-ups/{cid}/answers",
        json={"person_id": ids["withdrawn"], "status": "seeking", "via": "paper"},
        headers=h,
    )
    assert r.status_code == 422

    shown = (await client.get(f"/api/v1/manage/follow-ups/{cid}", headers=h)).json()
    assert len(shown["answers"]) == 2 and shown["placements"] == 1
    rates = {x["channel"]: (x["targets"], x["answered"]) for x in shown["response_rates"]}
    assert rates == {"mail": (1, 0), "post": (2, 1), "phone": (1, 1)}
    assert shown["sent"]["mail"] == 1 and shown["sent"]["post"] == 2


async def test_employed_counts_once_in_placements_after_the_workers_compile(
    db: AsyncSession, settings: Settings
) -> None:
    ids = await _world(db)
    staff = await make_staff(db, "organizer")
    actor = Actor.of(staff)
    today = clock.now().date()
    year = fiscal.fiscal_year_of(clock.now())

    async def placements() -> int:
        async with worker_context(settings) as ctx:
            await compile_stale_indicators(ctx)
        report = await read_report(db, actor, year)
        row = next(r for r in report.rows if r.code == "outcome_senior_placements")
        return int(row.actual or 0)

    before = await placements()
    # The desk already recorded this person's placement by name.
    await db.execute(
        text("""
            INSERT INTO desk_records (kind, occurred_on, sector, person_name, company,
                                      company_key, senior, quantity, note)
            VALUES ('placement', :day, 'general', '静岡太郎2', 'A社', 'a社', true, 1, '')
        """),
        {"day": today},
    )
    await db.commit()
    assert await placements() == before + 1
    window = {"attended_from": today - timedelta(days=30), "attended_to": today}
    view = await followups.create(db, actor, {"title": "調査", **window})
    await followups.send(db, actor, view.id)
    await db.commit()
    for pid in (ids["post_a"], ids["phone"]):
        await followups.answer_for(
            db,
            actor,
            view.id,
            {"person_id": pid, "status": "employed", "via": "paper", "employer": "B社",
             "started_on": today.isoformat()},
        )  # fmt: skip
    await db.commit()
    # post_a (静岡 太郎2) was already counted by the desk: only the phone person is new.
    assert await placements() == before + 2
    # Answered again (changed): still counted once.
    await followups.answer_for(
        db, actor, view.id,
        {"person_id": ids["phone"], "status": "employed", "via": "phone", "employer": "C社"},
    )  # fmt: skip
    await db.commit()
    assert await placements() == before + 2
    # A second campaign does not ask those now known to be working.
    again = await followups.create(db, actor, {"title": "再調査", **window})
    await db.commit()
    asked = set(
        await db.scalars(
            text("SELECT person_id FROM follow_up_targets WHERE campaign_id = :c"),
            {"c": again.id},
        )
    )
    # Not those now working, never the withdrawn one.
    assert asked == {ids["mail"], ids["post_b"]}


async def test_the_console_campaign_pages(client: AsyncClient, db: AsyncSession) -> None:
    from tests.manage_support import web_login

    ids = await _world(db)
    staff = await make_staff(db, "organizer")
    await web_login(client, db, staff)
    today = clock.now().date()
    assert (await client.get("/manage/follow-ups")).status_code == 200
    refused = await post_form(client, "/manage/follow-ups", {"title": "", "attended_from": "x"})
    assert refused.status_code == 422 and "題名を入力してください" in refused.text
    r = await post_form(
        client,
        "/manage/follow-ups",
        {"title": "調査", "attended_from": (today - timedelta(days=30)).isoformat(),
         "attended_to": today.isoformat()},
    )  # fmt: skip
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert page.status_code == 200 and "方法ごとの人数と回答率" in page.text
    cid = int(r.headers["location"].rsplit("/", 1)[1].split("?")[0])
    assert "送る" in (await client.get(f"/manage/follow-ups/{cid}/send")).text
    assert (await post_form(client, f"/manage/follow-ups/{cid}/send")).status_code == 303
    page = await client.get(f"/manage/follow-ups/{cid}")
    assert "電話でおたずねする方" in page.text and "静岡 太郎4" in page.text
    r = await post_form(
        client,
        f"/manage/follow-ups/{cid}/answers",
        {"person_id": str(ids["post_b"]), "via": "paper", "status": "not_working"},
    )
    assert r.status_code == 303
    page = await client.get(f"/manage/follow-ups/{cid}")
    assert "就業していない" in page.text
    labels = await client.get(f"/manage/follow-ups/{cid}/labels.pdf?per_sheet=24")
    assert labels.status_code == 200 and labels.content.startswith(b"%PDF")
