"""Every task runs wrapped: the request id its job carries is bound into the log lines it
writes, and its runs and failures are counted in Redis (for the metrics endpoint)."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

import structlog
from arq.typing import WorkerCoroutine

from service.observability.keys import JOB_FAILURES, JOB_RUNS, JOB_SECONDS

log = structlog.get_logger("workers.jobs")
Task = Callable[..., Awaitable[Any]]


async def _count(ctx: dict[str, Any], key: str, name: str, by: float = 1) -> None:
    try:
        if key == JOB_SECONDS:
            await ctx["redis"].hincrbyfloat(key, name, by)
        else:
            await ctx["redis"].hincrby(key, name, int(by))
    except Exception as exc:  # a lost count must never fail the job
        log.warning("job_count_failed", job=name, error=repr(exc))


def observed(task: Task) -> WorkerCoroutine:
    name = task.__qualname__

    @functools.wraps(task)
    async def run(ctx: dict[str, Any], *args: Any, request_id: str | None = None) -> Any:
        bound = {"job": name, "job_id": ctx.get("job_id"), "job_try": ctx.get("job_try")}
        if request_id:
            bound["request_id"] = request_id
        with structlog.contextvars.bound_contextvars(**bound):
            await _count(ctx, JOB_RUNS, name)
            started = time.perf_counter()
            try:
                result = await task(ctx, *args)
            except Exception as exc:
                await _count(ctx, JOB_FAILURES, name)
                log.warning("job_failed", error=repr(exc))
                raise
            finally:
                await _count(ctx, JOB_SECONDS, name, time.perf_counter() - started)
            log.info("job_done", result=result if isinstance(result, int | str) else None)
            return result

    return cast(WorkerCoroutine, run)
