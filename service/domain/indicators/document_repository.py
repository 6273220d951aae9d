"""Queries behind the yearly report document: the narrative, 新現役交流会 as entered, the plan
periods, and the events held in a year (its 【実施状況】)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    delete,
    distinct,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from service.domain.events.models import Event, EventSession, Organization, Venue, event_cohosts
from service.domain.indicators.models import EventFigure, ExchangeYear, Narrative, PlanPeriod


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


_TOKYO = "Asia/Tokyo"


def _held(
    fiscal_year: int, starts: datetime, ends: datetime, now: datetime
) -> Select[*tuple[Any, ...]]:
    """Sessions held in the year (published event, not cancelled, ended before now) per event
    and month, with the people compiled for that event and month (attendance as the figures
    count it): no pass over the year's bookings."""
    s, e, v, f = EventSession, Event, Venue, EventFigure
    month = func.to_char(func.timezone(_TOKYO, s.starts_at), "YYYY-MM").label("month")
    held = (
        select(
            s.event_id,
            month,
            func.min(s.starts_at).label("first_start"),
            func.count().label("sessions"),
            func.string_agg(distinct(v.name), "、").label("venues"),
            func.bool_or(or_(s.is_online, v.ward == "online")).label("online"),
        )
        .join(e, e.id == s.event_id)
        .join(v, v.id == s.venue_id)
        .where(
            e.status == "published",
            s.status != "cancelled",
            s.ends_at >= starts,
            s.ends_at < ends,
            s.ends_at <= now,
        )
        # By the month's label: its expression, bound again, would be another expression.
        .group_by(s.event_id, "month")
        .cte("held")
    )
    h = held.c
    return (
        select(
            h.event_id,
            h.month,
            h.first_start,
            h.sessions,
            h.venues,
            h.online,
            func.coalesce(f.people, 0),
        )
        .select_from(held)
        .outerjoin(
            f, and_(f.fiscal_year == fiscal_year, f.event_id == h.event_id, f.month == h.month)
        )
        .order_by(h.first_start, h.event_id)
    )


def _cohosts(value: InstrumentedAttribute[Any]) -> ColumnElement[Any]:
    """array_agg(value ORDER BY the co-host's name) of the event's co-hosts; '{}' when none."""
    return func.coalesce(
        func.array_agg(aggregate_order_by(value, Organization.name)).filter(
            Organization.id.is_not(None)
        ),
        literal([], ARRAY(value.type)),
    )


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
        rows = await self.db.execute(_held(fiscal_year, starts, ends, now))
        return [
            HeldRow(int(e), m, first, int(n), venues or "", bool(online), int(people))
            for e, m, first, n, venues, online, people in rows.all()
        ]

    async def held_event_facts(self, event_ids: Sequence[int]) -> dict[int, HeldEventFacts]:
        ids = sorted(set(event_ids))
        if not ids:
            return {}
        e, o = Event, Organization
        rows = await self.db.execute(
            select(
                e.id,
                e.title,
                e.kind,
                e.sector,
                e.sub_kind,
                _cohosts(o.name),
                _cohosts(o.id),
            )
            .outerjoin(event_cohosts, event_cohosts.c.event_id == e.id)
            .outerjoin(o, o.id == event_cohosts.c.organization_id)
            .where(e.id.in_(ids))
            .group_by(e.id)
        )
        return {
            int(i): HeldEventFacts(
                int(i), t, k, s, sk, tuple(str(n) for n in names), tuple(int(c) for c in co)
            )
            for i, t, k, s, sk, names, co in rows.all()
        }
