"""How figures are counted, from the year's aggregates to one figure per scope, indicator and
period. Pure: the repository reads the aggregates, the service writes what this returns."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from service.domain.indicators.enums import ALL_SCOPE, TOTAL
from service.domain.indicators.fiscal import Window
from service.domain.indicators.models import IndicatorDefinition
from service.domain.indicators.repository import (
    AttendanceRow,
    EmployerRow,
    EventFacts,
    FigureRow,
    HandRow,
    RecordRow,
    SurveyRow,
)

ONE_DECIMAL = Decimal("0.1")
EVENT_MEASURES = ("attendance", "employers")


@dataclass(frozen=True, slots=True)
class Match:
    """What a definition matches, detached from the ORM row."""

    id: int
    measure: str
    unit: str
    kinds: frozenset[str]
    sectors: frozenset[str]
    sub_kinds: frozenset[str]
    record_kind: str | None
    channels: frozenset[str]
    senior: bool | None

    @classmethod
    def of(cls, d: IndicatorDefinition) -> Match:
        return cls(
            id=d.id,
            measure=d.measure,
            unit=d.unit,
            kinds=frozenset(d.kinds or ()),
            sectors=frozenset(d.sectors or ()),
            sub_kinds=frozenset(d.sub_kinds or ()),
            record_kind=d.record_kind,
            channels=frozenset(d.channels or ()),
            senior=d.senior,
        )

    def event(self, e: EventFacts) -> bool:
        return (
            (not self.kinds or e.kind in self.kinds)
            and (not self.sectors or e.sector in self.sectors)
            and (not self.sub_kinds or e.sub_kind in self.sub_kinds)
        )

    def record(self, r: RecordRow) -> bool:
        return (
            r.kind == self.record_kind
            and (not self.sectors or r.sector in self.sectors)
            and (not self.channels or r.channel in self.channels)
            and (self.senior is None or r.senior == self.senior)
        )


@dataclass
class _Tally:
    months: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    extra_total: Decimal = Decimal(0)
    # Distinct things (employers, companies): the month each was first seen.
    first_seen: dict[object, str] = field(default_factory=dict)

    def see(self, key: object, month: str) -> None:
        seen = self.first_seen.get(key)
        if seen is None or month < seen:
            self.first_seen[key] = month


@dataclass(frozen=True, slots=True)
class YearInput:
    window: Window
    attendance: Sequence[AttendanceRow]
    events: dict[int, EventFacts]
    employers: Sequence[EmployerRow]
    records: Sequence[RecordRow]
    survey: Sequence[SurveyRow]
    hand: Sequence[HandRow]


@dataclass(frozen=True, slots=True)
class YearFigures:
    figures: list[FigureRow]
    heard_from: list[tuple[int, str, int]]


def _scopes(e: EventFacts) -> tuple[int, ...]:
    return (ALL_SCOPE, *e.cohosts)


def _pct(satisfied: Decimal, answers: int) -> Decimal:
    return (satisfied * 100 / answers).quantize(ONE_DECIMAL, ROUND_HALF_UP)


def compile_year(definitions: Sequence[Match], data: YearInput) -> YearFigures:
    months = data.window.months
    in_window = set(months)
    tallies: dict[tuple[int, int], _Tally] = defaultdict(_Tally)
    scopes_seen: set[int] = {ALL_SCOPE}
    heard: dict[tuple[int, str], int] = defaultdict(int)

    for a in data.attendance:
        event = data.events.get(a.event_id)
        if event is None or a.month not in in_window:
            continue
        for scope in _scopes(event):
            scopes_seen.add(scope)
            heard[(scope, a.heard_from)] += a.people
            for d in definitions:
                if d.measure == "attendance" and d.event(event):
                    tallies[(scope, d.id)].months[a.month] += a.people

    for emp in data.employers:
        event = data.events.get(emp.event_id)
        if event is None or emp.month not in in_window:
            continue
        for scope in _scopes(event):
            scopes_seen.add(scope)
            for d in definitions:
                if d.measure == "employers" and d.event(event):
                    tallies[(scope, d.id)].see(emp.organization_id, emp.month)

    for r in data.records:
        if r.month not in in_window:
            continue
        for d in definitions:
            if d.measure == "record" and d.record(r):
                tally = tallies[(ALL_SCOPE, d.id)]
                if r.kind == "supported_company":
                    tally.see(r.company_key, r.month)
                else:
                    tally.months[r.month] += r.quantity

    survey: dict[str, tuple[int, Decimal]] = {
        s.month: (s.answers, Decimal(s.satisfied)) for s in data.survey if s.month in in_window
    }
    by_id = {d.id: d for d in definitions}
    hand_percent: dict[int, dict[str, tuple[int, Decimal]]] = defaultdict(dict)
    for h in data.hand:
        owner = by_id.get(h.definition_id)
        if owner is None or h.month not in in_window:
            continue
        if owner.unit == "percent":
            # A percentage entered by hand stands for `answers` answers (one when not given).
            weight = h.answers or 1
            hand_percent[owner.id][h.month] = (weight, h.value * weight / 100)
        else:
            tallies[(ALL_SCOPE, owner.id)].months[h.month] += h.value

    out: list[FigureRow] = []
    for d in definitions:
        scopes = sorted(scopes_seen) if d.measure in EVENT_MEASURES else [ALL_SCOPE]
        for scope in scopes:
            if d.unit == "percent":
                out.extend(_percent_rows(d, months, survey, hand_percent.get(d.id, {})))
                continue
            tally = tallies.get((scope, d.id), _Tally())
            counts = dict(tally.months)
            for month in tally.first_seen.values():
                counts[month] = counts.get(month, Decimal(0)) + 1
            for month in months:
                out.append(FigureRow(scope, d.id, month, counts.get(month, Decimal(0)), None))
            out.append(FigureRow(scope, d.id, TOTAL, sum(counts.values(), Decimal(0)), None))
    heard_rows = [(scope, h, n) for (scope, h), n in sorted(heard.items())]
    return YearFigures(out, heard_rows)


def _percent_rows(
    d: Match,
    months: Sequence[str],
    survey: dict[str, tuple[int, Decimal]],
    hand: dict[str, tuple[int, Decimal]],
) -> list[FigureRow]:
    rows: list[FigureRow] = []
    all_answers, all_satisfied = 0, Decimal(0)
    for month in months:
        answers, satisfied = 0, Decimal(0)
        if d.measure == "satisfaction":
            answers, satisfied = survey.get(month, (0, Decimal(0)))
        extra = hand.get(month)
        if extra is not None:
            answers += extra[0]
            satisfied += extra[1]
        if answers:
            shown = answers if d.measure == "satisfaction" else None
            rows.append(FigureRow(ALL_SCOPE, d.id, month, _pct(satisfied, answers), shown))
            all_answers += answers
            all_satisfied += satisfied
    if all_answers:
        shown = all_answers if d.measure == "satisfaction" else None
        rows.append(FigureRow(ALL_SCOPE, d.id, TOTAL, _pct(all_satisfied, all_answers), shown))
    return rows
