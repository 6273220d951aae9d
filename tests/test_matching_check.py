"""A tight matching day checked from the stored meetings alone, by code that shares nothing
with the solver's model: 14 companies with one table each and five slots (70 places for 68
people who want up to two meetings each), random choices saved two companies at a time, the
real schedule job, then a rebuild after late changes."""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.matching import schedule
from service.platform.settings import Settings
from tests.factories import make_event, make_org, make_session
from tests.mail_support import run_worker
from tests.manage_support import bearer, issue_token, make_staff

COMPANIES, PEOPLE, MAX_PERSON, MAX_COMPANY = 14, 68, 2, 8


async def _stored(db: AsyncSession, event_id: int) -> dict[str, object]:
    """Meetings, tables and choices as PostgreSQL holds them (no API, no solver code)."""
    meetings = (
        await db.execute(
            text(
                "SELECT organization_id, booking_id, table_id, slot, source"
                " FROM matching_meetings WHERE event_id = :e"
            ),
            {"e": event_id},
        )
    ).all()
    tables = dict(
        (
            await db.execute(
                text("SELECT id, organization_id FROM matching_tables WHERE event_id = :e"),
                {"e": event_id},
            )
        ).all()
    )
    company = defaultdict(dict)
    for org, booking, rank in await db.execute(
        text(
            "SELECT organization_id, booking_id, rank FROM matching_company_choices"
            " WHERE event_id = :e"
        ),
        {"e": event_id},
    ):
        company[org][booking] = rank
    person = defaultdict(dict)
    for booking, org, rank in await db.execute(
        text(
            "SELECT booking_id, organization_id, rank FROM matching_participant_choices"
            " WHERE event_id = :e"
        ),
        {"e": event_id},
    ):
        person[booking][org] = rank
    return {"meetings": meetings, "tables": tables, "company": company, "person": person}


def check(stored: dict[str, object], slots: int) -> None:
    meetings = stored["meetings"]
    tables: dict[int, int] = stored["tables"]  # type: ignore[assignment]
    company: dict[int, dict[int, int]] = stored["company"]  # type: ignore[assignment]
    person: dict[int, dict[int, int]] = stored["person"]  # type: ignore[assignment]
    assert meetings
    # Hard rules.
    assert max(Counter((m.booking_id, m.slot) for m in meetings).values()) == 1
    assert max(Counter((m.table_id, m.slot) for m in meetings).values()) == 1
    assert max(Counter((m.organization_id, m.booking_id) for m in meetings).values()) == 1
    assert all(tables[m.table_id] == m.organization_id for m in meetings)
    assert all(0 <= m.slot < slots for m in meetings)
    assert max(Counter(m.booking_id for m in meetings).values()) <= MAX_PERSON
    assert max(Counter(m.organization_id for m in meetings).values()) <= MAX_COMPANY
    for m in meetings:
        assert m.booking_id in company.get(
            m.organization_id, {}
        ) or m.organization_id in person.get(m.booking_id, {}), (
            f"unchosen pair {m.organization_id}-{m.booking_id}"
        )
    met = {(m.organization_id, m.booking_id) for m in meetings}
    busy = {(m.booking_id, m.slot) for m in meetings}
    load = Counter(m.booking_id for m in meetings)
    # Every company that chose anyone meets one of them when some chosen person has room.
    for org, ranks in company.items():
        could = any(load[b] < MAX_PERSON for b in ranks) or any((org, b) in met for b in ranks)
        if could:
            assert any((org, b) in met for b in ranks), f"company {org} met none of its choices"
    # No mutual choice left out for a one-sided meeting of the same company when the mutual
    # person could take that very slot instead (free then and below their maximum).
    for m in meetings:
        org, who = m.organization_id, m.booking_id
        ranks = company.get(org, {})
        if who in ranks and org in person.get(who, {}):
            continue  # mutual itself
        own_rank = ranks.get(who, 10**6)
        for better, rank in ranks.items():
            if rank >= own_rank or org not in person.get(better, {}) or (org, better) in met:
                continue
            fits = (better, m.slot) not in busy and load[better] < MAX_PERSON
            assert not fits, f"mutual {better} left out for one-sided {who} at {org}"


async def _build(client: AsyncClient, settings: Settings, event_id: int, h: dict[str, str]) -> None:
    r = await client.post(f"/api/v1/manage/events/{event_id}/matching/schedule", headers=h)
    assert r.status_code == 202, r.text
    await run_worker(settings)
    r = await client.get(f"/api/v1/manage/events/{event_id}/matching/schedule", headers=h)
    assert r.json()["status"] == "ready", r.json()


async def test_a_tight_day_holds_every_rule_from_the_stored_meetings(
    client: AsyncClient, db: AsyncSession, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schedule, "SOLVER_TIME_LIMIT", 8.0)
    rng = random.Random(2023)
    h = bearer(await issue_token(db, await make_staff(db, "organizer")))
    event = await make_event(db, title="新現役交流会", kind="exchange")
    session = await make_session(db, event=event, capacity=PEOPLE, waitlist_limit=0)
    orgs = [(await make_org(db, f"株式会社検算{i:02d}", kind="employer")).id for i in range(14)]
    await db.commit()
    base = f"/api/v1/manage/events/{event.id}/matching"
    r = await client.put(
        base,
        json={
            "slot_minutes": 50,
            "break_minutes": 10,
            "max_per_company": MAX_COMPANY,
            "max_per_person": MAX_PERSON,
            "online": False,
        },
        headers=h,
    )
    assert r.status_code == 200, r.text
    slots = len(r.json()["slots"])
    assert slots == 5
    for org in orgs:
        r = await client.post(
            f"{base}/companies",
            json={"organization_id": org, "brings": "求人", "tables": 1},
            headers=h,
        )
        assert r.status_code == 200, r.text
    for n in range(PEOPLE):
        r = await client.post(
            f"/api/v1/sessions/{session.id}/bookings",
            json={
                "name": f"検算 花子{n}",
                "name_kana": "ケンザン ハナコ",
                "phone": f"090{n:08d}",
                "age_band": "60_64",
                "matching": {"profile": "経理30年", "consent": True},
            },
        )
        assert r.status_code in (200, 201), r.text
    people = [p["booking_id"] for p in (await client.get(base, headers=h)).json()["participants"]]
    assert len(people) == PEOPLE

    async def save_company(org: int) -> None:
        r = await client.put(
            f"{base}/companies/{org}/choices",
            json={"ranked": rng.sample(people, 8)},
            headers=h,
        )
        assert r.status_code == 200, r.text

    # Two companies save at once; both lists are kept.
    for i in range(0, COMPANIES - 1, 2):  # the last company chooses nobody
        await asyncio.gather(*(save_company(o) for o in orgs[i : i + 2] if o != orgs[-1]))
    for person in people:
        r = await client.put(
            f"{base}/participants/{person}/choices",
            json={"ranked": rng.sample(orgs, 3)},
            headers=h,
        )
        assert r.status_code == 200, r.text
    stored = await _stored(db, event.id)
    assert len(stored["company"]) == COMPANIES - 1  # type: ignore[arg-type]

    await _build(client, settings, event.id, h)
    check(await _stored(db, event.id), slots)

    # Late changes (three companies re-rank, a person changes their mind), then a rebuild.
    for org in orgs[:3]:
        await save_company(org)
    r = await client.put(
        f"{base}/participants/{people[0]}/choices", json={"ranked": orgs[-3:]}, headers=h
    )
    assert r.status_code == 200
    await _build(client, settings, event.id, h)
    check(await _stored(db, event.id), slots)
