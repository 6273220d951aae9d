"""Compiling the programme's indicators: on demand (the console button, the staff API), every
minute for years a check-in, walk-in or record change marked stale, and nightly; and the
retention purge, which leaves every figure as it was."""

from __future__ import annotations

from typing import Any

import structlog

from service.domain import clock
from service.domain.indicators import fiscal
from service.domain.indicators import service as indicators
from service.domain.indicators.retention import purge_batch
from workers.context import settings_of, transaction

log = structlog.get_logger("workers.indicators")


async def compile_indicators(ctx: dict[str, Any], fiscal_year: int) -> int:
    """One year, in one transaction. Safe to run twice or twice at once."""
    async with transaction(ctx) as db:
        outcome = await indicators.compile_year(db, fiscal_year)
    log.info("indicators_compiled", fiscal_year=fiscal_year, figures=outcome.figures)
    return outcome.figures


async def compile_stale_indicators(ctx: dict[str, Any]) -> list[int]:
    """Every minute: the years whose data changed since their last compile."""
    async with transaction(ctx) as db:
        years = await indicators.stale_years(db)
    done: list[int] = []
    for year in years:
        try:
            await compile_indicators(ctx, year)
        except Exception as exc:  # one bad year must not keep the others stale
            log.error("indicators_compile_failed", fiscal_year=year, error=repr(exc))
            continue
        done.append(year)
    return done


async def compile_indicators_nightly(ctx: dict[str, Any]) -> list[int]:
    """The current and the previous fiscal year, whatever their state (a definition's window
    or an event's classification may change the past too)."""
    current = fiscal.fiscal_year_of(clock.now())
    for year in (current - 1, current):
        await compile_indicators(ctx, year)
    return [current - 1, current]


async def purge_personal_data(ctx: dict[str, Any]) -> int:
    """Daily: the retention purge, one audited batch per transaction, until nothing is due."""
    months = settings_of(ctx).retention_months
    total = 0
    while True:
        async with transaction(ctx) as db:
            outcome = await purge_batch(db, clock.now(), months)
        if outcome.bookings == 0:
            break
        total += outcome.bookings
        log.info("personal_data_purged", bookings=outcome.bookings, persons=outcome.persons)
    return total
