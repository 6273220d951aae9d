from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.platform.settings import SettingsError, load_settings

BASE = {"DATABASE_URL": "postgresql://u@db:5432/x", "REDIS_URL": "redis://r:6379/0"}
ROOT = Path(__file__).resolve().parent.parent


def test_minimal_development_settings() -> None:
    s = load_settings(BASE)
    assert s.env == "development"
    assert s.sqlalchemy_url == "postgresql+asyncpg://u@db:5432/x"
    assert s.port == 8000
    assert not s.line_enabled and s.line_api_base_url == "https://api.line.me"


def test_line_is_on_with_both_secrets() -> None:
    s = load_settings({**BASE, "LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t"})
    assert s.line_enabled
    assert s.line_data_api_base_url == "https://api-data.line.me"


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"REDIS_URL": "redis://r"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://u@db/x"}, "REDIS_URL"),
        ({**BASE, "DATABASE_URL": "mysql://u@db/x"}, "DATABASE_URL"),
        ({**BASE, "REDIS_URL": "http://r"}, "REDIS_URL"),
        ({**BASE, "PORT": "eighty"}, "PORT"),
        ({**BASE, "PORT": "70000"}, "PORT"),
        ({**BASE, "APP_ENV": "staging"}, "APP_ENV"),
        ({**BASE, "APP_ENV": "production"}, "SECRET_KEY"),
        ({**BASE, "APP_ENV": "production", "SECRET_KEY": "short"}, "SECRET_KEY"),
        ({**BASE, "SMTP_STARTTLS": "maybe"}, "SMTP_STARTTLS"),
        ({**BASE, "BASE_URL": "ftp://x"}, "BASE_URL"),
        ({**BASE, "LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({**BASE, "LINE_CHANNEL_SECRET": "s"}, "LINE_CHANNEL_ACCESS_TOKEN"),
        ({**BASE, "LINE_CHANNEL_ACCESS_TOKEN": "t"}, "LINE_CHANNEL_SECRET"),
        ({**BASE, "LINE_API_BASE_URL": "ftp://api.line.me"}, "LINE_API_BASE_URL"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    assert name in str(info.value)


def test_no_default_secret_in_production() -> None:
    secret = "x" * 40
    s = load_settings({**BASE, "APP_ENV": "production", "SECRET_KEY": secret})
    assert s.secret_key == secret
    assert load_settings(BASE).secret_key != secret


def test_https_base_url_makes_cookies_secure() -> None:
    assert load_settings({**BASE, "BASE_URL": "https://yoyaku.example.jp"}).secure_cookies
    assert not load_settings(BASE).secure_cookies


def test_cli_prints_one_clear_line_not_a_traceback() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    r = subprocess.run(
        [sys.executable, "-m", "service", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert r.stderr.strip() == "configuration error: DATABASE_URL is not set"


def test_base_url_follows_host_and_port_unless_set() -> None:
    assert load_settings({**BASE, "PORT": "8777"}).base_url == "http://127.0.0.1:8777"
    assert (
        load_settings({**BASE, "HOST": "0.0.0.0", "PORT": "80"}).base_url == "http://127.0.0.1:80"
    )
    explicit = {**BASE, "PORT": "8777", "BASE_URL": "https://yoyaku.example.jp/"}
    assert load_settings(explicit).base_url == "https://yoyaku.example.jp"


def test_an_unset_variable_takes_its_fields_default() -> None:
    """A default is written once, on the Settings field; nothing else states it again."""
    from dataclasses import MISSING, fields

    from service.platform.settings import Settings

    loaded = load_settings(
        {"DATABASE_URL": "postgresql://u@db:5432/x", "REDIS_URL": "redis://r:6379/0"}
    )
    defaulted = [f for f in fields(Settings) if f.default is not MISSING]
    assert len(defaulted) > 20
    for field in defaulted:
        if field.name == "worker_name":  # the host name when unset, not a constant
            continue
        assert getattr(loaded, field.name) == field.default, field.name
