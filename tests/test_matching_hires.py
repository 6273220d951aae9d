"""A hire after a match becomes the person's placement, counted once in 雇用・就業数 however it
was learnt (a follow-up answer of the same year adds nothing); the person page and the API list
the matching days' meetings and outcomes, also after a merge. Real PostgreSQL, Redis, worker."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.actor import Actor
from service.domain.events.models import Organization
from service.domain.followups import service as followups
from service.domain.indicators import fiscal
from service.domain.indicators import placements as placements_module
from service.domain.indicators.report import read_report
from service.platform.settings import Settings
from tests.factories import make_event, make_org, make_session
from tests.mail_support import worker_context
from tests.manage_support import bearer, issue_token, make_staff, person, post_form, web_login
from tests.test_followups import _attended
from workers.indicators import compile_stale_indicators


async def _book(client: AsyncClient, session_id: int, n: int, phone: str, kana: str) -> None:
    p = person(n)
    r = await client.post(
        f"/api/v1/sessions/{session_id}/bookings",
        json={
            "name": p.name,
            "name_kana": kana,
            "phone": phone,
            "age_band": "65_69",
            "matching": {"profile": "総務・経理30年。", "consent": True},
        },
    )
    assert r.status_code in (200, 201), r.text


async def _day(
    db: AsyncSession, client: AsyncClient, h: dict[str, str], prefix: str = "株式会社採用"
) -> dict[str, Any]:
    event = await make_event(db, title="新現役交流会", kind="exchange")
    session = await make_session(db, event=event, capacity=10, waitlist_limit=0)
    orgs = [(await make_org(db, f"{prefix}{i}", kind="employer")).id for i in range(2)]
    ids = {"event": event.id, "session": session.id, "orgs": orgs}
    await db.commit()
    base = f"/api/v1/manage/events/{ids['event']}/matching"
    r = await client.put(
        base,
        json={"slot_minutes": 20, "break_minutes": 5, "max_per_company": 4, "max_per_person": 3},
        headers=h,
    )
    assert r.status_code == 200, r.text
    for org in orgs:
        r = await client.post(
            f"{base}/companies",
            json={"organization_id": org, "brings": "経理", "tables": 1},
            headers=h,
        )
        assert r.status_code == 200, r.text
    return ids


async def _meeting(
    db: AsyncSession, client: AsyncClient, h: dict[str, str], ids: dict[str, Any],
    org: int, booking: int, slot: int,
) -> int:  # fmt: skip
    table = await db.scalar(
        text("SELECT id FROM matching_tables WHERE event_id = :e AND organization_id = :o"),
        {"e": ids["event"], "o": org},
    )
    await db.rollback()
    r = await client.post(
        f"/api/v1/manage/events/{ids['event']}/matching/meetings",
        json={"organization_id": org, "booking_id": booking, "table_id": table, "slot": slot},
        headers=h,
    )
    assert r.status_code == 200, r.text
    return int(r.json()["id"])


async def test_a_hire_after_a_match_counts_once_with_the_follow_up_answer(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    organizer = await make_staff(db, "organizer")
    actor = Actor.of(organizer)
    h = bearer(await issue_token(db, organizer))
    pid = await _attended(db, 7)  # came to a seminar 10 days ago: the follow-up asks them
    ids = await _day(db, client, h)
    p7 = person(7)
    await _book(client, ids["session"], 7, p7.phone, p7.name_kana)
    booking = await db.scalar(
        text("SELECT id FROM bookings WHERE session_id = :s AND person_id = :p"),
        {"s": ids["session"], "p": pid},
    )
    assert booking is not None  # the day's booking is the same person (phone and kana)
    org_a, org_b = ids["orgs"]
    matched = await _meeting(db, client, h, ids, org_a, booking, 0)
    other = await _meeting(db, client, h, ids, org_b, booking, 1)
    for meeting_id, result in ((matched, "matched"), (other, "not_matched")):
        r = await client.post(
            f"/api/v1/manage/matching/meetings/{meeting_id}/outcome",
            json={"result": result},
            headers=h,
        )
        assert r.status_code == 200
    year = fiscal.fiscal_year_of(clock.now())

    async def placements() -> int:
        async with worker_context(settings) as ctx:
            await compile_stale_indicators(ctx)
        await db.rollback()
        report = await read_report(db, actor, year)
        row = next(r for r in report.rows if r.code == "outcome_senior_placements")
        return int(row.actual or 0)

    before = await placements()
    month = clock.now().date().replace(day=1)
    url = "/api/v1/manage/matching/meetings/{}/placement"
    # Bad input names the field; a meeting without a match is refused; nothing written.
    r = await client.post(
        url.format(matched), json={"started_on": "", "employment_type": "x"}, headers=h
    )
    assert r.status_code == 422
    assert set(r.json()["fields"]) == {"started_on", "employment_type"}
    r = await client.post(
        url.format(matched),
        json={"started_on": "2026-13", "employment_type": "regular\u202e"},
        headers=h,
    )
    assert r.status_code == 422
    r = await client.post(
        url.format(other),
        json={"started_on": f"{month:%Y-%m}", "employment_type": "regular"},
        headers=h,
    )
    assert r.status_code == 409 and r.json()["error"] == "meeting_not_matched"
    # Another company's login does not find the meeting.
    company_b = await make_staff(db, "company", organization=await db.get(Organization, org_b))
    cb = bearer(await issue_token(db, company_b))
    r = await client.post(
        url.format(matched),
        json={"started_on": f"{month:%Y-%m}", "employment_type": "regular"},
        headers=cb,
    )
    assert r.status_code == 404

    # The company records the hire, typed in full-width digits.
    company_a = await make_staff(db, "company", organization=await db.get(Organization, org_a))
    ca = bearer(await issue_token(db, company_a))
    typed = f"{month.year}年{month.month}月".translate(
        str.maketrans("0123456789", "０１２３４５６７８９")
    )
    r = await client.post(
        url.format(matched), json={"started_on": typed, "employment_type": "part_time"}, headers=ca
    )
    assert r.status_code == 200, r.text
    hire = r.json()
    assert hire["person_id"] == pid and hire["counted_now"] is True
    assert hire["started_on"] == month.isoformat()
    record = (
        await db.execute(
            text("SELECT person_id, company, occurred_on, kind FROM desk_records WHERE id = :r"),
            {"r": hire["placement_record_id"]},
        )
    ).one()
    assert tuple(record) == (pid, "株式会社採用0", month, "placement")
    assert await placements() == before + 1
    # Once only; and the match stands while a hire is recorded.
    r = await client.post(
        url.format(matched), json={"started_on": typed, "employment_type": "regular"}, headers=h
    )
    assert r.status_code == 409 and r.json()["error"] == "hire_recorded"
    r = await client.post(
        f"/api/v1/manage/matching/meetings/{matched}/outcome",
        json={"result": "not_matched"},
        headers=h,
    )
    assert r.status_code == 409 and r.json()["error"] == "hire_recorded"
    schedule = (
        await client.get(f"/api/v1/manage/events/{ids['event']}/matching/schedule", headers=h)
    ).json()["meetings"]
    mine = next(m for m in schedule if m["id"] == matched)
    assert (mine["hired_on"], mine["employment_type"]) == (month.isoformat(), "part_time")

    # The follow-up survey learns the same job: still one placement this year.
    window = {
        "attended_from": clock.now().date() - timedelta(days=30),
        "attended_to": clock.now().date(),
    }
    view = await followups.create(db, actor, {"title": "調査", **window})
    await followups.send(db, actor, view.id)
    await db.commit()
    answer = {
        "person_id": pid,
        "status": "employed",
        "via": "phone",
        "employer": "株式会社採用0",
        "started_on": f"{month:%Y-%m}",
        "employment_type": "part_time",
        "sector": "general",
    }
    await followups.answer_for(db, actor, view.id, answer)
    await db.commit()
    assert await placements() == before + 1
    # The answer changed afterwards: the hire from the meeting still counts.
    await followups.answer_for(db, actor, view.id, {**answer, "status": "seeking"})
    await db.commit()
    assert await placements() == before + 1
    count = await db.scalar(
        text("SELECT count(*) FROM desk_records WHERE kind = 'placement' AND person_id = :p"),
        {"p": pid},
    )
    assert count == 1


async def test_the_console_button_records_the_hire(client: AsyncClient, db: AsyncSession) -> None:
    organizer = await make_staff(db, "organizer")
    h = bearer(await issue_token(db, organizer))
    ids = await _day(db, client, h)
    await _book(client, ids["session"], 8, "09011112222", "シミズ ハナコ")
    booking = await db.scalar(
        text("SELECT id FROM bookings WHERE session_id = :s"), {"s": ids["session"]}
    )
    org_a = ids["orgs"][0]
    meeting = await _meeting(db, client, h, ids, org_a, booking, 0)
    # The timetable shows once built (the build itself is tests/test_matching.py's).
    await db.execute(
        text("UPDATE matching_days SET schedule_status = 'ready' WHERE event_id = :e"),
        {"e": ids["event"]},
    )
    await db.commit()
    company = await make_staff(db, "company", organization=await db.get(Organization, org_a))
    await web_login(client, db, company)
    page_path = f"/manage/events/{ids['event']}/matching/companies/{org_a}"
    assert "採用を記録" not in (await client.get(page_path)).text
    r = await post_form(
        client, f"/manage/matching/meetings/{meeting}/outcome", {"result": "matched", "note": ""}
    )
    assert r.status_code == 303
    page = (await client.get(page_path)).text
    assert f'href="/manage/matching/meetings/{meeting}/placement"' in page
    form = await client.get(f"/manage/matching/meetings/{meeting}/placement")
    assert form.status_code == 200 and "働き始めた月" in form.text
    r = await post_form(
        client,
        f"/manage/matching/meetings/{meeting}/placement",
        {"started_on": "", "employment_type": ""},
    )
    assert r.status_code == 422
    assert "働き始めた月を「2026-04」の形で入力してください。" in r.text
    assert "働き方を一覧から選んでください。" in r.text
    month = clock.now().date().replace(day=1)
    r = await post_form(
        client,
        f"/manage/matching/meetings/{meeting}/placement",
        {"started_on": f"{month:%Y-%m}", "employment_type": "regular"},
    )
    assert r.status_code == 303, r.text
    page = (await client.get(r.headers["location"])).text
    assert "採用を記録しました。" in page
    assert f"採用：{month.year}年{month.month}月から（正社員）" in page
    # Corrected from the same page (prefilled), then withdrawn after one more question.
    form = (await client.get(f"/manage/matching/meetings/{meeting}/placement")).text
    assert "採用の記録を訂正" in form and f'value="{month:%Y-%m}"' in form
    r = await post_form(
        client,
        f"/manage/matching/meetings/{meeting}/placement/correct",
        {"started_on": f"{month:%Y-%m}", "employment_type": "part_time"},
    )
    assert r.status_code == 303, r.text
    page = (await client.get(r.headers["location"])).text
    assert "採用の記録を訂正しました。" in page
    assert f"採用：{month.year}年{month.month}月から（パート・アルバイト）" in page
    question = await client.get(f"/manage/matching/meetings/{meeting}/placement/withdraw")
    assert "採用の記録を取り消しますか" in question.text and "はい、取り消す" in question.text
    r = await post_form(client, f"/manage/matching/meetings/{meeting}/placement/withdraw", {})
    assert r.status_code == 303
    page = (await client.get(r.headers["location"])).text
    assert "採用の記録を取り消しました。" in page
    assert f'href="/manage/matching/meetings/{meeting}/placement">採用を記録' in page


async def test_the_person_page_lists_meetings_and_a_merge_keeps_them(
    client: AsyncClient, db: AsyncSession
) -> None:
    organizer = await make_staff(db, "organizer")
    h = bearer(await issue_token(db, organizer))
    await web_login(client, db, organizer)
    ids = await _day(db, client, h)
    first = await _day(db, client, h, "株式会社面談")
    # The same man booked two days under two phone numbers: two persons until merged.
    await _book(client, ids["session"], 9, "09033334444", "フジ イチロウ")
    await _book(client, first["session"], 9, "0543334444", "フジ イチロウ")
    rows = (
        await db.execute(
            text("SELECT id, person_id FROM bookings WHERE session_id IN (:a, :b) ORDER BY id"),
            {"a": ids["session"], "b": first["session"]},
        )
    ).all()
    (b1, kept), (b2, dup) = rows[0], rows[1]
    assert kept != dup
    m1 = await _meeting(db, client, h, ids, ids["orgs"][0], b1, 0)
    m2 = await _meeting(db, client, h, first, first["orgs"][1], b2, 2)
    r = await client.post(
        f"/api/v1/manage/matching/meetings/{m1}/outcome", json={"result": "matched"}, headers=h
    )
    assert r.status_code == 200
    del m2

    def meetings(body: dict[str, Any]) -> list[tuple[str, str]]:
        return sorted(
            (x["title"], x["detail"]) for x in body["history"] if x["kind"] == "matching_meeting"
        )

    shown = (await client.get(f"/api/v1/manage/people/{kept}", headers=h)).json()
    assert meetings(shown) == [("新現役交流会：株式会社採用0", "matched")]
    r = await client.post(
        f"/api/v1/manage/people/{kept}/merge", json={"duplicate_id": dup}, headers=h
    )
    assert r.status_code == 200, r.text
    shown = (await client.get(f"/api/v1/manage/people/{kept}", headers=h)).json()
    assert meetings(shown) == [
        ("新現役交流会：株式会社採用0", "matched"),
        ("新現役交流会：株式会社面談1", "no_outcome"),
    ]
    # The staff person page, in words.
    page = (await client.get(f"/manage/people/{kept}")).text
    assert "面談会の面談" in page
    assert "新現役交流会：株式会社面談1" in page and "結果未記録" in page
    assert "マッチング成立" in page


async def test_a_hire_learnt_first_from_the_answer_is_not_counted_again_and_stays(
    client: AsyncClient, db: AsyncSession
) -> None:
    organizer = await make_staff(db, "organizer")
    actor = Actor.of(organizer)
    h = bearer(await issue_token(db, organizer))
    pid = await _attended(db, 11)
    ids = await _day(db, client, h)
    p11 = person(11)
    await _book(client, ids["session"], 11, p11.phone, p11.name_kana)
    booking = await db.scalar(
        text("SELECT id FROM bookings WHERE session_id = :s AND person_id = :p"),
        {"s": ids["session"], "p": pid},
    )
    assert booking is not None
    meeting = await _meeting(db, client, h, ids, ids["orgs"][0], booking, 0)
    r = await client.post(
        f"/api/v1/manage/matching/meetings/{meeting}/outcome",
        json={"result": "matched"},
        headers=h,
    )
    assert r.status_code == 200
    month = clock.now().date().replace(day=1)
    window = {
        "attended_from": clock.now().date() - timedelta(days=30),
        "attended_to": clock.now().date(),
    }
    view = await followups.create(db, actor, {"title": "調査", **window})
    await followups.send(db, actor, view.id)
    answer = {
        "person_id": pid,
        "status": "employed",
        "via": "paper",
        "employer": "採用0",
        "started_on": f"{month:%Y-%m}",
        "employment_type": "regular",
    }
    await followups.answer_for(db, actor, view.id, answer)
    await db.commit()
    r = await client.post(
        f"/api/v1/manage/matching/meetings/{meeting}/placement",
        json={"started_on": f"{month:%Y-%m}", "employment_type": "regular"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["counted_now"] is False
    # The answer changed later: the placement the company confirmed stays, once.
    await followups.answer_for(db, actor, view.id, {**answer, "status": "seeking"})
    await db.commit()
    rows = await db.scalars(
        text("SELECT id FROM desk_records WHERE kind = 'placement' AND person_id = :p"),
        {"p": pid},
    )
    assert list(rows) == [r.json()["placement_record_id"]]


async def test_a_hire_is_corrected_within_its_year_and_withdrawn_when_it_was_a_mistake(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    organizer = await make_staff(db, "organizer")
    actor = Actor.of(organizer)
    h = bearer(await issue_token(db, organizer))
    ids = await _day(db, client, h, prefix="株式会社訂正")
    await _book(client, ids["session"], 9, "09033334444", "ミナミ ケンジ")
    booking = await db.scalar(
        text("SELECT id FROM bookings WHERE session_id = :s"), {"s": ids["session"]}
    )
    meeting = await _meeting(db, client, h, ids, ids["orgs"][0], booking, 0)
    r = await client.post(
        f"/api/v1/manage/matching/meetings/{meeting}/outcome", json={"result": "matched"}, headers=h
    )
    assert r.status_code == 200
    year = fiscal.fiscal_year_of(clock.now())

    async def placements() -> int:
        async with worker_context(settings) as ctx:
            await compile_stale_indicators(ctx)
        await db.rollback()
        report = await read_report(db, actor, year)
        row = next(r for r in report.rows if r.code == "outcome_senior_placements")
        return int(row.actual or 0)

    before = await placements()
    url = f"/api/v1/manage/matching/meetings/{meeting}/placement"
    # Nothing recorded yet: nothing to correct or withdraw.
    month = date(year, 4, 1)
    later = date(year, 6, 1)
    r = await client.put(
        url, json={"started_on": f"{later:%Y-%m}", "employment_type": "part_time"}, headers=h
    )
    assert r.status_code == 409 and r.json()["error"] == "hire_not_recorded"
    r = await client.post(
        url, json={"started_on": f"{month:%Y-%m}", "employment_type": "regular"}, headers=h
    )
    assert r.status_code == 200, r.text
    record_id = r.json()["placement_record_id"]
    assert await placements() == before + 1

    # Corrected: the month and the way of working, on the meeting and on its placement.
    r = await client.put(
        url, json={"started_on": f"{later:%Y-%m}", "employment_type": "part_time"}, headers=h
    )
    assert r.status_code == 200, r.text
    row = (
        await db.execute(
            text(
                "SELECT m.hired_on, m.employment_type, d.occurred_on FROM matching_meetings m"
                " JOIN desk_records d ON d.id = m.placement_record_id WHERE m.id = :m"
            ),
            {"m": meeting},
        )
    ).one()
    assert (row.hired_on, row.employment_type, row.occurred_on) == (later, "part_time", later)
    assert await placements() == before + 1  # still counted once
    # Another fiscal year is not a correction: it names the field and changes nothing.
    r = await client.put(
        url, json={"started_on": f"{year + 1}-04", "employment_type": "regular"}, headers=h
    )
    assert r.status_code == 422 and "年度" in r.json()["fields"]["started_on"]

    # Withdrawn: the meeting has no hire and the placement is no longer counted.
    r = await client.delete(url, headers=h)
    assert r.status_code == 204
    assert (
        await db.scalar(text("SELECT count(*) FROM desk_records WHERE id = :i"), {"i": record_id})
        == 0
    )
    hired = await db.scalar(
        text("SELECT hired_on FROM matching_meetings WHERE id = :m"), {"m": meeting}
    )
    assert hired is None
    assert await placements() == before
    assert (await client.delete(url, headers=h)).status_code == 409
    actions = list(
        await db.scalars(
            text(
                "SELECT action FROM audit_log WHERE entity_type = 'matching_meeting'"
                " AND entity_id = :m ORDER BY id"
            ),
            {"m": meeting},
        )
    )
    assert actions[-3:] == ["matching.hire", "matching.hire_corrected", "matching.hire_withdrawn"]


async def test_a_withdrawn_hire_leaves_the_answers_placement_counted(
    client: AsyncClient, db: AsyncSession
) -> None:
    """An answer of 就職した found the placement first; the hire took it over; withdrawing the
    hire gives it back to the answer, still counted."""
    organizer = await make_staff(db, "organizer")
    actor = Actor.of(organizer)
    h = bearer(await issue_token(db, organizer))
    pid = await _attended(db, 12)
    ids = await _day(db, client, h, prefix="株式会社回答")
    p12 = person(12)
    await _book(client, ids["session"], 12, p12.phone, p12.name_kana)
    booking = await db.scalar(
        text("SELECT id FROM bookings WHERE session_id = :s AND person_id = :p"),
        {"s": ids["session"], "p": pid},
    )
    assert booking is not None
    meeting = await _meeting(db, client, h, ids, ids["orgs"][0], booking, 0)
    r = await client.post(
        f"/api/v1/manage/matching/meetings/{meeting}/outcome", json={"result": "matched"}, headers=h
    )
    assert r.status_code == 200
    month = clock.now().date().replace(day=1)
    window = {
        "attended_from": clock.now().date() - timedelta(days=30),
        "attended_to": clock.now().date(),
    }
    view = await followups.create(db, actor, {"title": "調査", **window})
    await followups.send(db, actor, view.id)
    answer = {
        "person_id": pid,
        "status": "employed",
        "via": "paper",
        "employer": "回答0",
        "started_on": f"{month:%Y-%m}",
        "employment_type": "regular",
    }
    await followups.answer_for(db, actor, view.id, answer)
    await db.commit()
    url = f"/api/v1/manage/matching/meetings/{meeting}/placement"
    r = await client.post(
        url, json={"started_on": f"{month:%Y-%m}", "employment_type": "regular"}, headers=h
    )
    assert r.status_code == 200 and r.json()["counted_now"] is False
    record_id = r.json()["placement_record_id"]
    assert (await client.delete(url, headers=h)).status_code == 204
    row = (
        await db.execute(
            text("SELECT note, occurred_on FROM desk_records WHERE id = :i"), {"i": record_id}
        )
    ).one()
    assert row.note == placements_module.SOURCE_NOTE and row.occurred_on.replace(day=1) == month


async def test_bad_input_to_a_hire_correction_is_refused_by_field_and_changes_nothing(
    client: AsyncClient, db: AsyncSession
) -> None:
    organizer = await make_staff(db, "organizer")
    h = bearer(await issue_token(db, organizer))
    ids = await _day(db, client, h, prefix="株式会社入力")
    await _book(client, ids["session"], 14, "09055556666", "ニュウリョク タロウ")
    booking = await db.scalar(
        text("SELECT id FROM bookings WHERE session_id = :s"), {"s": ids["session"]}
    )
    meeting = await _meeting(db, client, h, ids, ids["orgs"][0], booking, 0)
    r = await client.post(
        f"/api/v1/manage/matching/meetings/{meeting}/outcome", json={"result": "matched"}, headers=h
    )
    assert r.status_code == 200
    month = clock.now().date().replace(day=1)
    url = f"/api/v1/manage/matching/meetings/{meeting}/placement"
    good = {"started_on": f"{month:%Y-%m}", "employment_type": "regular"}
    assert (await client.post(url, json=good, headers=h)).status_code == 200
    for started_on, kind in (
        ("2026-04\x00", "regular"),
        ("\u202e2026-04", "regular"),
        ("2026-13", "regular"),
        ("２０２６年１３月", "regular"),
        ("x" * 10_000, "regular"),
        (f"{month:%Y-%m}", "regular\r\nBcc: x"),
        (f"{month:%Y-%m}", ""),
    ):
        r = await client.put(
            url, json={"started_on": started_on, "employment_type": kind}, headers=h
        )
        assert r.status_code == 422, (started_on, kind, r.text)
        assert r.json()["fields"]
    for bad in (2**63, 10**30, 0):
        r = await client.put(
            f"/api/v1/manage/matching/meetings/{bad}/placement", json=good, headers=h
        )
        assert r.status_code in (404, 422), r.text
        assert (
            await client.delete(f"/api/v1/manage/matching/meetings/{bad}/placement", headers=h)
        ).status_code in (404, 422)
    hired = (
        await db.execute(
            text("SELECT hired_on, employment_type FROM matching_meetings WHERE id = :m"),
            {"m": meeting},
        )
    ).one()
    assert (hired.hired_on, hired.employment_type) == (month, "regular")
