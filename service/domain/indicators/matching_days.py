"""参加企業・参加人材・マッチング率 (新現役交流会) compiled from the matching days' own data
(service/domain/matching/figures.py) in years that have matching days: the day's companies,
the participants who met anyone, and companies with a match ÷ companies that met anyone. In
those years the three rows of the whole programme (scope: all events) are the days' figures,
whatever was counted from attendance or typed by hand; years without a matching day keep their
entered history. Co-host scopes keep what their events' attendance and employers count."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.indicators.enums import ALL_SCOPE, TOTAL
from service.domain.indicators.fiscal import Window
from service.domain.indicators.repository import FigureRow, IndicatorRepository
from service.domain.matching.figures import (
    INDICATOR_CODES,
    MatchingFigures,
    by_indicator,
    matching_figures,
)


async def days_of(db: AsyncSession, window: Window) -> MatchingFigures | None:
    """The figures of the matching days in the reporting window (None: the year has none)."""
    return await matching_figures(db, window.starts_at, window.ends_before)


async def with_matching_days(
    db: AsyncSession, window: Window, figures: Sequence[FigureRow]
) -> list[FigureRow]:
    """The compiled rows with the three 新現役交流会 rows of scope ALL replaced by the days'."""
    found = await days_of(db, window)
    if found is None:
        return list(figures)
    repo = IndicatorRepository(db)
    values_of = by_indicator(found)
    replaced: set[int] = set()
    compiled: dict[int, tuple[str, tuple[Decimal, dict[str, Decimal]]]] = {}
    for code in INDICATOR_CODES:
        definition = await repo.definition_by_code(code)
        if definition is None or definition.retired_at is not None:
            continue
        replaced.add(definition.id)
        if code in values_of:
            compiled[definition.id] = (definition.unit, values_of[code])
    kept = [f for f in figures if not (f.scope_org_id == ALL_SCOPE and f.definition_id in replaced)]
    for definition_id, (unit, (total, months)) in compiled.items():
        for month in window.months:
            value = months.get(month)
            if unit == "percent":
                # A rate only for months where someone met (as survey percentages do).
                if value is not None:
                    kept.append(FigureRow(ALL_SCOPE, definition_id, month, value, None))
                continue
            kept.append(FigureRow(ALL_SCOPE, definition_id, month, value or Decimal(0), None))
        kept.append(FigureRow(ALL_SCOPE, definition_id, TOTAL, total, None))
    # No meeting held yet: no rate at all (not a hand figure's).
    return kept
