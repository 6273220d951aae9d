"""What the mail benchmarks (reminders, follow-ups) share: a throwaway PostgreSQL with the
migrations applied, Redis, an SMTP sink in its own process (so that it does not share the GIL
with what is measured), and the bare aiosmtplib loop the product is measured against."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib
import asyncpg

from service.devtools.embedded_servers import (
    free_port,
    remove_throwaway,
    throwaway_postgres,
    throwaway_redis,
)
from service.platform.migrations import upgrade


@dataclass(frozen=True)
class MailStack:
    dsn: str  # the benchmark's own database, migrated
    smtp_port: int
    env: dict[str, str]  # the settings a worker needs to reach all three


@asynccontextmanager
async def mail_stack(database: str) -> AsyncIterator[MailStack]:
    """Start PostgreSQL (with a migrated database of this name), Redis and the SMTP sink; stop
    and remove them on the way out."""
    pg, redis = throwaway_postgres(), throwaway_redis()
    pg.start()
    redis.start()
    port = free_port()
    sink = subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is measured
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Sink"]
    )  # fmt: skip
    try:
        dsn = f"{pg.url.rsplit('/', 1)[0]}/{database}"
        admin = await asyncpg.connect(pg.url)
        await admin.execute(f'CREATE DATABASE "{database}"')
        await admin.close()
        await asyncio.to_thread(upgrade, dsn)
        env = {
            "APP_ENV": "test",
            "DATABASE_URL": dsn,
            "REDIS_URL": redis.url,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(port),
            "LOG_LEVEL": "WARNING",
        }
        yield MailStack(dsn=dsn, smtp_port=port, env=env)
    finally:
        sink.terminate()
        sink.wait(10)
        redis.stop()
        pg.stop()
        remove_throwaway(pg, redis)


async def bare_send(port: int, n: int, concurrency: int, subject: str, line: str) -> float:
    """Seconds for N plain messages (the line 20 times) through aiosmtplib.send, CONCURRENCY at
    a time: the baseline each mail benchmark divides by."""
    messages = []
    for i in range(n):
        m = EmailMessage()
        m["From"] = "desk@example.jp"
        m["To"] = f"p{i}@example.jp"
        m["Subject"] = subject
        m.set_content(f"{line}\n" * 20)
        messages.append(m)
    gate = asyncio.Semaphore(concurrency)

    async def one(m: EmailMessage) -> None:
        async with gate:
            await aiosmtplib.send(m, hostname="127.0.0.1", port=port, timeout=30)

    started = time.perf_counter()
    await asyncio.gather(*(one(m) for m in messages))
    return time.perf_counter() - started
