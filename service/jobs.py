"""Jobs for the workers are enqueued by name, only after the transaction that made them commits,
with deterministic ids (arq may run a job twice; the tasks are idempotent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncSession

log = structlog.get_logger("service.jobs")
_KEY = "after_commit_jobs"


@dataclass(frozen=True)
class Job:
    name: str
    job_id: str
    args: tuple[Any, ...] = ()


def enqueue_after_commit(session: AsyncSession, name: str, job_id: str, *args: Any) -> None:
    session.info.setdefault(_KEY, []).append(Job(name, job_id, args))


async def enqueue_after_commit_jobs(session: AsyncSession, redis: ArqRedis) -> None:
    jobs: list[Job] = session.info.pop(_KEY, [])
    for job in jobs:
        try:
            await redis.enqueue_job(job.name, *job.args, _job_id=job.job_id)
        except Exception as exc:  # the outbox sweep picks the work up later
            log.warning("enqueue_failed", job=job.name, job_id=job.job_id, error=str(exc))


def discard_after_commit_jobs(session: AsyncSession) -> None:
    session.info.pop(_KEY, None)
