"""The project's commands, run as a newcomer would run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

ROOT = Path(__file__).resolve().parent.parent


def _cli(
    database_url: str, redis_url: str, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "APP_ENV": "test"}
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_user_create_with_password_from_stdin(
    database_url: str, clean_redis: str, db: AsyncSession
) -> None:
    ok = _cli(
        database_url,
        clean_redis,
        "user",
        "create",
        "aoki",
        "--role",
        "organizer",
        stdin="a-long-enough-password\n",
    )
    assert ok.returncode == 0, ok.stderr
    assert "created organizer user aoki" in ok.stdout
    role = await db.scalar(text("SELECT role FROM staff_users WHERE username = 'aoki'"))
    assert role == "organizer"

    again = _cli(
        database_url,
        clean_redis,
        "user",
        "create",
        "AOKI",
        "--role",
        "admin",
        stdin="another-long-password\n",
    )
    assert again.returncode == 1
    assert again.stderr.strip() == "error: そのユーザー名はすでに使われています。"


async def test_user_create_refuses_bad_input_with_one_line(
    database_url: str, clean_redis: str, db: AsyncSession
) -> None:
    short = _cli(
        database_url, clean_redis, "user", "create", "kato", "--role", "admin", stdin="short\n"
    )
    assert short.returncode == 1
    assert short.stderr.strip() == "error: パスワードは10文字以上にしてください。"
    orphan = _cli(
        database_url,
        clean_redis,
        "user",
        "create",
        "hw",
        "--role",
        "cohost",
        "--organization",
        "存在しない団体",
        stdin="a-long-enough-password\n",
    )
    assert orphan.returncode == 1
    assert "共催団体" in orphan.stderr and "Traceback" not in orphan.stderr
    assert await db.scalar(text("SELECT count(*) FROM staff_users")) == 0


async def test_demo_loads_once(database_url: str, clean_redis: str, db: AsyncSession) -> None:
    first = _cli(database_url, clean_redis, "demo")
    assert first.returncode == 0 and "demo data loaded" in first.stdout
    second = _cli(database_url, clean_redis, "demo")
    assert "nothing loaded" in second.stdout
    titles = list(await db.scalars(text("SELECT title FROM events")))
    assert any("出張相談会" in t for t in titles) and len(titles) == 7
    seats = await db.scalar(
        text(
            "SELECT count(*) FROM session_seats st JOIN sessions s ON s.id = st.session_id "
            "WHERE s.capacity = 15"
        )
    )
    assert seats == 30  # the two 15-seat consultation days
