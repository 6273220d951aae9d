"""Building a matching day's timetable: read (one transaction), solve (no transaction held),
store (one transaction, only if no newer build was asked for)."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from service.domain.matching import schedule, solver
from workers.context import transaction

log = structlog.get_logger("workers.matching")


async def build_matching_schedule(
    ctx: dict[str, Any], event_id: int, version: int, time_limit: float | None = None
) -> str:
    async with transaction(ctx) as db:
        read = await schedule.read_instance(db, event_id)
    if read is None:
        return "no_day"
    inst, tables, table_of = read
    limit = time_limit if time_limit is not None else schedule.SOLVER_TIME_LIMIT
    try:
        # CP-SAT releases the GIL while it searches; a thread keeps the worker's loop answering.
        solution = await asyncio.to_thread(solver.solve, inst, time_limit=limit)
    except Exception as exc:
        async with transaction(ctx) as db:
            await schedule.mark_failed(db, event_id, version, repr(exc))
        raise
    async with transaction(ctx) as db:
        stored = await schedule.store(db, event_id, version, inst, tables, table_of, solution)
    log.info(
        "matching_schedule_built",
        event_id=event_id,
        version=version,
        stored=stored,
        status=solution.status,
        meetings=len(solution.meetings),
        objective=solution.objective,
        bound=solution.bound,
        seconds=round(solution.seconds, 2),
    )
    return solution.status if stored else "superseded"
