"""Where a booking's database time goes: `python -m tests.bench.dbtime`.

On a throwaway embedded PostgreSQL (the one `make bench` uses), migrated, with the spread
case's sessions (1,000 sessions of 15 seats):
  - EXPLAIN (ANALYZE, BUFFERS, WAL) of the booking statement on a fresh session (planning
    time, each part of the statement, the foreign-key triggers), and of the minimal floor's two;
  - one connection booking N times in a row, each booking its own transaction: the product's
    statement (as the floors run it) and the minimal floor's two statements, alternated, as
    wall time per booking, server time (the statements' durations as PostgreSQL logs them,
    log_min_duration_statement = 0, by phase: planning happens in bind), the backend's CPU
    time (/proc/<pid>/schedstat) and WAL bytes per booking.
pgserver's PostgreSQL is built without contrib, so pg_stat_statements is not available here;
the logged durations give the same per-statement figure.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

from tests.bench import minimal, seed, transaction

SERVER_SETTINGS = {"timezone": "UTC", "application_name": "dbtime"}


def say(message: str) -> None:
    print(message, flush=True)


async def _explain(conn: asyncpg.Connection, sql: str, args: list[Any]) -> str:
    async with conn.transaction():
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, WAL, VERBOSE off) " + sql, *args)
        plan = "\n".join(r[0] for r in rows)
        raise _Rollback(plan)


class _Rollback(Exception):
    pass


async def explain(conn: asyncpg.Connection, sql: str, args: list[Any]) -> str:
    try:
        await _explain(conn, sql, args)
    except _Rollback as done:
        return str(done)
    return ""


async def serial(
    conn: asyncpg.Connection, n: int, one: Callable[[int], Awaitable[Any]]
) -> tuple[float, int]:
    """(wall ms per booking, WAL bytes per booking) of n bookings one after another."""
    lsn = "SELECT pg_current_wal_insert_lsn()"
    before = await conn.fetchval(lsn)
    began = time.perf_counter()
    for i in range(n):
        await one(i)
    took = (time.perf_counter() - began) * 1000 / n
    wal = await conn.fetchval(f"SELECT pg_wal_lsn_diff(({lsn}), $1::pg_lsn)", before)
    return took, int(wal) // n


_RECORD = re.compile(r"^\d{4}-\d\d-\d\d [0-9:.]+ \w+ \[\d+\] ", re.M)
_DURATION = re.compile(
    r"LOG:  duration: ([0-9.]+) ms  (statement|parse|bind|execute)[^:]*:\s*(\S*)"
)


def logged(log_text: str, marker: str) -> dict[str, float]:
    """Total server milliseconds by phase and statement kind, between the marker's start and
    end statements (extended protocol: planning happens in bind, running in execute)."""
    text = log_text.split(f"'{marker}-start'", 1)[-1].split(f"'{marker}-end'", 1)[0]
    totals: dict[str, float] = {}
    starts = [m.start() for m in _RECORD.finditer(text)] + [len(text)]
    for a, b in itertools.pairwise(starts):
        m = _DURATION.search(text[a:b])
        if m is None:
            continue
        kind = m.group(3).upper().rstrip(";") or "?"
        totals[f"{m.group(2)} {kind}"] = totals.get(f"{m.group(2)} {kind}", 0.0) + float(m.group(1))
    return totals


def _backend_cpu_ns(pid: int) -> int:
    """CPU time of a PostgreSQL backend on this machine so far (Linux schedstat, ns)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


def _product(
    conn: asyncpg.Connection, targets: list[int], people: list[dict[str, Any]]
) -> Callable[[int], Awaitable[Any]]:
    async def one(i: int) -> Any:
        return await transaction.book(conn, targets[i], people[i])

    return one


def _minimal(
    conn: asyncpg.Connection, targets: list[int], people: list[dict[str, Any]]
) -> Callable[[int], Awaitable[Any]]:
    async def one(i: int) -> Any:
        return await minimal.book(conn, targets[i], people[i])

    return one


async def main_async(args: argparse.Namespace) -> None:
    async with seed.migrated_postgres() as (pg, dsn):
        admin = await asyncpg.connect(dsn)
        await minimal.create_tables(admin)
        event_venue = await seed.base_event(admin)
        case = seed.Case("b", "spread", 1000, 15, 10, args.bookings)
        try:
            await run_probe(args, admin, dsn, event_venue, case, pg.log_file)
        finally:
            await admin.close()
            if args.keep_log:
                shutil.copy(pg.log_file, args.keep_log)


async def run_probe(
    args: argparse.Namespace,
    admin: asyncpg.Connection,
    dsn: str,
    event_venue: tuple[int, int],
    case: seed.Case,
    log_file: Any,
) -> None:
    conn = await asyncpg.connect(dsn, server_settings=SERVER_SETTINGS)
    ids = await seed.make_sessions(admin, event_venue, case)
    mini = await minimal.make_sessions(admin, 1000, 15)
    p = transaction.params_of(ids[0], seed.person())
    say("== EXPLAIN (ANALYZE, BUFFERS, WAL): the booking statement on a fresh session")
    say(await explain(conn, transaction.FAST.sql, transaction.FAST.args(p)))
    person = seed.person()
    say("\n== EXPLAIN (ANALYZE, BUFFERS, WAL): the minimal floor's two statements")
    say(await explain(conn, minimal.CLAIM, [mini[0]]))
    say(await explain(conn, minimal.INSERT, [mini[0], person["name"], person["phone"]]))

    n = args.bookings
    say(f"\n== {n} bookings in a row on one connection, one transaction each (spread sessions)")
    say(
        f"{'what':<28} {'wall ms':>8} {'server ms':>9} {'backend CPU ms':>14} {'WAL bytes':>9}"
        "  (per booking)"
    )
    for round_no in range(1, args.rounds + 1):
        for name in ("product statement", "minimal floor"):
            marker = f"probe-{round_no}-{name}".replace(" ", "-")
            await conn.execute("SET log_min_duration_statement = 0")
            await conn.execute(f"SELECT '{marker}-start'")
            people = [seed.person() for _ in range(n)]
            if name == "product statement":
                one = _product(conn, [ids[i % len(ids)] for i in range(n)], people)
            else:
                one = _minimal(conn, [mini[i % len(mini)] for i in range(n)], people)
            cpu = _backend_cpu_ns(conn.get_server_pid())
            took, wal = await serial(conn, n, one)
            cpu = (_backend_cpu_ns(conn.get_server_pid()) - cpu) / 1e6 / n
            await conn.execute(f"SELECT '{marker}-end'")
            await conn.execute("SET log_min_duration_statement = -1")
            phases = logged(log_file.read_text(errors="replace"), marker)
            server = sum(phases.values()) / n
            say(f"{name + f' ({round_no})':<28} {took:>8.3f} {server:>9.3f} {cpu:>14.3f} {wal:>9}")
            for key, total in sorted(phases.items(), key=lambda kv: -kv[1])[:6]:
                say(f"    {key:<40} {total / n:>8.3f} ms")
            # fresh sessions for the next run
            ids = await seed.make_sessions(admin, event_venue, case)
            mini = await minimal.make_sessions(admin, 1000, 15)
    p = transaction.params_of(ids[0], seed.person())
    say("\n== EXPLAIN (ANALYZE, BUFFERS, WAL) again, warm")
    say(await explain(conn, transaction.FAST.sql, transaction.FAST.args(p)))
    await conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.dbtime")
    parser.add_argument("--bookings", type=int, default=2000, help="bookings per run (2000)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each (2)")
    parser.add_argument("--keep-log", default=None, help="copy PostgreSQL's log here")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
