"""Matching days end to end on a real PostgreSQL, Redis and arq worker: 14 companies and 68
participants book, choose, the worker builds the timetable, and the timetable is checked here
by code that knows nothing of the solver's model."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.header import decode_header, make_header
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.events.models import Organization
from service.domain.matching import schedule
from service.domain.matching.figures import by_indicator, matching_figures
from service.platform.local_time import TOKYO
from service.platform.settings import Settings
from tests.factories import make_event, make_org, make_session
from tests.mail_support import Mailbox, run_worker
from tests.manage_support import bearer, issue_token, make_staff, post_form, web_login

COMPANIES = 14
PEOPLE = 68


class Day:
    def __init__(self, event_id: int, session_id: int, orgs: list[int], people: list[int]):
        self.event_id, self.session_id, self.orgs, self.people = event_id, session_id, orgs, people


_PHONE = re.compile(r"0[789]0-?\d{4}-?\d{4}")


def _no_phone(page: str) -> bool:
    """No mobile number in what the page shows: markup is left out, so the CSRF token's hex
    (which may hold "080") is not taken for one."""
    return _PHONE.search(re.sub(r"<[^>]*>", " ", page)) is None


async def make_day(db: AsyncSession, client: AsyncClient, token: str) -> Day:
    event = await make_event(db, title="新現役交流会", kind="exchange")
    session = await make_session(db, event=event, capacity=PEOPLE + 5, waitlist_limit=0)
    orgs = [
        (await make_org(db, f"株式会社テスト{i:02d}", kind="employer")).id for i in range(COMPANIES)
    ]
    await db.commit()
    h = bearer(token)
    r = await client.put(
        f"/api/v1/manage/events/{event.id}/matching",
        json={
            "slot_minutes": 20,
            "break_minutes": 5,
            "max_per_company": 8,
            "max_per_person": 4,
            "online": True,
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["slots"]) == 12  # 5 hours of 20 + 5 minutes
    for i, org in enumerate(orgs):
        r = await client.post(
            f"/api/v1/manage/events/{event.id}/matching/companies",
            json={
                "organization_id": org,
                "brings": f"経営課題{i}：販路開拓",
                "tables": [
                    {"place": f"しずおか銀行{i}支店", "join_url": f"https://meet.example.jp/{i}"}
                ],
            },
            headers=h,
        )
        assert r.status_code == 200, r.text
    people = []
    rows = await client.get(f"/api/v1/manage/events/{event.id}/matching", headers=h)
    assert rows.json()["participants"] == []
    for n in range(PEOPLE):
        await client.post(
            f"/api/v1/sessions/{session.id}/bookings",
            json={
                "name": f"新現役 太郎{n}",
                "name_kana": "シンゲンエキ タロウ",
                "phone": f"080{n:08d}",
                "email": f"p{n}@example.jp",
                "age_band": "65_69",
                "matching": {
                    "profile": f"元製造業の品質管理{n}年。改善活動が得意。",
                    "consent": True,
                },
            },
        )
    view = (await client.get(f"/api/v1/manage/events/{event.id}/matching", headers=h)).json()
    people = [p["booking_id"] for p in view["participants"]]
    assert len(people) == PEOPLE
    return Day(event.id, session.id, orgs, people)


async def choose(client: AsyncClient, day: Day, token: str, rng: random.Random) -> None:
    h = bearer(token)
    for org in day.orgs[:-1]:  # the last company chooses nobody (it is met by those who chose it)
        ranked = rng.sample(day.people, 6)
        r = await client.put(
            f"/api/v1/manage/events/{day.event_id}/matching/companies/{org}/choices",
            json={"ranked": ranked},
            headers=h,
        )
        assert r.status_code == 200, r.text
    for person in day.people:
        ranked = rng.sample(day.orgs, 3)
        r = await client.put(
            f"/api/v1/manage/events/{day.event_id}/matching/participants/{person}/choices",
            json={"ranked": ranked},
            headers=h,
        )
        assert r.status_code == 200, r.text


async def build(
    client: AsyncClient, settings: Settings, day: Day, token: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    monkeypatch.setattr(schedule, "SOLVER_TIME_LIMIT", 8.0)
    h = bearer(token)
    r = await client.post(f"/api/v1/manage/events/{day.event_id}/matching/schedule", headers=h)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "building"
    await run_worker(settings)
    r = await client.get(f"/api/v1/manage/events/{day.event_id}/matching/schedule", headers=h)
    body: dict[str, Any] = r.json()
    assert body["status"] == "ready", body
    return body


def check_no_clash(meetings: list[dict[str, Any]], view: dict[str, Any]) -> None:
    """The hard rules, from the stored meetings alone."""
    per_person_slot = Counter((m["booking_id"], m["starts_at"]) for m in meetings)
    assert max(per_person_slot.values()) == 1
    per_table_slot = Counter((m["organization_id"], m["table"], m["starts_at"]) for m in meetings)
    assert max(per_table_slot.values()) == 1
    per_pair = Counter((m["organization_id"], m["booking_id"]) for m in meetings)
    assert max(per_pair.values()) == 1
    assert max(Counter(m["booking_id"] for m in meetings).values()) <= view["max_per_person"]
    assert max(Counter(m["organization_id"] for m in meetings).values()) <= view["max_per_company"]
    chosen = {(int(o), b) for o, bs in view["company_choices"].items() for b in bs}
    chosen |= {(o, int(b)) for b, os in view["participant_choices"].items() for o in os}
    assert all((m["organization_id"], m["booking_id"]) in chosen for m in meetings)
    slots = {s["starts_at"] for s in view["slots"]}
    assert all(m["starts_at"] in slots for m in meetings)


async def test_a_day_of_14_companies_and_68_people_is_scheduled_without_clash(
    client: AsyncClient, db: AsyncSession, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    organizer = await make_staff(db, "organizer")
    token = await issue_token(db, organizer)
    day = await make_day(db, client, token)
    await choose(client, day, token, random.Random(23))
    body = await build(client, settings, day, token, monkeypatch)
    view = (
        await client.get(f"/api/v1/manage/events/{day.event_id}/matching", headers=bearer(token))
    ).json()
    meetings = body["meetings"]
    assert len(meetings) > COMPANIES * 4
    check_no_clash(meetings, view)
    assert body["objective"] is not None and body["bound"] >= body["objective"]

    # Every company that chose anyone meets at least one of its choices (possible here: every
    # company has a table for 12 slots and chose 6 people with room for 4 meetings each).
    met = {(m["organization_id"], m["booking_id"]) for m in meetings}
    company_choices = {int(o): bs for o, bs in view["company_choices"].items()}
    for org, ranked in company_choices.items():
        assert any((org, b) in met for b in ranked), org

    # A mutual choice is never left out for a one-sided one of lower rank at the same company,
    # when the mutual person was free at that time and below their maximum.
    person_choices = {int(b): os for b, os in view["participant_choices"].items()}
    busy = {(m["booking_id"], m["starts_at"]) for m in meetings}
    load = Counter(m["booking_id"] for m in meetings)
    for m in meetings:
        org, person = m["organization_id"], m["booking_id"]
        ranked = company_choices.get(org, [])
        mutual = org in person_choices.get(person, [])
        if mutual:
            continue
        rank = ranked.index(person) if person in ranked else len(ranked)
        for better in ranked[:rank]:
            if org not in person_choices.get(better, []) or (org, better) in met:
                continue
            free = (better, m["starts_at"]) not in busy and load[better] < view["max_per_person"]
            assert not free, f"mutual {better} left out for one-sided {person} at {org}"


async def test_public_booking_on_a_matching_day_needs_profile_and_consent(
    client: AsyncClient, db: AsyncSession
) -> None:
    organizer = await make_staff(db, "organizer")
    token = await issue_token(db, organizer)
    event = await make_event(db, title="お仕事面談会", kind="job_fair")
    session = await make_session(db, event=event, capacity=5)
    r = await client.put(
        f"/api/v1/manage/events/{event.id}/matching",
        json={"slot_minutes": 20, "break_minutes": 5, "max_per_company": 5, "max_per_person": 3},
        headers=bearer(token),
    )
    assert r.status_code == 200
    person = {"name": "静岡 花子", "name_kana": "しずおか はなこ", "phone": "09011112222"}
    for matching, field in [
        (None, "matching"),
        ({"profile": "介護の経験10年", "consent": False}, "matching.consent"),
        ({"profile": "", "consent": True}, "matching.profile"),
        ({"profile": "経歴\u202e", "consent": True}, "matching.profile"),
    ]:
        body = dict(person, matching=matching) if matching is not None else person
        r = await client.post(f"/api/v1/sessions/{session.id}/bookings", json=body)
        assert r.status_code == 422, r.text
        assert field in r.json()["fields"], r.json()
    count = await db.scalar(
        text("SELECT count(*) FROM bookings WHERE session_id = :s"), {"s": session.id}
    )
    assert count == 0  # nothing half-written
    ok = dict(person, matching={"profile": "介護の経験10年", "consent": True})
    r = await client.post(f"/api/v1/sessions/{session.id}/bookings", json=ok)
    assert r.status_code == 201
    # On an ordinary day the matching part is refused rather than silently dropped.
    plain = await make_session(db, capacity=5)
    r = await client.post(
        f"/api/v1/sessions/{plain.id}/bookings", json=dict(ok, phone="09033334444")
    )
    assert r.status_code == 422 and "matching" in r.json()["fields"]


async def test_a_company_login_sees_only_its_own_and_no_contact_before_a_match(
    client: AsyncClient, db: AsyncSession, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    organizer = await make_staff(db, "organizer")
    token = await issue_token(db, organizer)
    day = await make_day(db, client, token)
    await choose(client, day, token, random.Random(7))
    await build(client, settings, day, token, monkeypatch)
    org_a, org_b = day.orgs[0], day.orgs[1]
    company = await make_staff(db, "company", organization=await db.get(Organization, org_a))
    ct = bearer(await issue_token(db, company))
    base = f"/api/v1/manage/events/{day.event_id}/matching"

    view = (await client.get(base, headers=ct)).json()
    assert set(view["company_choices"]) == {str(org_a)}
    assert view["participant_choices"] == {}
    assert all(p["phone"] is None and p["email"] is None for p in view["participants"])
    assert _no_phone((await client.get(base, headers=ct)).text)

    # Another company's choices and meetings: not found. Staff-only routes: forbidden.
    r = await client.put(f"{base}/companies/{org_b}/choices", json={"ranked": []}, headers=ct)
    assert r.status_code == 404
    r = await client.put(
        f"{base}/companies/{org_a}/choices", json={"ranked": day.people[:3]}, headers=ct
    )
    assert r.status_code == 200
    assert (await client.post(f"{base}/schedule", headers=ct)).status_code == 403
    assert (
        await client.get(f"/api/v1/manage/sessions/{day.session_id}/roster", headers=ct)
    ).status_code == 403
    own = (await client.get(f"{base}/schedule", headers=ct)).json()["meetings"]
    assert own and all(m["organization_id"] == org_a for m in own)
    staff_view = (await client.get(f"{base}/schedule", headers=bearer(token))).json()["meetings"]
    other = next(m for m in staff_view if m["organization_id"] == org_b)
    r = await client.post(
        f"/api/v1/manage/matching/meetings/{other['id']}/outcome",
        json={"result": "matched"},
        headers=ct,
    )
    assert r.status_code == 404

    # A match releases that participant's contact to this company only.
    mine = own[0]
    r = await client.post(
        f"/api/v1/manage/matching/meetings/{mine['id']}/outcome",
        json={"result": "matched", "note": "次回、工場見学"},
        headers=ct,
    )
    assert r.status_code == 200, r.text
    view = (await client.get(base, headers=ct)).json()
    shown = {p["booking_id"]: p for p in view["participants"]}
    assert shown[mine["booking_id"]]["phone"] is not None
    assert sum(p["phone"] is not None for p in view["participants"]) == 1
    notice = await db.scalar(
        text(
            "SELECT count(*) FROM notifications WHERE booking_id = :b AND kind = 'matching_matched'"
        ),
        {"b": mine["booking_id"]},
    )
    assert notice == 1


async def test_outcomes_give_the_matching_rate_5_of_14(
    client: AsyncClient, db: AsyncSession, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    organizer = await make_staff(db, "organizer")
    token = await issue_token(db, organizer)
    day = await make_day(db, client, token)
    await choose(client, day, token, random.Random(5))
    body = await build(client, settings, day, token, monkeypatch)
    by_company: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for m in body["meetings"]:
        by_company[m["organization_id"]].append(m)
    assert len(by_company) == COMPANIES
    for i, org in enumerate(day.orgs):
        for j, m in enumerate(by_company[org]):
            result = "matched" if i < 5 and j == 0 else ("absent" if j == 1 else "not_matched")
            r = await client.post(
                f"/api/v1/manage/matching/meetings/{m['id']}/outcome",
                json={"result": result},
                headers=bearer(token),
            )
            assert r.status_code == 200
    now = datetime.now(UTC)
    figures = await matching_figures(db, now - timedelta(days=1), now + timedelta(days=60))
    assert figures is not None
    assert figures.companies == COMPANIES
    assert figures.companies_met == COMPANIES
    assert figures.companies_matched == 5
    assert figures.rate == Decimal("35.7")
    rows = by_indicator(figures)
    assert rows["exchange_companies"][0] == 14
    assert rows["exchange_matching_rate"][0] == Decimal("35.7")
    assert list(rows["exchange_matching_rate"][1].values()) == [Decimal("35.7")]
    assert await matching_figures(db, now - timedelta(days=400), now - timedelta(days=300)) is None


async def test_each_participant_gets_the_timetable_mail_with_one_vevent_per_meeting(
    client: AsyncClient,
    db: AsyncSession,
    mail_settings: Settings,
    smtp: tuple[Mailbox, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from icalendar import Calendar

    organizer = await make_staff(db, "organizer")
    token = await issue_token(db, organizer)
    day = await make_day(db, client, token)
    await choose(client, day, token, random.Random(11))
    body = await build(client, mail_settings, day, token, monkeypatch)
    r = await client.post(
        f"/api/v1/manage/events/{day.event_id}/matching/send", headers=bearer(token)
    )
    assert r.status_code == 200, r.text
    people = {m["booking_id"] for m in body["meetings"]}
    assert r.json()["notices"] == len(people)
    await run_worker(mail_settings)
    mailbox = smtp[0]
    timetables = [
        m
        for m in mailbox.messages
        if "時間割" in str(make_header(decode_header(str(m["Subject"]))))
    ]
    assert len(timetables) == len(people)
    per_person = Counter(m["booking_id"] for m in body["meetings"])
    for message in timetables:
        to = str(message["To"])
        n = int(to.removeprefix("p").split("@")[0])
        booking = next(
            p
            for p in (
                await client.get(
                    f"/api/v1/manage/events/{day.event_id}/matching", headers=bearer(token)
                )
            ).json()["participants"]
            if p["email"] == to
        )
        ics = next(
            part
            for part in message.iter_attachments()
            if part.get_content_type() == "text/calendar"
        )
        events = Calendar.from_ical(ics.get_content()).walk("VEVENT")
        assert len(events) == per_person[booking["booking_id"]], n
        text_body = message.get_body(preferencelist=("plain",)).get_content()
        mine = [m for m in body["meetings"] if m["booking_id"] == booking["booking_id"]]
        for m in mine:
            assert m["company"] in text_body
            assert m["join_url"] in text_body
    # Sending again writes nothing new (all sent); a moved meeting would be a change notice.
    r = await client.post(
        f"/api/v1/manage/events/{day.event_id}/matching/send", headers=bearer(token)
    )
    assert r.json()["notices"] == 0


async def test_a_participant_without_mail_is_read_the_timetable_by_the_desk(
    client: AsyncClient,
    db: AsyncSession,
    mail_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    organizer = await make_staff(db, "organizer")
    token = await issue_token(db, organizer)
    day = await make_day(db, client, token)
    await choose(client, day, token, random.Random(11))
    body = await build(client, mail_settings, day, token, monkeypatch)
    phoned = body["meetings"][0]["booking_id"]
    await db.execute(text("UPDATE bookings SET email = NULL WHERE id = :b"), {"b": phoned})
    await db.commit()
    r = await client.post(
        f"/api/v1/manage/events/{day.event_id}/matching/send", headers=bearer(token)
    )
    assert r.status_code == 200, r.text
    await run_worker(mail_settings)
    script = await db.scalar(
        text("SELECT script FROM call_tasks WHERE booking_id = :b AND kind = 'matching_timetable'"),
        {"b": phoned},
    )
    assert script is not None
    mine = [m for m in body["meetings"] if m["booking_id"] == phoned]
    assert f"面談は{len(mine)}件です" in script
    for m in mine:
        starts = datetime.fromisoformat(m["starts_at"]).astimezone(TOKYO)
        assert f"{starts:%H:%M}〜" in script and m["company"] in script


async def test_the_day_manual_moves_no_shows_and_change_notices(
    client: AsyncClient,
    db: AsyncSession,
    mail_settings: Settings,
    smtp: tuple[Mailbox, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    organizer = await make_staff(db, "organizer")
    h = bearer(await issue_token(db, organizer))
    day = await make_day(db, client, (h["Authorization"].split()[1]))
    await choose(client, day, h["Authorization"].split()[1], random.Random(3))
    body = await build(client, mail_settings, day, h["Authorization"].split()[1], monkeypatch)
    base = f"/api/v1/manage/events/{day.event_id}/matching"
    assert (await client.post(f"{base}/send", headers=h)).json()["notices"] > 0
    await run_worker(mail_settings)
    sent_before = len(smtp[0].messages)
    meetings = body["meetings"]
    view = (await client.get(base, headers=h)).json()
    slots = len(view["slots"])

    # A move is checked by the same hard rules: onto a slot where the person is busy -> 409.
    m = meetings[0]
    own_slots = {x["slot"] for x in meetings if x["booking_id"] == m["booking_id"]}
    busy_slot = next((s for s in own_slots if s != m["slot"]), None)
    if busy_slot is not None:
        r = await client.put(
            f"/api/v1/manage/matching/meetings/{m['id']}", json={"slot": busy_slot}, headers=h
        )
        assert r.status_code == 409 and r.json()["error"] == "person_busy"
    table_taken = {(x["organization_id"], x["slot"]) for x in meetings}
    person_taken = {(x["booking_id"], x["slot"]) for x in meetings}
    free = next(
        s
        for s in range(slots)
        if (m["organization_id"], s) not in table_taken and (m["booking_id"], s) not in person_taken
    )
    r = await client.put(
        f"/api/v1/manage/matching/meetings/{m['id']}", json={"slot": free}, headers=h
    )
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "manual"

    # The change goes out as a change notice to that person only: before -> after.
    r = await client.post(f"{base}/send", headers=h)
    assert r.json()["notices"] == 1
    await run_worker(mail_settings)
    change = smtp[0].messages[sent_before:]
    assert len(change) == 1
    text_body = change[0].get_body(preferencelist=("plain",)).get_content()
    assert "変更前" in text_body and "変更後" in text_body

    # A no-show frees their slots; the free-slot list offers the company's next choices who
    # are checked in, and filling one is an ordinary (checked) manual meeting.
    absent = meetings[1]["booking_id"]
    r = await client.post(f"{base}/participants/{absent}/absent", headers=h)
    assert r.status_code == 200 and r.json()["freed"] >= 1
    # Check-in opens on the day; the session here is two weeks ahead, so it is written directly.
    await db.execute(
        text("UPDATE bookings SET checked_in_at = now() WHERE id = ANY(:ids)"),
        {"ids": [p for p in day.people if p != absent]},
    )
    await db.commit()
    r = await client.get(f"{base}/free-slots", headers=h)
    assert r.status_code == 200
    offer = next(f for f in r.json() if f["candidates"])
    assert absent not in offer["candidates"]
    r = await client.post(
        f"{base}/meetings",
        json={
            "organization_id": offer["organization_id"],
            "booking_id": offer["candidates"][0],
            "table_id": offer["table_id"],
            "slot": offer["slot"],
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    again = await client.post(
        f"{base}/meetings",
        json={
            "organization_id": offer["organization_id"],
            "booking_id": offer["candidates"][0],
            "table_id": offer["table_id"],
            "slot": offer["slot"],
        },
        headers=h,
    )
    assert again.status_code == 409
    # The no-show, told a timetable before, hears that their meetings are gone; the filled
    # person gets a change notice.
    before_send = len(smtp[0].messages)
    r = await client.post(f"{base}/send", headers=h)
    assert r.json()["notices"] >= 2
    await run_worker(mail_settings)
    gone = [
        m
        for m in smtp[0].messages[before_send:]
        if "面談の予定はありません" in m.get_body(preferencelist=("plain",)).get_content()
    ]
    assert len(gone) == 1
    final = (await client.get(f"{base}/schedule", headers=h)).json()["meetings"]
    check_no_clash(
        final,
        (await client.get(base, headers=h)).json()
        | {"company_choices": {str(o): day.people for o in day.orgs}},
    )


async def test_company_console_pages_rank_print_csv_ics(
    client: AsyncClient, db: AsyncSession, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    organizer = await make_staff(db, "organizer")
    token = await issue_token(db, organizer)
    day = await make_day(db, client, token)
    await choose(client, day, token, random.Random(2))
    await build(client, settings, day, token, monkeypatch)
    org = day.orgs[0]
    company = await make_staff(db, "company", organization=await db.get(Organization, org))
    await web_login(client, db, company)
    r = await client.get("/manage/matching")
    assert (
        r.status_code == 200 and "株式会社テスト00" in r.text and "株式会社テスト01" not in r.text
    )
    path = f"/manage/events/{day.event_id}/matching/companies/{org}"
    r = await client.get(path)
    assert r.status_code == 200
    assert _no_phone(r.text)  # no phone numbers before a match
    r = await post_form(
        client,
        f"{path}/choices",
        {f"rank_{day.people[5]}": "2", f"rank_{day.people[9]}": "1"},
    )
    assert r.status_code == 303 and r.headers["location"].startswith(path)
    stored = (
        await client.get(f"/api/v1/manage/events/{day.event_id}/matching", headers=bearer(token))
    ).json()["company_choices"][str(org)]
    assert stored == [day.people[9], day.people[5]]
    r = await post_form(client, f"{path}/choices", {f"rank_{day.people[5]}": "x"})
    assert r.status_code == 422
    # Characters str.isdigit() takes for digits but int() does not read (a Kharosthi digit as
    # a rank or an id), a 5,000-digit rank and id: each names the field, none is a 500.
    for name, value in (
        (f"rank_{day.people[5]}", "\U00010a40"),
        (f"rank_{day.people[5]}", "9" * 5000),
        ("rank_\U00010a40", "1"),
        ("rank_" + "9" * 5000, "1"),
    ):
        r = await post_form(client, f"{path}/choices", {name: value})
        assert r.status_code == 422, (name[:12], value[:12], r.status_code)
    r = await post_form(client, f"{path}/choices", {f"rank_{day.people[5]}": "\uff11"})
    assert r.status_code == 303  # a full-width 1 is a 1
    other = f"/manage/events/{day.event_id}/matching/companies/{day.orgs[1]}"
    assert (await client.get(other)).status_code == 404
    assert (await client.get(f"{path}/print")).status_code == 200
    r = await client.get(f"{path}/timetable.csv")
    assert r.status_code == 200 and r.content.startswith("\ufeff".encode())
    r = await client.get(f"{path}/timetable.ics")
    assert r.status_code == 200 and b"BEGIN:VEVENT" in r.content
    assert (await client.get("/manage")).status_code == 403


async def test_participant_ranks_companies_and_sees_the_timetable_on_the_lookup_page(
    client: AsyncClient, db: AsyncSession, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_pages_public import follow, hidden_of
    from tests.test_pages_public import post_form as page_post

    organizer = await make_staff(db, "organizer")
    token = await issue_token(db, organizer)
    day = await make_day(db, client, token)
    person = day.people[0]
    row = (
        await db.execute(text("SELECT code, phone FROM bookings WHERE id = :i"), {"i": person})
    ).one()
    form = await client.get(f"/bookings/lookup?code={row.code}")
    details = await follow(
        client,
        await page_post(client, form, "/bookings/lookup", {"code": row.code, "phone": row.phone}),
    )
    assert "面談したい企業" in details.text and "株式会社テスト03" in details.text
    grant = hidden_of(details)["g"]
    answer = await page_post(
        client,
        details,
        "/bookings/matching-choices",
        {"g": grant, f"rank_{day.orgs[3]}": "1", f"rank_{day.orgs[7]}": "2"},
    )
    after = await follow(client, answer)
    assert "希望を保存しました" in after.text
    view = (
        await client.get(f"/api/v1/manage/events/{day.event_id}/matching", headers=bearer(token))
    ).json()
    assert view["participant_choices"][str(person)] == [day.orgs[3], day.orgs[7]]
    await choose(client, day, token, random.Random(4))
    body = await build(client, settings, day, token, monkeypatch)
    mine = [m for m in body["meetings"] if m["booking_id"] == person]
    shown = await client.get(f"/bookings/details?g={grant}")
    assert "面談の時間割" in shown.text
    for m in mine:
        assert m["company"] in shown.text
    assert "面談したい企業（5社まで）" not in shown.text  # choices close with the timetable
    # The meetings into a phone's calendar, behind the booking's calendar token.
    from icalendar import Calendar

    link = re.search(r'href="(/bookings/[0-9]+/timetable\.ics\?t=[^"]+)"', shown.text)
    assert link is not None and "面談の予定をカレンダーに登録" in shown.text
    ics = await client.get(link.group(1).replace("&amp;", "&"))
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    events = Calendar.from_ical(ics.content).walk("VEVENT")
    companies = [str(e["summary"]).removeprefix("面談：").split("（")[0] for e in events]
    assert sorted(companies) == sorted(m["company"] for m in mine)
    head = await client.head(link.group(1).replace("&amp;", "&"))
    assert head.status_code == 200 and head.headers["content-length"] == str(len(ics.content))
    wrong = await client.get(link.group(1).split("?t=")[0] + "?t=wrong")
    assert wrong.status_code == 404


async def test_the_public_booking_form_asks_a_matching_day_for_profile_and_consent(
    client: AsyncClient, db: AsyncSession
) -> None:
    from tests.test_pages_public import follow, hidden_of
    from tests.test_pages_public import post_form as page_post

    organizer = await make_staff(db, "organizer")
    token = await issue_token(db, organizer)
    event = await make_event(db, title="お仕事面談会", kind="job_fair")
    session = await make_session(db, event=event, capacity=5)
    r = await client.put(
        f"/api/v1/manage/events/{event.id}/matching",
        json={"slot_minutes": 20, "break_minutes": 5, "max_per_company": 5, "max_per_person": 3},
        headers=bearer(token),
    )
    assert r.status_code == 200
    url = f"/events/{event.id}/sessions/{session.id}/book"
    form = await client.get(url)
    assert 'name="matching.profile"' in form.text and 'name="matching.consent"' in form.text
    typed = {
        "name": "静岡 花子",
        "name_kana": "しずおか はなこ",
        "phone": "09012345678",
        "matching": "1",
        "matching.profile": "介護施設で調理を15年",
    }
    again = await follow(client, await page_post(client, form, f"{url}/confirm", typed))
    assert "同意が必要です" in again.text
    assert "介護施設で調理を15年" in again.text  # what was typed is kept
    confirm = await follow(
        client,
        await page_post(client, again, f"{url}/confirm", {**typed, "matching.consent": "yes"}),
    )
    assert "介護施設で調理を15年" in confirm.text and "同意する" in confirm.text
    done = await page_post(client, confirm, f"{url}/complete", hidden_of(confirm))
    assert done.status_code == 303 and done.headers["location"].startswith("/bookings/done")
    stored = await db.scalar(text("SELECT profile FROM matching_profiles"))
    assert stored == "介護施設で調理を15年"
    # An ordinary day's form asks nothing of the kind.
    plain = await make_session(db, capacity=5)
    other = await client.get(f"/events/{plain.event_id}/sessions/{plain.id}/book")
    assert "matching.profile" not in other.text


async def test_staff_set_a_matching_day_up_in_the_console(
    client: AsyncClient, db: AsyncSession
) -> None:
    organizer = await make_staff(db, "organizer")
    event = await make_event(db, title="お仕事面談会", kind="job_fair")
    await make_session(db, event=event, capacity=5)
    employer = await make_org(db, "株式会社しずおか介護", kind="employer")
    await db.commit()
    await web_login(client, db, organizer)
    base = f"/manage/events/{event.id}/matching"
    r = await client.get(base)
    assert r.status_code == 200 and "設定を保存する" in r.text
    bad = await post_form(
        client,
        f"{base}/settings",
        {
            "slot_minutes": "abc",
            "break_minutes": "5",
            "max_per_company": "8",
            "max_per_person": "4",
        },
    )
    assert bad.status_code == 422 and "整数" in bad.text
    ok = await post_form(
        client,
        f"{base}/settings",
        {
            "slot_minutes": "２０",
            "break_minutes": "5",
            "max_per_company": "8",
            "max_per_person": "4",
        },
    )
    assert ok.status_code == 303
    r = await post_form(
        client,
        f"{base}/companies",
        {"organization_id": str(employer.id), "brings": "介護職（週3日）", "tables": "2"},
    )
    assert r.status_code == 303
    page = await client.get(base)
    assert "株式会社しずおか介護" in page.text and "面談表を作成" in page.text


async def test_on_the_day_staff_mark_a_no_show_and_fill_the_slot_in_the_console(
    client: AsyncClient, db: AsyncSession, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    organizer = await make_staff(db, "organizer")
    token = await issue_token(db, organizer)
    day = await make_day(db, client, token)
    await choose(client, day, token, random.Random(8))
    body = await build(client, settings, day, token, monkeypatch)
    await db.execute(
        text("UPDATE bookings SET checked_in_at = now() WHERE id = ANY(:ids)"),
        {"ids": day.people},
    )
    await db.commit()
    await web_login(client, db, organizer)
    base = f"/manage/events/{day.event_id}/matching"
    absent = body["meetings"][0]["booking_id"]
    ask = await client.get(f"{base}/participants/{absent}/absent")
    assert ask.status_code == 200 and "欠席にしますか" in ask.text
    r = await post_form(client, f"{base}/participants/{absent}/absent")
    assert r.status_code == 303
    page = await client.get(base)
    assert "さんを入れる" in page.text
    form = re.search(
        r'name="organization_id" value="(\d+)">\s*<input type="hidden" name="booking_id" '
        r'value="(\d+)">\s*<input type="hidden" name="table_id" value="(\d+)">\s*'
        r'<input type="hidden" name="slot" value="(\d+)">',
        page.text,
    )
    assert form
    fields = dict(
        zip(("organization_id", "booking_id", "table_id", "slot"), form.groups(), strict=True)
    )
    r = await post_form(client, f"{base}/meetings", fields)
    assert r.status_code == 303
    again = await post_form(client, f"{base}/meetings", fields)
    assert again.status_code == 409  # the same hard rules: that pair now meets


async def test_staff_move_or_remove_one_meeting_in_the_console_under_the_hard_rules(
    client: AsyncClient, db: AsyncSession, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    organizer = await make_staff(db, "organizer")
    token = await issue_token(db, organizer)
    day = await make_day(db, client, token)
    await choose(client, day, token, random.Random(11))
    body = await build(client, settings, day, token, monkeypatch)
    meetings = body["meetings"]
    # A person with two meetings: moving one onto the other's time is refused (person_busy).
    per_person: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for m in meetings:
        per_person[m["booking_id"]].append(m)
    m, other = next(ms for ms in per_person.values() if len(ms) >= 2)[:2]
    await web_login(client, db, organizer)
    company = f"/manage/events/{day.event_id}/matching/companies/{m['organization_id']}"
    assert f'href="/manage/matching/meetings/{m["id"]}/change"' in (await client.get(company)).text
    page = await client.get(f"/manage/matching/meetings/{m['id']}/change")
    assert page.status_code == 200 and "面談の変更" in page.text
    table_id = re.search(r'<option value="(\d+)" selected>', page.text.split('id="table_id"')[1])
    assert table_id
    clash = await post_form(
        client,
        f"/manage/matching/meetings/{m['id']}/move",
        {"slot": str(other["slot"]), "table_id": table_id.group(1)},
    )
    assert clash.status_code == 409 and "別の面談があります" in clash.text
    stored = await db.scalar(
        text("SELECT slot FROM matching_meetings WHERE id = :i"), {"i": m["id"]}
    )
    assert stored == m["slot"]  # nothing moved
    # Hostile values name the field and change nothing.
    for bad in ("", "abc", "9" * 30, "\x00", "\u202e1"):
        r = await post_form(
            client,
            f"/manage/matching/meetings/{m['id']}/move",
            {"slot": bad, "table_id": table_id.group(1)},
        )
        assert r.status_code == 422, (bad, r.status_code)
    # A free time for both the person and the table moves it.
    taken = {(x["organization_id"], x["slot"]) for x in meetings}
    busy = {(x["booking_id"], x["slot"]) for x in meetings}
    free = next(
        s
        for s in range(12)
        if (m["organization_id"], s) not in taken and (m["booking_id"], s) not in busy
    )
    moved = await post_form(
        client,
        f"/manage/matching/meetings/{m['id']}/move",
        {"slot": str(free), "table_id": table_id.group(1)},
    )
    assert moved.status_code == 303
    db.expire_all()
    row = (
        await db.execute(
            text("SELECT slot, source FROM matching_meetings WHERE id = :i"), {"i": m["id"]}
        )
    ).one()
    assert (row.slot, row.source) == (free, "manual")
    # Removing asks once more; the question itself removes nothing.
    ask = await client.get(f"/manage/matching/meetings/{m['id']}/remove")
    assert ask.status_code == 200 and "取り消しますか" in ask.text
    assert await db.scalar(
        text("SELECT count(*) FROM matching_meetings WHERE id = :i"), {"i": m["id"]}
    )
    gone = await post_form(client, f"/manage/matching/meetings/{m['id']}/remove")
    assert gone.status_code == 303
    assert not await db.scalar(
        text("SELECT count(*) FROM matching_meetings WHERE id = :i"), {"i": m["id"]}
    )
    # A company login sees no such button and cannot reach the pages.
    member = await make_staff(
        db, "company", organization=await db.get(Organization, m["organization_id"])
    )
    await web_login(client, db, member)
    assert "/change" not in (await client.get(company)).text
    assert (await client.get(f"/manage/matching/meetings/{other['id']}/change")).status_code in (
        403,
        404,
    )


async def test_a_line_break_as_browsers_post_it_is_kept_in_profile_and_brings(
    client: AsyncClient, db: AsyncSession
) -> None:
    """A textarea's line breaks arrive as CR LF (the HTML form encoding): a two-line profile or
    求人の内容 is stored with plain line breaks, not refused as a control character."""
    from tests.test_pages_public import follow, hidden_of
    from tests.test_pages_public import post_form as page_post

    organizer = await make_staff(db, "organizer")
    h = bearer(await issue_token(db, organizer))
    event = await make_event(db, title="お仕事面談会", kind="job_fair")
    session = await make_session(db, event=event, capacity=5)
    org = await make_org(db, "株式会社改行", kind="employer")
    await db.commit()
    base = f"/api/v1/manage/events/{event.id}/matching"
    r = await client.put(
        base,
        json={"slot_minutes": 20, "break_minutes": 5, "max_per_company": 5, "max_per_person": 3},
        headers=h,
    )
    assert r.status_code == 200
    r = await client.post(
        f"{base}/companies",
        json={"organization_id": org.id, "brings": "介護職\r\n週3日から", "tables": 1},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["brings"] == "介護職\n週3日から"
    url = f"/events/{event.id}/sessions/{session.id}/book"
    form = await client.get(url)
    typed = {
        "name": "静岡 花子",
        "name_kana": "しずおか はなこ",
        "phone": "09012345678",
        "matching": "1",
        "matching.profile": "経理30年\r\n得意：Excel",
        "matching.consent": "yes",
    }
    confirm = await follow(client, await page_post(client, form, f"{url}/confirm", typed))
    assert "使えない文字" not in confirm.text
    done = await page_post(client, confirm, f"{url}/complete", hidden_of(confirm))
    assert done.status_code == 303 and done.headers["location"].startswith("/bookings/done")
    stored = await db.scalar(text("SELECT profile FROM matching_profiles"))
    assert stored == "経理30年\n得意：Excel"
    # NUL and RLO are still refused.
    for bad in ("a\x00b", "a\u202eb"):
        r = await client.post(
            f"{base}/companies",
            json={"organization_id": org.id, "brings": bad, "tables": 1},
            headers=h,
        )
        assert r.status_code == 422 and "brings" in r.json()["fields"]


async def test_a_removed_meeting_of_a_person_with_other_meetings_goes_out_as_a_change(
    client: AsyncClient,
    db: AsyncSession,
    mail_settings: Settings,
    smtp: tuple[Mailbox, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Their other meetings were all sent already; the removal still changes their timetable,
    so the next send tells them (before -> after), as a move does."""
    organizer = await make_staff(db, "organizer")
    token = await issue_token(db, organizer)
    h = bearer(token)
    day = await make_day(db, client, token)
    await choose(client, day, token, random.Random(5))
    body = await build(client, mail_settings, day, token, monkeypatch)
    base = f"/api/v1/manage/events/{day.event_id}/matching"
    assert (await client.post(f"{base}/send", headers=h)).json()["notices"] > 0
    await run_worker(mail_settings)
    sent_before = len(smtp[0].messages)
    per_person = Counter(m["booking_id"] for m in body["meetings"])
    gone = next(m for m in body["meetings"] if per_person[m["booking_id"]] >= 2)
    r = await client.delete(f"/api/v1/manage/matching/meetings/{gone['id']}", headers=h)
    assert r.status_code == 204
    r = await client.post(f"{base}/send", headers=h)
    assert r.json()["notices"] == 1
    await run_worker(mail_settings)
    change = smtp[0].messages[sent_before:]
    assert len(change) == 1
    text_body = change[0].get_body(preferencelist=("plain",)).get_content()
    assert "変更前" in text_body and "変更後" in text_body
    # Nothing changed since: a second send writes nothing.
    assert (await client.post(f"{base}/send", headers=h)).json()["notices"] == 0
