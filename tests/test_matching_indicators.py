"""Matching days in the yearly figures, on a real PostgreSQL, Redis and arq worker: the day's
outcomes compile into 参加企業・参加人材・マッチング率 (hand figures of that year ignored,
earlier years' kept), a changed outcome marks the year stale and the cron compiles it again,
and the report's 新現役交流会 page shows the compiled figures."""

from __future__ import annotations

import random
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.actor import Actor
from service.domain.indicators import fiscal
from service.domain.indicators import service as indicators
from service.domain.indicators.document import read_document, save_exchange
from service.domain.indicators.report import read_report
from service.domain.indicators.repository import IndicatorRepository
from service.platform.settings import Settings
from tests.factories import make_org
from tests.mail_support import run_worker, worker_context
from tests.manage_support import bearer, issue_token, make_staff
from tests.test_matching import COMPANIES, build, choose, make_day
from workers.indicators import compile_stale_indicators

CODES = ("exchange_companies", "exchange_participants", "exchange_matching_rate")


async def _figures(db: AsyncSession, actor: Actor, year: int) -> dict[str, Decimal | None]:
    report = await read_report(db, actor, year)
    return {r.code: r.actual for r in report.all_rows if r.code in CODES}


async def _definition(db: AsyncSession, code: str) -> int:
    found = await IndicatorRepository(db).definition_by_code(code)
    assert found is not None
    return found.id


