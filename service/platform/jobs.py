"""Jobs for the workers are enqueued by name, only after the transaction that made them commits,
with deterministic ids (arq may run a job twice; the tasks are idempotent).

Requests hand their jobs to a JobDispatcher, which enqueues them from a background task: a
request never waits on Redis, and a burst of notices (a rush of bookings) becomes one nudge to
the outbox sweep instead of one Redis transaction per booking. The outbox rows are the truth;
a job is only a nudge, and the worker's minute sweep catches any nudge that was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession

from service.platform.job_names import SEND_NOTIFICATION, SWEEP_NOTIFICATIONS

log = structlog.get_logger("service.platform.jobs")
_KEY = "after_commit_jobs"

# Many jobs of the first name in one batch become one job of the second: its task does the work
# of all of them (it reads what is due from the database).
COALESCE = {SEND_NOTIFICATION: SWEEP_NOTIFICATIONS}
COALESCE_ABOVE = 3
COALESCE_IDS_KEPT = 20


@dataclass(frozen=True)
class Job:
    name: str
    job_id: str
    args: tuple[Any, ...] = ()
    # The request (or job) that caused it: the worker binds it into its log lines.
    request_id: str | None = None


def current_request_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value) if value else None


def enqueue_after_commit(session: AsyncSession, name: str, job_id: str, *args: Any) -> None:
    job = Job(name, job_id, args, current_request_id())
    session.info.setdefault(_KEY, []).append(job)


def take_after_commit_jobs(session: AsyncSession) -> list[Job]:
    jobs: list[Job] = session.info.pop(_KEY, [])
    return jobs


async def enqueue(redis: ArqRedis, jobs: Iterable[Job]) -> None:
    for job in jobs:
        try:
            kwargs: dict[str, Any] = {"request_id": job.request_id} if job.request_id else {}
            await redis.enqueue_job(job.name, *job.args, _job_id=job.job_id, **kwargs)
        except Exception as exc:  # the outbox sweep picks the work up later
            log.warning("enqueue_failed", job=job.name, job_id=job.job_id, error=str(exc))


async def enqueue_after_commit_jobs(session: AsyncSession, redis: ArqRedis) -> None:
    """Enqueue now (outside requests: the CLI, tests, workers)."""
    await enqueue(redis, take_after_commit_jobs(session))


def discard_after_commit_jobs(session: AsyncSession) -> None:
    session.info.pop(_KEY, None)


def coalesce(jobs: list[Job], now: float) -> list[Job]:
    out: list[Job] = []
    for name, sweep in COALESCE.items():
        same = [j for j in jobs if j.name == name]
        if len(same) > COALESCE_ABOVE:
            # One sweep per second per process at most, whatever the rush; its log lines name
            # the requests that caused it.
            causes = sorted({j.request_id for j in same if j.request_id})[:COALESCE_IDS_KEPT]
            out.append(Job(sweep, f"{sweep}:{int(now)}", (), ",".join(causes) or None))
            jobs = [j for j in jobs if j.name != name]
    return out + jobs


class JobDispatcher:
    def __init__(self, redis: ArqRedis, pause: float = 0.05) -> None:
        self._redis = redis
        self._pause = pause
        self._pending: list[Job] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="job-dispatcher")

    def submit(self, jobs: list[Job]) -> None:
        if jobs:
            self._pending.extend(jobs)
            self._idle.clear()
            self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._drain()
            if self._closing:
                return
            # Let a burst gather, so it is sent as one batch.
            await asyncio.sleep(self._pause)

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            await enqueue(self._redis, coalesce(batch, time.time()))
        self._idle.set()

    async def flush(self) -> None:
        """Wait until everything submitted so far is in Redis."""
        await self._idle.wait()

    async def close(self, give_up_after: float = 10.0) -> None:
        """At shutdown, after the last request: send what is pending. A batch being sent is
        finished, not cut off; only a Redis that does not answer within `give_up_after` is given up
        on (the outbox sweep sends those notices later)."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), give_up_after)
            except TimeoutError:
                log.warning("dispatcher_close_timeout", pending=len(self._pending))
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
                return
        await self._drain()
