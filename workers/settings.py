"""The arq WorkerSettings (flat): `python -m arq workers.settings.WorkerSettings`."""

from __future__ import annotations

from typing import Any, ClassVar

from arq.connections import RedisSettings

from service.db import make_engine, make_session_factory
from service.logging import configure_logging
from service.settings import SettingsError, get_settings

try:
    _settings = get_settings()
except SettingsError as exc:
    raise SystemExit(f"configuration error: {exc}") from None


async def startup(ctx: dict[str, Any]) -> None:
    configure_logging(_settings.log_level)
    ctx["settings"] = _settings
    ctx["engine"] = make_engine(_settings.sqlalchemy_url, 4)
    ctx["session_factory"] = make_session_factory(ctx["engine"])


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["engine"].dispose()


async def ping(ctx: dict[str, Any]) -> str:
    return "pong"


class WorkerSettings:
    functions: ClassVar[list[Any]] = [ping]
    cron_jobs: ClassVar[list[Any]] = []
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(_settings.redis_url)
    queue_name = "arq:queue"
    max_tries = 5
    handle_signals = True