async def test_a_days_outcomes_compile_into_the_exchange_figures_and_a_change_recompiles(
    client: AsyncClient, db: AsyncSession, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    organizer = await make_staff(db, "organizer")
    actor = Actor.of(organizer)
    token = await issue_token(db, organizer)
    h = bearer(token)
    day = await make_day(db, client, token)
    # Co-hosted with ハローワーク: its staff's page counts the day as the programme's does.
    hello_work = await make_org(db, "ハローワーク静岡", kind="cohost")
    await db.execute(
        text("INSERT INTO event_cohosts (event_id, organization_id) VALUES (:e, :o)"),
        {"e": day.event_id, "o": hello_work.id},
    )
    cohost = Actor.of(await make_staff(db, "cohost", organization=hello_work))
    await db.commit()
    starts_at = await db.scalar(
        text("SELECT starts_at FROM sessions WHERE id = :s"), {"s": day.session_id}
    )
    year = fiscal.fiscal_year_of(starts_at)
    # Hand figures typed for this year, and the year before (no matching day: its history).
    for code, value in (("exchange_participants", "999"), ("exchange_matching_rate", "90")):
        for y in (year, year - 1):
            await indicators.set_year_figure(
                db,
                actor,
                {"definition_id": await _definition(db, code), "fiscal_year": y, "value": value},
            )
    await save_exchange(
        db, actor, {"fiscal_year": year, "companies": "3", "matches": "3", "rate": "100"}
    )
    await db.commit()

    await choose(client, day, token, random.Random(5))
    body = await build(client, settings, day, token, monkeypatch)
    by_company: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for m in body["meetings"]:
        by_company[m["organization_id"]].append(m)
    assert len(by_company) == COMPANIES
    first_match: int | None = None
    for i, org in enumerate(day.orgs):
        for j, m in enumerate(by_company[org]):
            result = "matched" if i < 5 and j == 0 else ("absent" if j == 1 else "not_matched")
            if result == "matched" and first_match is None:
                first_match = m["id"]
            r = await client.post(
                f"/api/v1/manage/matching/meetings/{m['id']}/outcome",
                json={"result": result},
                headers=h,
            )
            assert r.status_code == 200, r.text
    met = await db.scalar(
        text(
            "SELECT count(DISTINCT booking_id) FROM matching_meetings"
            " WHERE event_id = :e AND outcome IS DISTINCT FROM 'absent'"
        ),
        {"e": day.event_id},
    )
    assert 0 < met < len(day.people) + 1

    r = await client.post(
        "/api/v1/manage/indicators/compile", json={"fiscal_year": year}, headers=h
    )
    assert r.status_code == 202, r.text
    await run_worker(settings)
    assert await _figures(db, actor, year) == {
        "exchange_companies": Decimal(COMPANIES),
        "exchange_participants": Decimal(met),
        "exchange_matching_rate": Decimal("35.7"),
    }
    # Its days' companies and people; the rate is the desk's own figure, not shown to co-hosts.
    assert await _figures(db, cohost, year) == {
        "exchange_companies": Decimal(COMPANIES),
        "exchange_participants": Decimal(met),
        "exchange_matching_rate": None,
    }
    repo = IndicatorRepository(db)
    assert year not in await repo.stale_years()
    # The report's 新現役交流会 page: compiled, not the typed 3社・100%.
    document = await read_document(db, actor, year)
    x = document.exchange
    assert (x.companies, x.participants, x.matches, x.rate) == (
        COMPANIES,
        met,
        5,
        Decimal("35.7"),
    )

    # A match taken back: the year is stale, and the minute's cron compiles 4 of 14.
    assert first_match is not None
    r = await client.post(
        f"/api/v1/manage/matching/meetings/{first_match}/outcome",
        json={"result": "not_matched"},
        headers=h,
    )
    assert r.status_code == 200
    await db.rollback()
    assert year in await repo.stale_years()
    async with worker_context(settings) as ctx:
        assert year in await compile_stale_indicators(ctx)
    await db.rollback()
    assert year not in await repo.stale_years()
    assert (await _figures(db, actor, year))["exchange_matching_rate"] == Decimal("28.6")
    assert (await read_document(db, actor, year)).exchange.matches == 4

    # The year before has no matching day: its typed figures stand (the cron compiled it too,
    # its hand figures had marked it).
    before = await _figures(db, actor, year - 1)
    assert before["exchange_participants"] == Decimal(999)
    assert before["exchange_matching_rate"] == Decimal("90.0")


async def test_meetings_companies_and_days_added_or_removed_mark_the_year_stale(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    from tests.factories import make_event, make_org, make_session

    organizer = await make_staff(db, "organizer")
    token = await issue_token(db, organizer)
    h = bearer(token)
    event = await make_event(db, title="面談会", kind="exchange")
    session = await make_session(db, event=event, capacity=10, waitlist_limit=0)
    orgs = [(await make_org(db, f"株式会社ステイル{i}", kind="employer")).id for i in range(2)]
    await db.commit()
    session_id = session.id
    year = fiscal.fiscal_year_of(
        await db.scalar(text("SELECT starts_at FROM sessions WHERE id = :s"), {"s": session_id})
    )
    event_id = event.id
    repo = IndicatorRepository(db)

    async def stale_after(step: Any) -> bool:
        r = await client.post(
            "/api/v1/manage/indicators/compile", json={"fiscal_year": year}, headers=h
        )
        assert r.status_code == 202, r.text
        await run_worker(settings)
        await db.rollback()
        assert year not in await repo.stale_years()
        await step()
        await db.rollback()
        return year in await repo.stale_years()

    async def add_day() -> None:
        r = await client.put(
            f"/api/v1/manage/events/{event_id}/matching",
            json={
                "slot_minutes": 20,
                "break_minutes": 5,
                "max_per_company": 4,
                "max_per_person": 2,
                "online": False,
            },
            headers=h,
        )
        assert r.status_code == 200, r.text

    async def add_company() -> None:
        for org in orgs:
            r = await client.post(
                f"/api/v1/manage/events/{event_id}/matching/companies",
                json={"organization_id": org, "brings": "求人", "tables": [{"place": "A"}]},
                headers=h,
            )
            assert r.status_code == 200, r.text

    booking: dict[str, int] = {}

    async def add_meeting() -> None:
        r = await client.post(
            f"/api/v1/sessions/{session_id}/bookings",
            json={
                "name": "静岡 花子",
                "name_kana": "シズオカ ハナコ",
                "phone": "0541234567",
                "age_band": "60_64",
                "matching": {"profile": "経理20年", "consent": True},
            },
        )
        assert r.status_code in (200, 201), r.text
        view = (await client.get(f"/api/v1/manage/events/{event_id}/matching", headers=h)).json()
        booking["id"] = view["participants"][0]["booking_id"]
        table = await db.scalar(
            text("SELECT id FROM matching_tables WHERE event_id = :e AND organization_id = :o"),
            {"e": event_id, "o": orgs[0]},
        )
        await db.rollback()
        r = await client.post(
            f"/api/v1/manage/events/{event_id}/matching/meetings",
            json={
                "organization_id": orgs[0],
                "booking_id": booking["id"],
                "table_id": table,
                "slot": 0,
            },
            headers=h,
        )
        assert r.status_code in (200, 201), r.text
        booking["meeting"] = r.json()["id"]

    async def move_meeting() -> None:
        await db.execute(
            text("UPDATE matching_meetings SET slot = 1 WHERE id = :m"), {"m": booking["meeting"]}
        )
        await db.commit()

    async def remove_meeting() -> None:
        await db.execute(
            text("DELETE FROM matching_meetings WHERE id = :m"), {"m": booking["meeting"]}
        )
        await db.commit()

    async def remove_company() -> None:
        await db.execute(
            text("DELETE FROM matching_companies WHERE event_id = :e AND organization_id = :o"),
            {"e": event_id, "o": orgs[1]},
        )
        await db.commit()

    async def remove_day() -> None:
        await db.execute(text("DELETE FROM matching_days WHERE event_id = :e"), {"e": event_id})
        await db.commit()

    assert await stale_after(add_day)
    assert await stale_after(add_company)
    assert await stale_after(add_meeting)
    # A meeting moved to another slot changes no figure: the year stays compiled.
    assert not await stale_after(move_meeting)
    assert await stale_after(remove_meeting)
    assert await stale_after(remove_company)
    assert await stale_after(remove_day)
