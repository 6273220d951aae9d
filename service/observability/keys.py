"""Redis keys written by the workers and read by the API (readiness, metrics). They live in
Redis, not in a process, so every API process and every worker sees the same figures."""

from __future__ import annotations

QUEUE = "arq:queue"
# arq refreshes its health-check key every HEALTH_CHECK_INTERVAL seconds with a TTL just above
# it: while the key exists, that worker has been polling the queue recently.
HEALTH_CHECK_INTERVAL = 30
HEALTH_KEY_PREFIX = f"{QUEUE}:health-check:"
JOB_RUNS = "metrics:job_runs"
JOB_FAILURES = "metrics:job_failures"


def worker_health_key(worker_name: str) -> str:
    return HEALTH_KEY_PREFIX + worker_name


JOB_SECONDS = "metrics:job_seconds"
