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
    YearHandRow,
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
    exclude_sub_kinds: frozenset[str]
    survey_subjects: frozenset[str]
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
            exclude_sub_kinds=frozenset(d.exclude_sub_kinds or ()),
            survey_subjects=frozenset(d.survey_subjects or ()),
            record_kind=d.record_kind,
            channels=frozenset(d.channels or ()),
            senior=d.senior,
        )

    def event(self, e: EventFacts) -> bool:
        return (
            (not self.kinds or e.kind in self.kinds)
            and (not self.sectors or e.sector in self.sectors)
            and (not self.sub_kinds or e.sub_kind in self.sub_kinds)
            and (e.sub_kind is None or e.sub_kind not in self.exclude_sub_kinds)
        )

    def answer(self, subject: str) -> bool:
        return not self.survey_subjects or subject in self.survey_subjects

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
    yearly: Sequence[YearHandRow] = ()


@dataclass(frozen=True, slots=True)
class YearFigures:
    figures: list[FigureRow]
    heard_from: list[tuple[int, str, int]]
    # (event, month, people) over the whole fiscal year, for the report's 【実施状況】.
    event_people: list[tuple[int, str, int]] = field(default_factory=list)


def _scopes(e: EventFacts) -> tuple[int, ...]:
    return (ALL_SCOPE, *e.cohosts)


def _pct(share: _Share) -> Decimal:
    return (share.satisfied * 100 / share.answers).quantize(ONE_DECIMAL, ROUND_HALF_UP)


def compile_year(definitions: Sequence[Match], data: YearInput) -> YearFigures:
    months = data.window.months
    in_window = set(months)
    tallies: dict[tuple[int, int], _Tally] = defaultdict(_Tally)
    scopes_seen: set[int] = {ALL_SCOPE}
    heard: dict[tuple[int, str], int] = defaultdict(int)
    event_people: dict[tuple[int, str], int] = defaultdict(int)

    for a in data.attendance:
        event = data.events.get(a.event_id)
        if event is None:
            continue
        event_people[(a.event_id, a.month)] += a.people
        if a.month not in in_window:
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

    by_id = {d.id: d for d in definitions}
    hand_percent: dict[int, dict[str, _Share]] = defaultdict(dict)
    for h in data.hand:
        owner = by_id.get(h.definition_id)
        if owner is None or h.month not in in_window:
            continue
        if owner.unit == "percent":
            hand_percent[owner.id][h.month] = _Share.entered(h.value, h.answers)
        else:
            tallies[(ALL_SCOPE, owner.id)].months[h.month] += h.value
    yearly: dict[int, YearHandRow] = {y.definition_id: y for y in data.yearly}

    out: list[FigureRow] = []
    for d in definitions:
        scopes = sorted(scopes_seen) if d.measure in EVENT_MEASURES else [ALL_SCOPE]
        year_part = yearly.get(d.id)
        for scope in scopes:
            if d.unit == "percent":
                survey = _survey_by_month(d, data.survey, in_window)
                out.extend(_percent_rows(d, months, survey, hand_percent.get(d.id, {}), year_part))
                continue
            tally = tallies.get((scope, d.id), _Tally())
            counts = dict(tally.months)
            for month in tally.first_seen.values():
                counts[month] = counts.get(month, Decimal(0)) + 1
            total = sum(counts.values(), Decimal(0))
            # A yearly total has no months: the months are not known then, not zero.
            known = year_part is None or scope != ALL_SCOPE
            for month in months:
                value = counts.get(month, Decimal(0)) if known else None
                out.append(FigureRow(scope, d.id, month, value, None))
            if year_part is not None and scope == ALL_SCOPE:
                total += year_part.value
            out.append(FigureRow(scope, d.id, TOTAL, total, None))
    heard_rows = [(scope, h, n) for (scope, h), n in sorted(heard.items())]
    people_rows = [(e, m, n) for (e, m), n in sorted(event_people.items())]
    return YearFigures(out, heard_rows, people_rows)


@dataclass(frozen=True, slots=True)
class _Share:
    """Answers behind a percentage and how many of them were satisfied. `known` is False when
    a hand-entered percentage did not say how many answers it stands for (it weighs one then,
    and no count of answers is shown)."""

    answers: int
    satisfied: Decimal
    known: bool = True

    @classmethod
    def entered(cls, value: Decimal, answers: int | None) -> _Share:
        weight = answers or 1
        return cls(weight, value * weight / 100, answers is not None)

    def __add__(self, other: _Share) -> _Share:
        return _Share(
            self.answers + other.answers,
            self.satisfied + other.satisfied,
            self.known and other.known,
        )


_NONE = _Share(0, Decimal(0))


def _survey_by_month(
    d: Match, survey: Sequence[SurveyRow], in_window: set[str]
) -> dict[str, _Share]:
    out: dict[str, _Share] = defaultdict(lambda: _NONE)
    if d.measure != "satisfaction":
        return out
    for s in survey:
        if s.month in in_window and d.answer(s.subject):
            out[s.month] = out[s.month] + _Share(s.answers, Decimal(s.satisfied))
    return out


def _percent_rows(
    d: Match,
    months: Sequence[str],
    survey: dict[str, _Share],
    hand: dict[str, _Share],
    year_part: YearHandRow | None,
) -> list[FigureRow]:
    rows: list[FigureRow] = []
    whole = _NONE
    for month in months:
        share = survey.get(month, _NONE) + hand.get(month, _NONE)
        if share.answers:
            if year_part is None:
                shown = share.answers if share.known else None
                rows.append(FigureRow(ALL_SCOPE, d.id, month, _pct(share), shown))
            whole = whole + share
    if year_part is not None:
        whole = whole + _Share.entered(year_part.value, year_part.answers)
        for month in months:
            rows.append(FigureRow(ALL_SCOPE, d.id, month, None, None))
    if whole.answers:
        shown = whole.answers if whole.known else None
        rows.append(FigureRow(ALL_SCOPE, d.id, TOTAL, _pct(whole), shown))
    return rows
