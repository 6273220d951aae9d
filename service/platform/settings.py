"""The one typed settings object, read from the environment and validated at start."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

ENVIRONMENTS = ("development", "test", "production")
# Only ever used when APP_ENV is development or test; production must set its own.
_DEV_SECRET = "development-only-secret-key-do-not-use-in-production"  # noqa: S105


class SettingsError(Exception):
    """A wrong or missing environment variable; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    env: str
    database_url: str
    redis_url: str
    base_url: str
    secret_key: str
    # Each default is written here only: load_settings() takes it from the field.
    host: str = "127.0.0.1"
    port: int = 8000
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "NEXTワークしずおか <no-reply@nextwork.example.jp>"
    desk_name: str = "NEXTワークしずおか"
    desk_phone: str = "054-254-2770"
    desk_hours: str = "9:00〜17:00（土日祝を除く）"
    log_level: str = "INFO"
    session_max_age: int = 8 * 3600
    db_pool_size: int = 10
    rate_limit_per_minute: int = 30
    # Bookings per client address per minute, the pages and the API together (0: no limit,
    # for load tests). Staff routes are not counted.
    booking_limit_per_minute: int = 20
    # Every database connection's bounds: a rush waits on a row lock this long at most, and no
    # statement runs longer; either is answered 503 with Retry-After (service/edge/http_errors.py).
    db_lock_timeout_ms: int = 3000
    db_statement_timeout_ms: int = 15000
    # Personal data of bookings whose session ended longer ago than this is purged.
    retention_months: int = 24
    # `python -m service serve`: uvicorn processes, the proxies trusted for X-Forwarded-For,
    # and how long requests in flight may take to finish after SIGTERM.
    api_workers: int = 1
    forwarded_allow_ips: str = "127.0.0.1"
    graceful_timeout: int = 30
    # Prometheus metrics on their own port (0: off), never on the public one.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    # Names this worker's health-check key in Redis (default: the host name).
    worker_name: str = ""
    # The desk's official LINE account (Messaging API channel). Both secrets unset: LINE is off.
    line_channel_secret: str = ""
    line_channel_access_token: str = ""
    line_api_base_url: str = "https://api.line.me"
    line_data_api_base_url: str = "https://api-data.line.me"

    @property
    def line_enabled(self) -> bool:
        return bool(self.line_channel_secret and self.line_channel_access_token)

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def sqlalchemy_url(self) -> str:
        return to_asyncpg_url(self.database_url)


def to_asyncpg_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"postgresql+asyncpg://{rest}" if scheme in ("postgres", "postgresql") else url


def to_plain_pg_url(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return (
        f"postgresql://{rest}" if scheme.startswith("postgresql") or scheme == "postgres" else url
    )


# The defaults, read from the fields above (a default is written once).
_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in fields(Settings) if f.default is not MISSING
}


def _str(env: Mapping[str, str], name: str) -> str:
    """The variable, trimmed; unset or empty: its field's default."""
    return (env.get(name) or "").strip() or str(_DEFAULTS[name.lower()])


