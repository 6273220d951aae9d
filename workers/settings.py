"""The arq WorkerSettings (flat): `python -m arq workers.settings.WorkerSettings`."""

from __future__ import annotations

from typing import Any, ClassVar

from arq.connections import RedisSettings

from service.local_time import TOKYO
from service.logging import configure_logging
from service.settings import SettingsError, get_settings
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
    queue_name = "arq:queue"
    timezone = TOKYO
    max_tries = 5
    handle_signals = True
