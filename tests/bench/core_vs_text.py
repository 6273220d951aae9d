"""The booking statements as Core against the text() they replaced: `python -m
tests.bench.core_vs_text` (issue 21 point 5: text() stays only where a benchmark shows it
matters).

On a throwaway embedded PostgreSQL, migrated, like tests/bench/dbtime.py: one connection runs N
bookings in a row, each its own transaction, with the text() version (tests/bench/
text_baseline.py, the statements as they were) and the Core version (the product's,
service/domain/bookings/repository.py), alternated in blocks of 100 bookings (a shared machine's
load falls on both alike), on fresh sessions each round:
  - confirm: CONFIRM, the spread case (1,000 sessions of 15 seats, one person per booking);
  - waitlist: WAITLIST, the end of a waiting list (1,000 sessions, 20 places each);
  - queue: QUEUE, the late comer's statement (the same, with someone already waiting).
Per booking: wall ms, the backend's CPU ms (/proc/<pid>/schedstat), and the Python cost of
the statement's arguments (DriverStatement.args, µs); then the median of the rounds and the
ratio Core/text. Also the one-time cost of building and compiling each statement at import.
Both versions are prepared once on the connection (asyncpg's statement cache), as the product
runs them.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import text

from service.domain.bookings import repository
from service.platform.db import DriverStatement
from tests.bench import seed, text_baseline, transaction
from tests.bench.dbtime import SERVER_SETTINGS, _backend_cpu_ns

# Bookings in a row with one version before the other takes its turn.
BLOCK = 100
STATEMENTS: dict[str, dict[str, DriverStatement]] = {
    "confirm": {"text": text_baseline.CONFIRM, "core": repository.CONFIRM_SKIP_LOCKED_DRIVER},
    "waitlist": {"text": text_baseline.WAITLIST, "core": repository.WAITLIST_DRIVER},
    "queue": {"text": text_baseline.QUEUE, "core": repository.QUEUE_DRIVER},
}
BUILDERS: dict[str, dict[str, Callable[[], Any]]] = {
    "confirm": {
        "text": lambda: text(text_baseline.CONFIRM_SQL),
        "core": repository._confirm,
    },
    "waitlist": {
        "text": lambda: text(text_baseline.WAITLIST_SQL),
        "core": repository._waitlist,
    },
    "queue": {"text": lambda: text(text_baseline.QUEUE_SQL), "core": repository._queue},
}


def say(message: str) -> None:
    print(message, flush=True)


def compile_cost_us(build: Callable[[], Any], times: int = 50) -> float:
    """Building the clause and compiling it for the driver, as the module does once."""
    began = time.perf_counter()
    for _ in range(times):
        DriverStatement.of(build())
    return (time.perf_counter() - began) * 1e6 / times


async def sessions_for(
    admin: asyncpg.Connection, event_venue: tuple[int, int], what: str, n: int
) -> list[int]:
    if what == "confirm":
        return await seed.make_sessions(
            admin, event_venue, seed.Case("b", "spread", 1000, 15, 10, n)
        )
    ids = await seed.make_sessions(admin, event_venue, seed.Case("w", "waitlist", 1000, 15, 20, n))
    if what == "queue":  # someone waits already (the count alone: the statement reads no more)
        await admin.execute("UPDATE sessions SET waitlist_count = 1 WHERE id = ANY($1)", ids)
    return ids


@dataclass
class Tally:
    wall_ns: int = 0
    cpu_ns: int = 0
    args_ns: int = 0
    booked: int = 0
    n: int = 0

    def per_booking(self) -> tuple[float, float, float]:
        """(wall ms, backend CPU ms, arguments µs) per booking."""
        return self.wall_ns / 1e6 / self.n, self.cpu_ns / 1e6 / self.n, self.args_ns / 1e3 / self.n


async def block(
    conn: asyncpg.Connection, stmt: DriverStatement, people: list[dict[str, Any]], tally: Tally
) -> None:
    """Bookings one after another, each its own transaction, added to tally."""
    pid = conn.get_server_pid()
    cpu = _backend_cpu_ns(pid)
    began = time.perf_counter_ns()
    for p in people:
        async with conn.transaction():
            t0 = time.perf_counter_ns()
            args = stmt.args(p)
            tally.args_ns += time.perf_counter_ns() - t0
            row = await conn.fetchrow(stmt.sql, *args)
            tally.booked += row["booking_id"] is not None
    tally.wall_ns += time.perf_counter_ns() - began
    tally.cpu_ns += _backend_cpu_ns(pid) - cpu
    tally.n += len(people)


async def run(
    conn: asyncpg.Connection,
    versions: dict[str, DriverStatement],
    ids: dict[str, list[int]],
    n: int,
) -> dict[str, Tally]:
    """n bookings with each version, alternated in blocks of BLOCK (which goes first alternates
    too), so that both see the same load of a shared machine."""
    tallies = {version: Tally() for version in versions}
    for start in range(0, n, BLOCK):
        order = list(versions) if (start // BLOCK) % 2 == 0 else list(reversed(versions))
        for version in order:
            chosen = ids[version]
            people = [
                transaction.params_of(chosen[i % len(chosen)], seed.person())
                for i in range(start, min(n, start + BLOCK))
            ]
            await block(conn, versions[version], people, tallies[version])
    return tallies


async def main_async(args: argparse.Namespace) -> None:
    say("== one-time cost: build the clause and compile it for the driver (µs, at import)")
    for what, builders in BUILDERS.items():
        t, c = compile_cost_us(builders["text"]), compile_cost_us(builders["core"])
        say(f"{what:<9} text {t:>8.0f}   core {c:>8.0f}   core/text {c / t:5.2f}")
    async with seed.migrated_postgres() as (_pg, dsn):
        admin = await asyncpg.connect(dsn)
        conn = await asyncpg.connect(dsn, server_settings=SERVER_SETTINGS)
        event_venue = await seed.base_event(admin)
        n = args.bookings
        figures: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
        say(f"\n== {n} bookings in a row on one connection, one transaction each, per booking")
        say(f"{'statement':<22} {'wall ms':>8} {'backend CPU ms':>14} {'args µs':>8} {'booked':>7}")
        for round_no in range(1, args.rounds + 1):
            for what, versions in STATEMENTS.items():
                ids = {v: await sessions_for(admin, event_venue, what, n) for v in versions}
                for version, tally in (await run(conn, versions, ids, n)).items():
                    wall, cpu, arg_us = tally.per_booking()
                    figures.setdefault((what, version), []).append((wall, cpu, arg_us))
                    label = f"{what} {version} ({round_no})"
                    say(f"{label:<22} {wall:>8.3f} {cpu:>14.3f} {arg_us:>8.2f} {tally.booked:>7}")
        say(f"\n== median of {args.rounds} rounds, per booking (ratio core/text)")
        say(
            f"{'statement':<10} {'wall ms text/core':>20} {'ratio':>6} "
            f"{'CPU ms text/core':>20} {'ratio':>6} {'args µs text/core':>18}"
        )
        for what in STATEMENTS:
            t = [statistics.median(x) for x in zip(*figures[what, "text"], strict=True)]
            c = [statistics.median(x) for x in zip(*figures[what, "core"], strict=True)]
            say(
                f"{what:<10} {t[0]:>9.3f} / {c[0]:<8.3f} {c[0] / t[0]:>6.3f} "
                f"{t[1]:>9.3f} / {c[1]:<8.3f} {c[1] / t[1]:>6.3f} {t[2]:>8.2f} / {c[2]:<7.2f}"
            )
        await conn.close()
        await admin.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.core_vs_text")
    parser.add_argument("--bookings", type=int, default=2000, help="bookings per run (2000)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds of each (6)")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
