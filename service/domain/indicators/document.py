"""The yearly report as the desk files it (laid out like the programme's report): per section
its table, 【実施状況】 (the events held that year, from the data), the narrative 【評価】 and
【取組】 staff write, 新現役交流会 with past years' results as entered, the outcome table. The
page and the PDF read this; staff edit the narrative, 新現役交流会 and the plan periods."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.access import require_role
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import changed, record
from service.domain.indicators import fiscal
from service.domain.indicators.compile import EVENT_MEASURES, Match
from service.domain.indicators.document_repository import DocumentRepository
from service.domain.indicators.enums import SECTIONS
from service.domain.indicators.matching_days import days_of
from service.domain.indicators.models import ExchangeYear
from service.domain.indicators.report import Report, read_report
from service.domain.indicators.repository import EventFacts, IndicatorRepository
from service.domain.indicators.schemas import (
    validate_exchange,
    validate_narrative,
    validate_plan_period,
)
from service.domain.matching.figures import MatchingFigures
from service.platform.local_time import TOKYO

# The sections with 【実施状況】 and a narrative, in the report's order.
NARRATED = ("matching", "care", "service", "community", "outcome")
HELD_SECTIONS = ("matching", "care", "service", "community")


def era_label(fiscal_year: int) -> str:
    """How the report names a past year: H30, H31 (2019 began in Heisei), R2, R3..."""
    if fiscal_year <= 2019:
        return f"H{fiscal_year - 1988}"
    return fiscal.short_label(fiscal_year)


MONTHS_LISTED = 4


def _month(key: str) -> str:
    return f"{key[:4]}年{int(key[5:])}月"


@dataclass(frozen=True, slots=True)
class HeldEvent:
    """One line of 【実施状況】: an event held in the year, as the report lists them."""

    months: tuple[str, ...]  # YYYY-MM, in order
    first_day: date
    title: str
    venues: str
    online: bool
    sessions: int
    people: int
    cohosts: tuple[str, ...]

    @property
    def month_label(self) -> str:
        """2022年9月、2023年1月; a long run reads 2030年4月〜2031年3月（12か月）."""
        if len(self.months) <= MONTHS_LISTED:
            return "、".join(_month(m) for m in self.months)
        return f"{_month(self.months[0])}〜{_month(self.months[-1])}（{len(self.months)}か月）"


@dataclass(frozen=True, slots=True)
class SectionText:
    key: str
    number: str
    title: str
    held: list[HeldEvent]
    evaluation: str
    plan: str


@dataclass(frozen=True, slots=True)
class PastRate:
    fiscal_year: int
    label: str
    rate: Decimal


@dataclass(frozen=True, slots=True)
class Exchange:
    """新現役交流会 of the year: entered values first, else what the data says."""

    held_on: date | None
    method: str
    companies: int | None
    participants: int | None
    matches: int | None
    rate: Decimal | None
    past: list[PastRate]
    events: list[HeldEvent]

    @property
    def has_content(self) -> bool:
        return bool(self.held_on or self.companies or self.participants or self.past or self.events)


@dataclass(frozen=True, slots=True)
class Document:
    report: Report
    compiled_at: datetime | None
    sections: dict[str, SectionText]
    exchange: Exchange
    next_label: str

    def text(self, key: str) -> SectionText:
        return self.sections[key]


def _int(value: Decimal | None) -> int | None:
    return None if value is None else int(value)


async def held_events(
    db: AsyncSession, fiscal_year: int, scope: int | None
) -> dict[str, list[HeldEvent]]:
    """The year's held events per section they count in (a section's event definitions decide),
    and 'exchange' for 新現役交流会. Co-host staff see the events their organization co-hosts."""
    docs = DocumentRepository(db)
    rows = await docs.held(
        fiscal_year,
        fiscal.tokyo_midnight(fiscal.first_day(fiscal_year)),
        fiscal.tokyo_midnight(fiscal.first_day(fiscal_year + 1)),
        clock.now(),
    )
    facts = await docs.held_event_facts([r.event_id for r in rows])
    definitions = [
        (d.section, Match.of(d))
        for d in await IndicatorRepository(db).definitions()
        if d.measure in EVENT_MEASURES
    ]
    sections_of: dict[int, list[str]] = {}
    for f in facts.values():
        e = EventFacts(f.id, f.kind, f.sector, f.sub_kind, f.cohost_ids)
        keys: list[str] = []
        for section, d in definitions:
            if d.event(e) and section not in keys:
                keys.append(section)
        sections_of[f.id] = keys
    merged: dict[int, HeldEvent] = {}
    for r in rows:
        f = facts[r.event_id]
        if scope not in (None, 0) and scope not in f.cohost_ids:
            continue
        seen = merged.get(r.event_id)
        if seen is None:
            merged[r.event_id] = HeldEvent(
                (r.month,),
                r.first_start.astimezone(TOKYO).date(),
                f.title,
                r.venues,
                r.online,
                r.sessions,
                r.people,
                f.cohosts,
            )
            continue
        venues = list(dict.fromkeys([*seen.venues.split("、"), *r.venues.split("、")]))
        merged[r.event_id] = HeldEvent(
            (*seen.months, r.month),
            seen.first_day,
            seen.title,
            "、".join(v for v in venues if v),
            seen.online and r.online,
            seen.sessions + r.sessions,
            seen.people + r.people,
            seen.cohosts,
        )
    out: dict[str, list[HeldEvent]] = {k: [] for k in (*HELD_SECTIONS, "exchange")}
    for event_id, held in merged.items():
        for key in sections_of.get(event_id, []):
            if key in out:
                out[key].append(held)
    return out


async def read_document(db: AsyncSession, actor: Actor, raw_year: object) -> Document:
    require_role(actor, "organizer")
    report = await read_report(db, actor, raw_year)
    year = report.fiscal_year
    docs = DocumentRepository(db)
    texts = await docs.narratives(year)
    held = await held_events(db, year, 0 if actor.sees_everything else actor.organization_id)
    window = fiscal.window(year, await IndicatorRepository(db).window_start(year))
    sections = {}
    for key in NARRATED:
        number, title = SECTIONS[key]
        sections[key] = SectionText(
            key,
            number,
            title,
            held.get(key, []),
            texts.get((key, "evaluation"), ""),
            texts.get((key, "plan"), ""),
        )
    return Document(
        report=report,
        compiled_at=report.compiled_at,
        sections=sections,
        exchange=await _exchange(
            docs,
            report,
            held.get("exchange", []),
            await days_of(db, window),
        ),
        next_label=fiscal.label(year + 1),
    )


async def _exchange(
    docs: DocumentRepository,
    report: Report,
    events: list[HeldEvent],
    days: MatchingFigures | None,
) -> Exchange:
    year = report.fiscal_year
    entered = await docs.exchange_year(year)

    def figure(code: str) -> Decimal | None:
        row = report.row(code)
        return row.actual if row is not None else None

    companies = entered.companies if entered and entered.companies is not None else None
    if companies is None:
        companies = _int(figure("exchange_companies")) or None
    participants = entered.participants if entered and entered.participants is not None else None
    if participants is None:
        participants = _int(figure("exchange_participants")) or None
    matches = entered.matches if entered else None
    rate = entered.rate if entered and entered.rate is not None else None
    if rate is None and matches is not None and companies:
        rate = (Decimal(matches) * 100 / companies).quantize(Decimal("0.1"), ROUND_HALF_UP)
    if rate is None:
        rate = figure("exchange_matching_rate")
    if days is not None:
        # A year of matching days: the figures compiled from the meetings' outcomes, never
        # typed ones; 何社中何社 from the days themselves.
        companies = _int(figure("exchange_companies"))
        participants = _int(figure("exchange_participants"))
        matches = days.companies_matched
        rate = figure("exchange_matching_rate")
    past = [
        PastRate(e.fiscal_year, era_label(e.fiscal_year), e.rate)
        for e in await docs.exchange_years(year - 1)
        if e.rate is not None
    ]
    held_on = entered.held_on if entered and entered.held_on else None
    if held_on is None and events:
        held_on = events[0].first_day
    method = entered.method if entered and entered.method else ""
    if not method and events:
        method = "オンライン" if all(e.online for e in events) else events[0].venues
    return Exchange(held_on, method, companies, participants, matches, rate, past, events)


# editing (the console)


async def save_narrative(db: AsyncSession, actor: Actor, data: Mapping[str, object]) -> int:
    require_role(actor, "organizer")
    year, section, part, body = validate_narrative(data)
    old = await DocumentRepository(db).set_narrative(year, section, part, body, actor.id)
    if (old or "") != body:
        await record(
            db,
            actor,
            "indicators.narrative",
            "fiscal_year",
            year,
            before={"section": section, "part": part, "body": old},
            after={"section": section, "part": part, "body": body},
        )
    return year


def _exchange_values(row: ExchangeYear | None) -> dict[str, object]:
    if row is None:
        return {}
    return {
        "held_on": row.held_on,
        "method": row.method,
        "companies": row.companies,
        "participants": row.participants,
        "matches": row.matches,
        "rate": row.rate,
    }


async def save_exchange(db: AsyncSession, actor: Actor, data: Mapping[str, object]) -> int:
    """A year of 新現役交流会 as entered (a past year's rate, or what the data cannot know);
    with every field empty the year's entry is removed."""
    require_role(actor, "organizer")
    valid = validate_exchange(data)
    docs = DocumentRepository(db)
    before = _exchange_values(await docs.exchange_year(valid.fiscal_year))
    row = ExchangeYear(
        fiscal_year=valid.fiscal_year,
        held_on=valid.held_on,
        method=valid.method,
        companies=valid.companies,
        participants=valid.participants,
        matches=valid.matches,
        rate=valid.rate,
        updated_by_id=actor.id,
    )
    empty = not any((valid.held_on, valid.method)) and all(
        v is None for v in (valid.companies, valid.participants, valid.matches, valid.rate)
    )
    if empty:
        await docs.delete_exchange_year(valid.fiscal_year)
        after: dict[str, object] = {}
    else:
        await docs.save_exchange_year(row)
        after = _exchange_values(row)
    old, new = changed(before, after)
    await record(
        db,
        actor,
        "indicators.exchange",
        "fiscal_year",
        valid.fiscal_year,
        before=old or None,
        after=new,
    )
    return valid.fiscal_year


async def exchange_history(db: AsyncSession, actor: Actor, up_to: int) -> list[ExchangeYear]:
    require_role(actor, "organizer")
    return await DocumentRepository(db).exchange_years(up_to)


async def plan_periods(db: AsyncSession, actor: Actor) -> list[tuple[int, int]]:
    require_role(actor, "organizer")
    return await DocumentRepository(db).plan_periods()


async def set_plan_period(db: AsyncSession, actor: Actor, data: Mapping[str, object]) -> None:
    require_role(actor, "admin")
    first, last = validate_plan_period(data)
    await DocumentRepository(db).set_plan_period(first, last)
    await record(
        db,
        actor,
        "indicators.plan_period",
        "fiscal_year",
        first,
        after={"first_year": first, "last_year": last},
    )
