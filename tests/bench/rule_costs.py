"""What each rule of the booking statement costs PostgreSQL: `python -m tests.bench.rule_costs`.

Issue 21 point 9 asks the booking to reach half the minimal floor's throughput (a bare UPDATE
... booked < capacity and an INSERT) without giving up a rule. This measures how far the
statement itself is from that: on a throwaway embedded PostgreSQL (as `make bench`), migrated,
one connection books N times in a row (a transaction each, the spread case: one person per
booking, 1,000 sessions of 15 seats) with

  - the product's statement (the booking's CONFIRM, as the floors run it; written here as its
    text() copy in tests/bench/text_baseline.py, so that a rule can be cut out of it as text:
    `python -m tests.bench.core_vs_text` shows that copy and the product's Core statement
    plan and cost the same),
  - the same statement with one rule taken out: no person record (the people register), no
    outbox notice (the confirmation mail), seats counted on the session row instead of a row
    per seat, and all three together,
  - the minimal floor's two statements,

and prints the backend's CPU time per booking (/proc/<pid>/schedstat) and WAL bytes, each
beside the product's. The variants exist only here, on a copy of the schema; they are what
the product would save by dropping the rule, not a proposal to drop it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy import text

from service.platform.db import DriverStatement
from tests.bench import minimal, seed, text_baseline, transaction
from tests.bench.dbtime import _backend_cpu_ns

SETTINGS = {"timezone": "UTC", "application_name": "rule_costs"}

_NOTICE = """notice AS (
    INSERT INTO notifications (booking_id, kind, dedup_key)
    SELECT id, 'booking_confirmed', 'booking_confirmed:' || id FROM bk
    RETURNING id
)"""
_CLAIM = """claim AS (
    UPDATE session_seats SET booking_id = bk.id FROM bk, seat
    WHERE session_seats.id = seat.id RETURNING session_seats.id
),"""


def _cut(sql: str, start: str, end: str, replacement: str) -> str:
    a = sql.index(start)
    b = sql.index(end, a)
    return sql[:a] + replacement + sql[b:]


def _without_person(sql: str) -> str:
    return _cut(
        sql, "person_alt AS (", "bk AS (", "person AS (SELECT NULL::bigint AS id FROM enough),\n"
    )


def _without_notice(sql: str) -> str:
    assert _NOTICE in sql
    return sql.replace(_NOTICE, "notice AS (SELECT NULL::bigint AS id)")


def _counted_seats(sql: str) -> str:
    counted = _cut(
        sql,
        "seat AS (",
        "enough AS",
        """seat AS (
    UPDATE sessions SET seats_taken = seats_taken + CAST(:party_size AS int)
    FROM ok WHERE sessions.id = ok.id
      AND seats_taken + CAST(:party_size AS int) <= capacity
    RETURNING sessions.id
),
""",
    )
    assert _CLAIM in counted
    return counted.replace(_CLAIM, "").replace(
        "HAVING count(*) = CAST(:party_size AS int)", "HAVING count(*) = 1"
    )


VARIANTS: dict[str, Callable[[str], str]] = {
    "product statement": lambda sql: sql,
    "  without the person record": _without_person,
    "  without the outbox notice": _without_notice,
    "  seats counted on the session": _counted_seats,
    "  all three": lambda sql: _counted_seats(_without_notice(_without_person(sql))),
}
# On the copy only: the variants write a booking without a person and count seats on sessions.
COPY_CHANGES = (
    "ALTER TABLE bookings DROP CONSTRAINT ck_bookings_person_or_purged",
    "ALTER TABLE sessions ADD COLUMN seats_taken integer NOT NULL DEFAULT 0",
)


def say(message: str) -> None:
    print(message, flush=True)


async def _serial(
    conn: asyncpg.Connection, n: int, one: Callable[[int], Awaitable[Any]]
) -> tuple[float, float, int]:
    """(wall ms, backend CPU ms, WAL bytes) per booking of n bookings one after another."""
    lsn = await conn.fetchval("SELECT pg_current_wal_insert_lsn()")
    cpu = _backend_cpu_ns(conn.get_server_pid())
    began = time.perf_counter()
    for i in range(n):
        await one(i)
    wall = (time.perf_counter() - began) * 1000 / n
    cpu_ms = (_backend_cpu_ns(conn.get_server_pid()) - cpu) / 1e6 / n
    wal = await conn.fetchval(
        "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)", lsn
    )
    return wall, cpu_ms, int(wal) // n


def _booker(
    conn: asyncpg.Connection, stmt: DriverStatement, targets: list[int]
) -> Callable[[int], Awaitable[Any]]:
    async def one(i: int) -> None:
        p = transaction.params_of(targets[i], seed.person())
        async with conn.transaction():
            row = await conn.fetchrow(stmt.sql, *stmt.args(p))
            if row is None or row["booking_id"] is None:
                raise RuntimeError(f"not booked: {dict(row or {})}")

    return one


def _minimal_booker(
    conn: asyncpg.Connection, targets: list[int]
) -> Callable[[int], Awaitable[Any]]:
    async def one(i: int) -> None:
        if not await minimal.book(conn, targets[i], seed.person()):
            raise RuntimeError("minimal floor: full")

    return one


async def main_async(args: argparse.Namespace) -> None:
    async with seed.migrated_postgres() as (_pg, dsn):
        setup = await asyncpg.connect(dsn)
        for change in COPY_CHANGES:
            await setup.execute(change)
        await minimal.create_tables(setup)
        event_venue = await seed.base_event(setup)
        statements = {
            name: DriverStatement.of(text(build(text_baseline.CONFIRM_SQL)))
            for name, build in VARIANTS.items()
        }
        conn = await asyncpg.connect(dsn, server_settings=SETTINGS)
        n = args.bookings
        results: dict[str, list[tuple[float, float, int]]] = {}
        case = seed.Case("b", "spread", 1000, 15, 10, n)
        for round_no in range(args.rounds + 1):
            for name, stmt in [*statements.items(), ("minimal floor", None)]:
                if stmt is None:
                    targets = await minimal.make_sessions(setup, 1000, 15)
                    one = _minimal_booker(conn, [targets[i % 1000] for i in range(n)])
                else:
                    ids = await seed.make_sessions(setup, event_venue, case)
                    one = _booker(conn, stmt, [ids[i % len(ids)] for i in range(n)])
                figures = await _serial(conn, n, one)
                if round_no:  # round 0 warms the plans and the caches
                    results.setdefault(name, []).append(figures)
        await conn.close()
        await setup.close()
    product_cpu = min(r[1] for r in results["product statement"])
    say(f"\n{n} bookings in a row on one connection, a transaction each; best of {args.rounds}")
    say(f"{'what':<36} {'wall ms':>8} {'CPU ms':>7} {'÷product':>9} {'WAL bytes':>9}")
    for name, rows in results.items():
        wall = min(r[0] for r in rows)
        cpu = min(r[1] for r in rows)
        wal = min(r[2] for r in rows)
        say(f"{name:<36} {wall:>8.3f} {cpu:>7.3f} {cpu / product_cpu:>9.2f} {wal:>9}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.rule_costs")
    parser.add_argument("--bookings", type=int, default=2000, help="bookings per run (2000)")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds (3)")
    args = parser.parse_args(argv)
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
