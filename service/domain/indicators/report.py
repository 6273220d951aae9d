"""The report as pages, the API, CSV and the chart read it: compiled figures beside targets,
laid out like the programme's report. Co-host staff get the figures of the events their
organization co-hosts and nothing else."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.actor import Actor
from service.domain.bookings.enums import HEARD_FROM
from service.domain.indicators import fiscal
from service.domain.indicators.compile import EVENT_MEASURES
from service.domain.indicators.document_repository import DocumentRepository
from service.domain.indicators.enums import ALL_SCOPE, SECTIONS, TOTAL, UNITS
from service.domain.indicators.repository import IndicatorRepository
from service.domain.indicators.schemas import fiscal_year_value
from service.domain.indicators.service import year_window
from service.platform.local_time import TOKYO

HEARD_FROM_LABELS = {**HEARD_FROM, "unknown": "未回答"}


def plain_number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True, slots=True)
class YearCell:
    fiscal_year: int
    label: str
    actual: Decimal | None
    target: Decimal | None


@dataclass(frozen=True, slots=True)
class ReportRow:
    code: str
    name: str
    unit: str
    unit_label: str
    section: str
    policy: str
    measure: str
    actual: Decimal | None
    target: Decimal | None
    answers: int | None
    months: dict[str, Decimal | None]
    years: list[YearCell]

    @property
    def achieved(self) -> bool | None:
        if self.actual is None or self.target is None:
            return None
        return self.actual >= self.target

    @property
    def title(self) -> str:
        """項目 as the report writes it: name（unit）."""
        return f"{self.name}（{self.unit_label}）"


@dataclass(frozen=True, slots=True)
class ReportSection:
    key: str
    number: str
    title: str
    rows: list[ReportRow]


@dataclass(frozen=True, slots=True)
class Report:
    fiscal_year: int
    label: str
    short_label: str
    window: fiscal.Window
    compiled_at: datetime | None
    is_stale: bool
    scope_name: str | None
    sections: list[ReportSection]
    months: list[str]
    heard_from: list[tuple[str, str, int]] = field(default_factory=list)
    # The plan period's years (R4-R6): the 実績（目標） columns.
    plan_years: list[int] = field(default_factory=list)
    # 新現役交流会's rows: its own page, not a target table.
    exchange_rows: list[ReportRow] = field(default_factory=list)

    @property
    def rows(self) -> list[ReportRow]:
        return [r for s in self.sections for r in s.rows]

    @property
    def compiled_label(self) -> str:
        """集計日時 with the year: 2023年4月10日 9:05 (Tokyo)."""
        if self.compiled_at is None:
            return ""
        at = self.compiled_at.astimezone(TOKYO)
        return f"{at.year}年{at.month}月{at.day}日 {at.hour}:{at.minute:02d}"

    @property
    def all_rows(self) -> list[ReportRow]:
        return self.rows + self.exchange_rows

    def row(self, code: str) -> ReportRow | None:
        return next((r for r in self.all_rows if r.code == code), None)


async def read_report(
    db: AsyncSession, actor: Actor, raw_year: object, *, field_name: str = "fy"
) -> Report:
    fiscal_year = fiscal_year_value(raw_year, field_name)
    repo = IndicatorRepository(db)
    scope = ALL_SCOPE if actor.sees_everything else actor.organization_id
    scope_name = None
    if not actor.sees_everything:
        scope_name = await repo.organization_name(scope) if scope else ""
    years = plan_years(await DocumentRepository(db).plan_periods(), fiscal_year)
    window = await year_window(repo, fiscal_year)
    state = await repo.compile_state(fiscal_year)
    definitions = await repo.definitions()
    targets = await repo.targets(years)
    values: dict[tuple[int, int, str], tuple[Decimal | None, int | None]] = {}
    compiled_years: set[int] = set()
    if scope is not None:
        for f in await repo.figures(years, scope):
            values[(f.fiscal_year, f.definition_id, f.period)] = (f.value, f.answers)
            compiled_years.add(f.fiscal_year)
    for year in years:
        s = await repo.compile_state(year)
        if s is not None and s.compiled_at is not None:
            compiled_years.add(year)

    def visible(measure: str) -> bool:
        # Co-host staff see event figures only: the desk's own work is not theirs to read.
        return scope is not None and (scope == ALL_SCOPE or measure in EVENT_MEASURES)

    def figure(year: int, definition_id: int, measure: str, period: str) -> Decimal | None:
        if not visible(measure) or year not in compiled_years:
            return None
        found = values.get((year, definition_id, period))
        if found is None:
            # A compiled count with no row is zero; a percentage without answers has none.
            return None if measure in ("satisfaction", "hand") else Decimal(0)
        return found[0]  # None: a month not known (the year was entered as a total)

    by_section: dict[str, list[ReportRow]] = defaultdict(list)
    for d in definitions:
        total = values.get((fiscal_year, d.id, TOTAL)) if visible(d.measure) else None
        by_section[d.section].append(
            ReportRow(
                code=d.code,
                name=d.name,
                unit=d.unit,
                unit_label=UNITS[d.unit],
                section=d.section,
                policy=d.policy,
                measure=d.measure,
                actual=figure(fiscal_year, d.id, d.measure, TOTAL),
                target=targets.get((d.id, fiscal_year)),
                answers=total[1] if total else None,
                months={m: figure(fiscal_year, d.id, d.measure, m) for m in window.months},
                years=[
                    YearCell(
                        y,
                        fiscal.short_label(y),
                        figure(y, d.id, d.measure, TOTAL),
                        targets.get((d.id, y)),
                    )
                    for y in years
                ],
            )
        )
    sections = [
        ReportSection(key, number, title, by_section[key])
        for key, (number, title) in SECTIONS.items()
        if by_section.get(key) and key != "exchange"
    ]
    heard = await repo.heard_from(fiscal_year, scope) if scope is not None else []
    return Report(
        fiscal_year=fiscal_year,
        label=fiscal.label(fiscal_year),
        short_label=fiscal.short_label(fiscal_year),
        window=window,
        compiled_at=state.compiled_at if state else None,
        is_stale=state.is_stale if state else True,
        scope_name=scope_name,
        sections=sections,
        months=window.months,
        heard_from=[(h, HEARD_FROM_LABELS.get(h, h), n) for h, n in heard],
        plan_years=years,
        exchange_rows=by_section.get("exchange", []),
    )


def plan_years(periods: list[tuple[int, int]], fiscal_year: int) -> list[int]:
    """The years of the plan period the year belongs to (R4-R6 for R4, R5 and R6); a year
    outside every period stands alone."""
    for first, last in periods:
        if first <= fiscal_year <= last:
            return list(range(first, last + 1))
    return [fiscal_year]