def _int(env: Mapping[str, str], name: str, lo: int, hi: int) -> int:
    """The variable as a whole number in [lo, hi]; unset or empty: its field's default."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return int(_DEFAULTS[name.lower()])
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise SettingsError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str) -> bool:
    """The variable as a yes/no; unset or empty: its field's default."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return bool(_DEFAULTS[name.lower()])
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...], default: str | None) -> str:
    raw = (env.get(name) or "").strip()
    if not raw:
        if default is None:
            raise SettingsError(f"{name} is not set")
        return default
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not parts.hostname:
        raise SettingsError(
            f"{name} must be a {' or '.join(schemes)}:// URL with a host, got {raw!r}"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise SettingsError(f"{name} has an invalid port: {raw!r}") from None
    return raw


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    app_env = (env.get("APP_ENV") or "development").strip().lower()
    if app_env not in ENVIRONMENTS:
        raise SettingsError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {app_env!r}")
    dev = app_env != "production"

    secret = env.get("SECRET_KEY") or ""
    if not secret:
        if not dev:
            raise SettingsError("SECRET_KEY is not set (required when APP_ENV=production)")
        secret = _DEV_SECRET
    elif len(secret) < 32:
        raise SettingsError("SECRET_KEY must be at least 32 characters long")
    elif not dev and secret == _DEV_SECRET:
        raise SettingsError("SECRET_KEY must not be the development key in production")

    database_url = _url(env, "DATABASE_URL", ("postgresql", "postgres", "postgresql+asyncpg"), None)
    redis_url = _url(env, "REDIS_URL", ("redis", "rediss"), None)
    log_level = _str(env, "LOG_LEVEL").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}")

    host = _str(env, "HOST")
    port = _int(env, "PORT", 1, 65535)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
    base_url = _url(env, "BASE_URL", ("http", "https"), f"http://{shown_host}:{port}").rstrip("/")
    return Settings(
        env=app_env,
        database_url=database_url,
        redis_url=redis_url,
        base_url=base_url,
        secret_key=secret,
        host=host,
        port=port,
        smtp_host=_str(env, "SMTP_HOST"),
        smtp_port=_int(env, "SMTP_PORT", 1, 65535),
        smtp_username=env.get("SMTP_USERNAME") or None,
        smtp_password=env.get("SMTP_PASSWORD") or None,
        smtp_starttls=_bool(env, "SMTP_STARTTLS"),
        mail_from=_str(env, "MAIL_FROM"),
        desk_name=_str(env, "DESK_NAME"),
        desk_phone=_str(env, "DESK_PHONE"),
        desk_hours=_str(env, "DESK_HOURS"),
        log_level=log_level,
        session_max_age=_int(env, "SESSION_MAX_AGE", 60, 30 * 86400),
        db_pool_size=_int(env, "DB_POOL_SIZE", 1, 200),
        rate_limit_per_minute=_int(env, "RATE_LIMIT_PER_MINUTE", 1, 100000),
        booking_limit_per_minute=_int(env, "BOOKING_LIMIT_PER_MINUTE", 0, 100000),
        db_lock_timeout_ms=_int(env, "DB_LOCK_TIMEOUT_MS", 1, 600_000),
        db_statement_timeout_ms=_int(env, "DB_STATEMENT_TIMEOUT_MS", 1, 3_600_000),
        retention_months=_int(env, "RETENTION_MONTHS", 1, 1200),
        api_workers=_int(env, "API_WORKERS", 1, 64),
        forwarded_allow_ips=_str(env, "FORWARDED_ALLOW_IPS"),
        graceful_timeout=_int(env, "GRACEFUL_TIMEOUT", 1, 600),
        metrics_host=_str(env, "METRICS_HOST"),
        metrics_port=_metrics_port(env, port),
        worker_name=(env.get("WORKER_NAME") or socket.gethostname()).strip(),
        **_line(env),
    )


def _line(env: Mapping[str, str]) -> dict[str, str]:
    """The LINE channel: both secrets or neither (a half-configured channel would take webhooks
    it cannot answer, or send pushes whose replies it cannot check)."""
    secret = (env.get("LINE_CHANNEL_SECRET") or "").strip()
    token = (env.get("LINE_CHANNEL_ACCESS_TOKEN") or "").strip()
    if secret and not token:
        raise SettingsError("LINE_CHANNEL_ACCESS_TOKEN is not set (LINE_CHANNEL_SECRET is)")
    if token and not secret:
        raise SettingsError("LINE_CHANNEL_SECRET is not set (LINE_CHANNEL_ACCESS_TOKEN is)")
    schemes = ("https", "http")
    api = _url(env, "LINE_API_BASE_URL", schemes, _DEFAULTS["line_api_base_url"]).rstrip("/")
    data = _url(env, "LINE_DATA_API_BASE_URL", schemes, _DEFAULTS["line_data_api_base_url"]).rstrip(
        "/"
    )
    return {
        "line_channel_secret": secret,
        "line_channel_access_token": token,
        "line_api_base_url": api.rstrip("/"),
        "line_data_api_base_url": data.rstrip("/"),
    }


def _metrics_port(env: Mapping[str, str], port: int) -> int:
    value = _int(env, "METRICS_PORT", 0, 65535)
    if value and value == port:
        raise SettingsError(f"METRICS_PORT must differ from PORT ({port}): metrics are not public")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
