"""Queries behind the yearly report document: the narrative, 新現役交流会 as entered, the plan
periods, and the events held in a year (its 【実施状況】)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.indicators.models import ExchangeYear, Narrative, PlanPeriod


@dataclass(frozen=True, slots=True)
class HeldRow:
    """One event's held sessions in one month: when the first began, where, how many came."""

    event_id: int
    month: str
    first_start: datetime
    sessions: int
    venues: str
    online: bool
    people: int


@dataclass(frozen=True, slots=True)
class HeldEventFacts:
    id: int
    title: str
    kind: str
    sector: str
    sub_kind: str | None
    cohosts: tuple[str, ...]
    cohost_ids: tuple[int, ...]


# Sessions held in the year (published event, not cancelled, ended before now) per event and
# month, with the people compiled for that event and month (attendance as the figures count
# it): no pass over the year's bookings.
HELD_SQL = """
    WITH held AS (
        SELECT s.event_id, to_char(s.starts_at AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM') AS month,
               min(s.starts_at) AS first_start, count(*) AS sessions,
               string_agg(DISTINCT v.name, '、') AS venues,
               bool_or(s.is_online OR v.ward = 'online') AS online
        FROM sessions s JOIN events e ON e.id = s.event_id JOIN venues v ON v.id = s.venue_id
        WHERE e.status = 'published' AND s.status <> 'cancelled'
          AND s.ends_at >= :starts AND s.ends_at < :ends AND s.ends_at <= :now
        GROUP BY 1, 2
    )
    SELECT h.event_id, h.month, h.first_start, h.sessions, h.venues, h.online,
           coalesce(f.people, 0)
    FROM held h LEFT JOIN indicator_event_figures f
      ON f.fiscal_year = :fy AND f.event_id = h.event_id AND f.month = h.month
    ORDER BY h.first_start, h.event_id
"""


class DocumentRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def narratives(self, fiscal_year: int) -> dict[tuple[str, str], str]:
        rows = await self.db.execute(
            select(Narrative.section, Narrative.part, Narrative.body).where(
                Narrative.fiscal_year == fiscal_year
            )
        )
        return {(s, p): b for s, p, b in rows.all()}

    async def set_narrative(
        self, fiscal_year: int, section: str, part: str, body: str, staff_id: int | None
    ) -> str | None:
        """Replaces the text (an empty body removes it); the text it had."""
        old = await self.db.scalar(
            delete(Narrative)
            .where(
                Narrative.fiscal_year == fiscal_year,
                Narrative.section == section,
                Narrative.part == part,
            )
            .returning(Narrative.body)
        )
        if body:
            await self.db.execute(
                insert(Narrative).values(
                    fiscal_year=fiscal_year,
                    section=section,
                    part=part,
                    body=body,
                    updated_by_id=staff_id,
                )
            )
        return old

    async def exchange_years(self, up_to: int) -> list[ExchangeYear]:
        rows = await self.db.scalars(
            select(ExchangeYear)
            .where(ExchangeYear.fiscal_year <= up_to)
            .order_by(ExchangeYear.fiscal_year.desc())
        )
        return list(rows.all())

    async def exchange_year(self, fiscal_year: int) -> ExchangeYear | None:
        return await self.db.get(ExchangeYear, fiscal_year)

    async def save_exchange_year(self, row: ExchangeYear) -> None:
        merged = await self.db.merge(row)
        await self.db.flush()
        await self.db.refresh(merged)

    async def delete_exchange_year(self, fiscal_year: int) -> None:
        await self.db.execute(delete(ExchangeYear).where(ExchangeYear.fiscal_year == fiscal_year))

    async def plan_periods(self) -> list[tuple[int, int]]:
        rows = await self.db.execute(
            select(PlanPeriod.first_year, PlanPeriod.last_year).order_by(PlanPeriod.first_year)
        )
        return [(int(a), int(b)) for a, b in rows.all()]

    async def set_plan_period(self, first_year: int, last_year: int) -> None:
        """Periods do not overlap: one that would is replaced."""
        await self.db.execute(
            delete(PlanPeriod).where(
                PlanPeriod.first_year <= last_year, PlanPeriod.last_year >= first_year
            )
        )
        await self.db.execute(insert(PlanPeriod).values(first_year=first_year, last_year=last_year))

    async def held(
        self, fiscal_year: int, starts: datetime, ends: datetime, now: datetime
    ) -> list[HeldRow]:
        rows = await self.db.execute(
            text(HELD_SQL), {"fy": fiscal_year, "starts": starts, "ends": ends, "now": now}
        )
        return [
            HeldRow(int(e), m, first, int(n), venues or "", bool(online), int(people))
            for e, m, first, n, venues, online, people in rows.all()
        ]

    async def held_event_facts(self, event_ids: Sequence[int]) -> dict[int, HeldEventFacts]:
        ids = sorted(set(event_ids))
        if not ids:
            return {}
        rows = await self.db.execute(
            text("""
                SELECT e.id, e.title, e.kind, e.sector, e.sub_kind,
                       coalesce(array_agg(o.name ORDER BY o.name)
                                FILTER (WHERE o.id IS NOT NULL), '{}'),
                       coalesce(array_agg(o.id ORDER BY o.name)
                                FILTER (WHERE o.id IS NOT NULL), '{}')
                FROM events e LEFT JOIN event_cohosts ec ON ec.event_id = e.id
                LEFT JOIN organizations o ON o.id = ec.organization_id
                WHERE e.id = ANY(:ids) GROUP BY e.id
            """),
            {"ids": ids},
        )
        return {
            int(i): HeldEventFacts(
                int(i), t, k, s, sk, tuple(str(n) for n in names), tuple(int(c) for c in co)
            )
            for i, t, k, s, sk, names, co in rows.all()
        }
