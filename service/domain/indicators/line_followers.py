"""公式LINE新規登録者数: typed by hand until the desk's LINE account was connected, compiled from
the webhook's follows since (service/domain/line/follows.py). From the first month with a
recorded follow on, the compiled count replaces the hand figure; earlier months (and years)
keep theirs."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.indicators import fiscal
from service.domain.indicators.repository import HandRow, IndicatorRepository
from service.domain.line.follows import new_followers

LINE_DEFINITION_CODE = "outcome_line_registrations"


async def with_line_followers(
    db: AsyncSession, fiscal_year: int, hand: Sequence[HandRow]
) -> list[HandRow]:
    """The year's hand rows with LINE's rows compiled where the service counted follows."""
    definition = await IndicatorRepository(db).definition_by_code(LINE_DEFINITION_CODE)
    counts = await new_followers(
        db,
        fiscal.tokyo_midnight(fiscal.first_day(fiscal_year)),
        fiscal.tokyo_midnight(fiscal.first_day(fiscal_year + 1)),
    )
    if definition is None or counts is None:
        return list(hand)
    year_months = fiscal.month_keys(fiscal.first_day(fiscal_year), fiscal.last_day(fiscal_year))
    compiled = [m for m in year_months if m >= counts.counted_from]
    if not compiled:
        return list(hand)
    replaced = set(compiled)
    kept = [h for h in hand if not (h.definition_id == definition.id and h.month in replaced)]
    return kept + [
        HandRow(definition.id, m, Decimal(counts.by_month[m]), None)
        for m in compiled
        if counts.by_month.get(m)
    ]
