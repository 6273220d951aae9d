"""The arq WorkerSettings (flat): `python -m arq workers.settings.WorkerSettings`."""

from __future__ import annotations

from typing import Any, ClassVar

from arq.connections import RedisSettings

from service.observability.keys import HEALTH_CHECK_INTERVAL, QUEUE, worker_health_key
from service.platform.local_time import TOKYO
from service.platform.logging import configure_logging
from service.platform.settings import SettingsError, get_settings
from workers.context import close_context, open_context
from workers.schedule import CRON_JOBS, FUNCTIONS

try:
    _settings = get_settings()
except SettingsError as exc:
    raise SystemExit(f"configuration error: {exc}") from None


async def startup(ctx: dict[str, Any]) -> None:
    configure_logging(_settings.log_level)
    await open_context(ctx, _settings)


async def shutdown(ctx: dict[str, Any]) -> None:
    await close_context(ctx)


async def ping(ctx: dict[str, Any]) -> str:
    return "pong"


class WorkerSettings:
    functions: ClassVar[list[Any]] = [ping, *FUNCTIONS]
    cron_jobs: ClassVar[list[Any]] = [*CRON_JOBS]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(_settings.redis_url)
    queue_name = QUEUE
    timezone = TOKYO
    max_tries = 5
    handle_signals = True
    # SIGTERM: take no new jobs, let running ones finish for up to this long, then cancel the
    # rest, which arq puts back on the queue for another worker (every task is safe to rerun).
    # Below the orchestrators' stop timeouts (deploy/: 130 s).
    job_completion_wait = 110
    # Each worker's own heartbeat key: `arq --check` in its probe reads the same one, and
    # /health/worker looks for any (service/observability/keys.py).
    health_check_interval = HEALTH_CHECK_INTERVAL
    health_check_key = worker_health_key(_settings.worker_name)
