"""The 新現役交流会 / 面談会 figures from the days' own data: 参加企業, 参加人材 and マッチング率
(companies with at least one match ÷ companies that met anyone, as the report counts 14社中5社),
for the indicators to compile instead of hand figures in years that have matching days.

A meeting counts as held unless its outcome is 欠席 (absent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.matching.repository import MatchingRepository
from service.platform.local_time import TOKYO


@dataclass(frozen=True)
class MatchingFigures:
    """One window's figures; `months` holds the same per month of the session (YYYY-MM)."""

    companies: int
    participants: int
    companies_met: int
    companies_matched: int
    months: dict[str, tuple[int, int, int, int]]

    @property
    def rate(self) -> Decimal | None:
        """マッチング率 in percent, one decimal (5 of 14 → 35.7); None when nobody met."""
        if self.companies_met == 0:
            return None
        value = Decimal(100 * self.companies_matched) / Decimal(self.companies_met)
        return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


async def matching_figures(
    db: AsyncSession, start: datetime, end: datetime, cohost: int | None = None
) -> MatchingFigures | None:
    """The figures of matching days whose session starts in [start, end) (with `cohost`: of
    the events that organization co-hosts); None when there are none (the year keeps its hand
    figures, as history)."""
    repo = MatchingRepository(db)
    days = await repo.days_between(start, end, cohost)
    if not days:
        return None
    months: dict[str, tuple[int, int, int, int]] = {}
    totals = [0, 0, 0, 0]
    for event_id, starts_at in days:
        counts = await repo.outcome_counts(event_id)
        month = f"{starts_at.astimezone(TOKYO):%Y-%m}"
        before = months.get(month, (0, 0, 0, 0))
        months[month] = tuple(a + b for a, b in zip(before, counts, strict=True))  # type: ignore[assignment]
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    return MatchingFigures(totals[0], totals[1], totals[2], totals[3], months)


async def matching_cohosts(db: AsyncSession, start: datetime, end: datetime) -> list[int]:
    """The co-hosts of matching days whose session starts in [start, end)."""
    return await MatchingRepository(db).cohosts_between(start, end)


# The indicator definitions (migration indicators_01) these figures stand for.
INDICATOR_CODES = ("exchange_companies", "exchange_participants", "exchange_matching_rate")


def by_indicator(figures: MatchingFigures) -> dict[str, tuple[Decimal, dict[str, Decimal]]]:
    """{indicator code: (year total, {YYYY-MM: value})} for the indicators' compile to write in
    place of what it counted or was typed by hand for those three rows (scope: all events).
    The rate per month is that month's days' rate; months without a meeting held have none."""
    totals = (figures.companies, figures.participants)
    out: dict[str, tuple[Decimal, dict[str, Decimal]]] = {
        code: (Decimal(total), {m: Decimal(v[i]) for m, v in figures.months.items()})
        for i, (code, total) in enumerate(zip(INDICATOR_CODES[:2], totals, strict=True))
    }
    rates: dict[str, Decimal] = {}
    for month, (_, _, met, matched) in figures.months.items():
        rate = MatchingFigures(0, 0, met, matched, {}).rate
        if rate is not None:
            rates[month] = rate
    if figures.rate is not None:
        out[INDICATOR_CODES[2]] = (figures.rate, rates)
    return out
