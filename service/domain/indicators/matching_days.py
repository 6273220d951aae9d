"""参加企業・参加人材・マッチング率 (新現役交流会) compiled from the matching days' own data
(service/domain/matching/figures.py) in years that have matching days: the day's companies,
the participants who met anyone, and companies with a match ÷ companies that met anyone. In
those years the three rows of the whole programme (scope: all events) are the days' figures,
whatever was counted from attendance or typed by hand; years without a matching day keep their
entered history. A co-host's scope gets the figures of the days it co-hosts the same way."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.indicators.compile import EVENT_MEASURES
from service.domain.indicators.enums import ALL_SCOPE, TOTAL
from service.domain.indicators.fiscal import Window
from service.domain.indicators.repository import FigureRow, IndicatorRepository
from service.domain.matching.figures import (
    INDICATOR_CODES,
    MatchingFigures,
    by_indicator,
    matching_cohosts,
    matching_figures,
)


async def days_of(
    db: AsyncSession, window: Window, cohost: int | None = None
) -> MatchingFigures | None:
    """The figures of the matching days in the reporting window (None: the year has none)."""
    return await matching_figures(db, window.starts_at, window.ends_before, cohost)


async def with_matching_days(
    db: AsyncSession, window: Window, figures: Sequence[FigureRow]
) -> list[FigureRow]:
    """The compiled rows with the three 新現役交流会 rows replaced by the days' figures: for the
    whole programme (scope ALL) when the year has matching days, and for each co-host whose
    events include one (its own days only), so a co-host's page counts as the report does. The
    rate is the desk's figure (not an event count), so co-hosts do not get it (report.visible)."""
    repo = IndicatorRepository(db)
    definitions: dict[str, tuple[int, str, str]] = {}
    for code in INDICATOR_CODES:
        definition = await repo.definition_by_code(code)
        if definition is not None and definition.retired_at is None:
            definitions[code] = (definition.id, definition.unit, definition.measure)
    if not definitions:
        return list(figures)
    ids = {definition_id for definition_id, _, _ in definitions.values()}
    cohosts = await matching_cohosts(db, window.starts_at, window.ends_before)
    seen = {f.scope_org_id for f in figures if f.definition_id in ids}
    scopes = sorted({ALL_SCOPE, *cohosts} | seen)
    kept = list(figures)
    for scope in scopes:
        found = await days_of(db, window, None if scope == ALL_SCOPE else scope)
        if found is None:
            continue  # no matching day in this scope: what attendance or hand figures say
        kept = [f for f in kept if not (f.scope_org_id == scope and f.definition_id in ids)]
        kept += _rows(scope, window, definitions, by_indicator(found))
    return kept


def _rows(
    scope: int,
    window: Window,
    definitions: dict[str, tuple[int, str, str]],
    values_of: dict[str, tuple[Decimal, dict[str, Decimal]]],
) -> list[FigureRow]:
    rows: list[FigureRow] = []
    for code, (definition_id, unit, measure) in definitions.items():
        if code not in values_of:
            continue  # No meeting held yet: no rate at all (not a hand figure's).
        if scope != ALL_SCOPE and measure not in EVENT_MEASURES:
            continue  # the rate is the desk's figure; co-hosts read event counts only
        total, months = values_of[code]
        for month in window.months:
            value = months.get(month)
            if unit == "percent":
                # A rate only for months where someone met (as survey percentages do).
                if value is not None:
                    rows.append(FigureRow(scope, definition_id, month, value, None))
                continue
            rows.append(FigureRow(scope, definition_id, month, value or Decimal(0), None))
        rows.append(FigureRow(scope, definition_id, TOTAL, total, None))
    return rows
