"""What noticing dead pooled connections costs per transaction: the engine's closed-connection
check on checkout (service/platform/db.py) and SQLAlchemy's pool_pre_ping, against a plain pool.

    .venv/bin/python -m tests.bench.pool_checkout [DATABASE_URL]

Without a URL it starts a throwaway embedded PostgreSQL. Each variant runs the same short
transaction (one SELECT through the session, as a request does) sequentially on loopback; the
figures are wall time and this process's CPU per transaction, each with its ratio to the plain
pool, median of 7 interleaved rounds.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from service.devtools.embedded_servers import remove_throwaway, throwaway_postgres
from service.platform.db import drop_closed_connections, make_engine, make_session_factory
from service.platform.settings import to_asyncpg_url

TRANSACTIONS = 300
ROUNDS = 7


def _plain(url: str, *, pre_ping: bool) -> AsyncEngine:
    return create_async_engine(url, pool_size=4, max_overflow=0, pool_pre_ping=pre_ping)


async def _run(factory: async_sessionmaker[AsyncSession], n: int) -> tuple[float, float]:
    """(wall, this process's CPU) in microseconds per transaction."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        async with factory() as db:
            await db.execute(text("SELECT 1"))
            await db.commit()
    return (time.perf_counter() - wall) / n * 1e6, (time.process_time() - cpu) / n * 1e6


async def measure(url: str) -> dict[str, tuple[float, float]]:
    url = to_asyncpg_url(url)
    checked = make_engine(url, 4)
    assert event.contains(checked.sync_engine, "checkout", drop_closed_connections)
    engines = {
        "plain pool (baseline)": _plain(url, pre_ping=False),
        "closed-connection check": checked,
        "pool_pre_ping": _plain(url, pre_ping=True),
    }
    factories = {name: make_session_factory(e) for name, e in engines.items()}
    rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in engines}
    try:
        for factory in factories.values():
            await _run(factory, 50)  # warm the pool and the statement cache
        # Interleaved rounds, so a busy moment on the machine hits every variant alike.
        for _ in range(ROUNDS):
            for name, factory in factories.items():
                rounds[name].append(await _run(factory, TRANSACTIONS))
    finally:
        for e in engines.values():
            await e.dispose()
    return {
        name: (statistics.median(w for w, _ in r), statistics.median(c for _, c in r))
        for name, r in rounds.items()
    }


def main(argv: list[str]) -> int:
    pg = None
    if len(argv) > 1:
        url = argv[1]
    else:
        pg = throwaway_postgres()
        pg.start()
        url = pg.url
    try:
        figures = asyncio.run(measure(url))
    finally:
        if pg:
            pg.stop()
            remove_throwaway(pg, None)
    wall0, cpu0 = figures["plain pool (baseline)"]
    for name, (wall, cpu) in figures.items():
        print(
            f"{name:26} wall {wall:8.1f} µs/transaction (ratio {wall / wall0:4.2f})"
            f"   client CPU {cpu:7.1f} µs (ratio {cpu / cpu0:4.2f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
