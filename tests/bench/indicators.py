"""The indicators benchmark (case i of `make bench`): compiling one fiscal year with 1,000,000
attendances (checked-in bookings and walk-ins) and 100,000 desk records, as the worker does it
(service.domain.indicators.service.compile_year in one SQLAlchemy transaction: read, count,
replace the figures), beside the bare GROUP BY over the same rows on raw asyncpg, in the same
run, as a ratio. Aim: within 1.5x of the bare query and under 2 s. Then the yearly report's
PDF of that year (what /manage/indicators/report.pdf does: read the compiled figures and the
held events, render the page's templates, WeasyPrint), printed beside the compile time. Aim:
under 3 s. The clock stands after the year's end, so that every session has been held."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from jinja2 import Environment, FileSystemLoader
from sqlalchemy import text

from service.domain import clock
from service.domain.accounts.actor import Actor
from service.domain.indicators import fiscal
from service.domain.indicators.document import read_document
from service.domain.indicators.repository import BARE_ATTENDANCE_SQL, BARE_RECORDS_SQL
from service.domain.indicators.service import compile_year
from service.platform.db import DriverStatement, make_engine, make_session_factory
from service.platform.settings import to_asyncpg_url
from service.web.manage_indicator_document import report_html
from service.web.report_pdf import render_pdf

ROOT = Path(__file__).resolve().parents[2]
ADMIN = Actor(id=0, username="bench", display_name="bench", role="admin", organization_id=None)

FISCAL_YEAR = 2030
SESSIONS = 2000
ATTENDING_PER_SESSION = 500  # 2,000 x 500 = 1,000,000 attendances
ABSENT_PER_SESSION = 50  # no-shows, which the compile must skip
RECORDS = 100_000
EVENTS = 40
KINDS = ["consultation", "job_fair", "seminar", "training", "exchange", "activity"]
SECTORS = ["care", "security", "building", "cleaning", "community", "general"]


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


async def seed(
    conn: asyncpg.Connection, *, sessions: int = SESSIONS, records: int = RECORDS
) -> None:
    """The fiscal year's rows (smaller sizes: tests/test_bench_seeds.py checks they still fit
    the schema, so that `make bench` does not break unseen)."""
    # Bulk rows for reading only: triggers (staleness marks) and FK checks are skipped.
    await conn.execute("SET session_replication_role = replica")
    organizer = await conn.fetchval(
        "INSERT INTO organizations (name, kind) VALUES ('bench-ind-organizer', 'organizer') "
        "RETURNING id"
    )
    cohosts = [
        await conn.fetchval(
            "INSERT INTO organizations (name, kind) VALUES ($1, 'cohost') RETURNING id",
            f"bench-ind-cohost-{i}",
        )
        for i in range(5)
    ]
    employers = [
        await conn.fetchval(
            "INSERT INTO organizations (name, kind) VALUES ($1, 'employer') RETURNING id",
            f"bench-ind-employer-{i}",
        )
        for i in range(50)
    ]
    venue = await conn.fetchval(
        "INSERT INTO venues (name, address, ward, access_notes, barrier_free_notes) "
        "VALUES ('bench-ind-venue', '', 'aoi', '', '') RETURNING id"
    )
    events = []
    for i in range(EVENTS):
        kind = KINDS[i % len(KINDS)]
        sub_kind = ("middle_senior", "side_job", None)[i % 3] if kind == "seminar" else None
        event_id = await conn.fetchval(
            "INSERT INTO events (title, description, kind, sector, sub_kind, status, organizer_id, "
            "contact, what_to_bring) VALUES ($1, '', $2, $3, $4, 'published', $5, '', '') "
            "RETURNING id",
            f"bench event {i}",
            kind,
            SECTORS[(i // len(KINDS)) % len(SECTORS)],
            sub_kind,
            organizer,
        )
        events.append(event_id)
        if i % 3 == 0:
            await conn.execute(
                "INSERT INTO event_cohosts VALUES ($1, $2)", event_id, cohosts[i % len(cohosts)]
            )
        if kind in ("job_fair", "exchange"):
            for k in range(5):
                await conn.execute(
                    "INSERT INTO event_employers VALUES ($1, $2)",
                    event_id,
                    employers[(i * 3 + k) % len(employers)],
                )
    start = fiscal.tokyo_midnight(fiscal.first_day(FISCAL_YEAR))
    session_ids = await conn.fetch(
        """
        INSERT INTO sessions (event_id, venue_id, starts_at, ends_at, capacity, waitlist_limit,
                              booking_opens_at, booking_closes_at)
        SELECT ($1::bigint[])[n % $2 + 1], $3,
               $4::timestamptz + interval '1 hour' + ((n * 7919) % (364 * 24)) * interval '1 hour',
               $4::timestamptz + interval '3 hours' + ((n * 7919) % (364 * 24)) * interval '1 hour',
               600, 0, $4::timestamptz - interval '60 days', $4::timestamptz - interval '1 day'
        FROM generate_series(0, $5 - 1) n RETURNING id
        """,
        events,
        len(events),
        venue,
        start,
        sessions,
    )
    ids = [r["id"] for r in session_ids]
    per = ATTENDING_PER_SESSION + ABSENT_PER_SESSION
    persons = await conn.fetch(
        "INSERT INTO persons (name, name_kana, phone) SELECT 'bench ' || n, 'ベンチ' || n, "
        "'09' || lpad(n::text, 9, '0') FROM generate_series(0, $1 - 1) n RETURNING id",
        per,
    )
    person_ids = [r["id"] for r in persons]
    say(f"seeding {sessions * ATTENDING_PER_SESSION:,} attendances")
    await conn.execute(
        """
        INSERT INTO bookings (code, session_id, person_id, status, channel, phone, heard_from,
                              confirmed_at, checked_in_at, no_show_at)
        SELECT '9' || lpad(n::text, 11, '0'), s.id, ($2::bigint[])[n % $3 + 1], 'confirmed',
               CASE WHEN n % 10 = 0 THEN 'walk_in' ELSE 'web' END,
               '09' || lpad((n % $3)::text, 9, '0'),
               (ARRAY['dm', 'line', 'magazine', 'website', 'hello_work', 'other', NULL])[n % 7 + 1],
               s.starts_at - interval '3 days',
               CASE WHEN n % $3 < $4 THEN s.starts_at END,
               CASE WHEN n % $3 >= $4 THEN s.ends_at END
        FROM generate_series(0, $5 - 1) n
        JOIN sessions s ON s.id = ($1::bigint[])[n / $3 + 1]
        """,
        ids,
        person_ids,
        per,
        ATTENDING_PER_SESSION,
        sessions * per,
    )
    say(f"seeding {records:,} desk records")
    await conn.execute(
        """
        INSERT INTO desk_records (kind, occurred_on, sector, channel, company, company_key, senior,
                                  quantity, note)
        SELECT k.kind, $1::date + (n % 365), (ARRAY['care', 'security', 'building', 'cleaning',
               'community', 'general'])[n % 6 + 1],
               CASE WHEN k.kind = 'consultation'
                    THEN (ARRAY['desk', 'phone', 'outreach'])[n % 3 + 1] END,
               CASE WHEN k.kind IN ('supported_company', 'placement', 'job_opening')
                    THEN 'company ' || (n % 3000) END,
               CASE WHEN k.kind IN ('supported_company', 'placement', 'job_opening')
                    THEN 'company' || (n % 3000) END,
               CASE WHEN k.kind = 'placement' THEN n % 9 <> 0 END,
               CASE WHEN k.kind = 'job_opening' THEN 1 + n % 4 ELSE 1 END, ''
        FROM generate_series(0, $2 - 1) n
        CROSS JOIN LATERAL (SELECT (ARRAY['consultation', 'consultation', 'supported_company',
               'placement', 'job_opening', 'silver_registration'])[n % 6 + 1] AS kind) k
        """,
        fiscal.first_day(FISCAL_YEAR),
        records,
    )
    await conn.execute("SET session_replication_role = origin")
    await conn.execute("ANALYZE")


async def _timed(fn: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await fn()
    return time.perf_counter() - started


def report_environment() -> Environment:
    """The templates as the app configures them, for the report (its desk name, autoescape)."""
    env = Environment(loader=FileSystemLoader(ROOT / "templates"), autoescape=True)
    env.globals["desk"] = {"name": "NEXTワークしずおか"}
    return env


async def run_indicators_bench(dsn: str, repeat: int) -> bool:
    with clock.frozen_at(fiscal.tokyo_midnight(fiscal.first_day(FISCAL_YEAR + 1))):
        return await _run(dsn, repeat)


async def _run(dsn: str, repeat: int) -> bool:
    conn = await asyncpg.connect(dsn)
    engine = make_engine(to_asyncpg_url(dsn), 2)
    factory = make_session_factory(engine)
    try:
        await seed(conn)
        window = fiscal.window(FISCAL_YEAR, None)
        attendance = DriverStatement.of(text(BARE_ATTENDANCE_SQL))
        records = DriverStatement.of(text(BARE_RECORDS_SQL))
        att_args = attendance.args({"starts": window.starts_at, "ends": window.ends_before})
        rec_args = records.args({"first": window.starts_on, "last": window.ends_on})
        rows: list[int] = []

        async def bare() -> None:
            a = await conn.fetch(attendance.sql, *att_args)
            r = await conn.fetch(records.sql, *rec_args)
            rows[:] = [sum(x[2] for x in a), sum(x[3] for x in r)]

        async def product() -> None:
            async with factory() as db:
                await compile_year(db, FISCAL_YEAR)
                await db.commit()

        env = report_environment()
        pdf_sizes: list[int] = []

        async def report_pdf() -> None:
            async with factory() as db:
                doc = await read_document(db, ADMIN, FISCAL_YEAR)
            pdf_sizes[:] = [len(render_pdf(report_html(env, doc, ADMIN)))]

        await bare()
        await product()  # warm both: caches, prepared statements
        await report_pdf()
        bare_times, product_times, pdf_times = [], [], []
        for _ in range(max(repeat, 1)):
            bare_times.append(await _timed(bare))
            product_times.append(await _timed(product))
            pdf_times.append(await _timed(report_pdf))
        figure = await conn.fetchval(
            "SELECT f.value FROM indicator_figures f JOIN indicator_definitions d "
            "ON d.id = f.definition_id WHERE f.fiscal_year = $1 AND f.scope_org_id = 0 "
            "AND f.period = 'total' AND d.code = 'matching_outreach_participants'",
            FISCAL_YEAR,
        )
    finally:
        await engine.dispose()
        await conn.close()
    compile_s = statistics.median(product_times)
    pdf_s = statistics.median(pdf_times)
    bare_s = statistics.median(bare_times)
    ratio = compile_s / bare_s if bare_s else float("inf")
    print()
    print(
        f"Indicators benchmark: compiling fiscal year {FISCAL_YEAR} with {rows[0]:,} attendances "
        f"and {rows[1]:,} desk-record units ({RECORDS:,} rows), median of {max(repeat, 1)} run(s)."
    )
    print(f"  compile (the worker's compile_year, one transaction)  {compile_s * 1000:8.0f} ms")
    print(f"  bare GROUP BY over the same rows (asyncpg)           {bare_s * 1000:8.0f} ms")
    print(
        f"  ratio {ratio:.2f} (aim <= 1.5); under 2 s: {'yes' if compile_s < 2 else 'NO'}; "
        f"出張相談会参加者 compiled: {int(figure or 0):,}"
    )
    print(
        f"  report PDF (read, templates, WeasyPrint)            {pdf_s * 1000:8.0f} ms"
        f"  = {pdf_s / compile_s:.2f} x the compile; under 3 s: {'yes' if pdf_s < 3 else 'NO'};"
        f" {pdf_sizes[0]:,} bytes"
    )
    return rows[0] == SESSIONS * ATTENDING_PER_SESSION
