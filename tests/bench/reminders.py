"""Reminders benchmark: N due reminders delivered by the product's worker (the reminder cron,
then its send_due_notices job: a lease on 100 at a time, their bookings, render, 10 SMTP
connections kept open for the batch, the batch marked sent) to a local SMTP sink, beside a bare
aiosmtplib loop sending N ready-made messages to the same sink with the same concurrency (10 at a
time, a connection each), in the same run: messages/s and the ratio.

    python -m tests.bench.reminders [--messages 10000]   # also run by `make bench`

A throwaway PostgreSQL and Redis; the sink (aiosmtpd's Sink handler) runs in its own process,
so that it does not share the GIL with what is measured."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime, timedelta

import asyncpg
from arq.connections import RedisSettings, create_pool
from arq.worker import Worker
from sqlalchemy import text

from service.domain.notifications import service as notifications
from service.platform.db import make_engine, make_session_factory
from service.platform.jobs import enqueue_after_commit_jobs
from service.platform.settings import load_settings
from tests.bench.smtp_bench import bare_send, mail_stack
from workers.context import close_context, open_context
from workers.schedule import FUNCTIONS

CONCURRENCY = 10  # arq's default max_jobs: the worker sends 10 mails at a time


def say(message: str) -> None:
    print(f"[reminders] {message}", file=sys.stderr, flush=True)


async def seed(dsn: str, n: int) -> datetime:
    """One published event with a session in 2 days (10:00 Tokyo), a reminder 1 day before,
    and N confirmed bookings made long ago, each with its own address. Returns a moment when
    every reminder is due."""
    conn = await asyncpg.connect(dsn)
    try:
        org = await conn.fetchval(
            "INSERT INTO organizations (name, kind) VALUES ('bench', 'organizer') RETURNING id"
        )
        venue = await conn.fetchval(
            "INSERT INTO venues (name, address, ward, access_notes, barrier_free_notes) "
            "VALUES ('会場', '静岡市葵区', 'aoi', '', '') "
            "RETURNING id"
        )
        event = await conn.fetchval(
            "INSERT INTO events (title, description, kind, sector, status, organizer_id, contact,"
            " what_to_bring, reminder_days) VALUES ('ベンチマーク説明会', '', 'seminar', 'general',"
            " 'published', $1, '', '', '{1}') "
            "RETURNING id",
            org,
        )
        starts = await conn.fetchval(
            "SELECT (date_trunc('day', now() AT TIME ZONE 'Asia/Tokyo')"
            " + interval '2 days 10 hours') AT TIME ZONE 'Asia/Tokyo'"
        )
        session = await conn.fetchval(
            "INSERT INTO sessions (event_id, venue_id, starts_at, ends_at, capacity, "
            "waitlist_limit, booking_opens_at, booking_closes_at) "
            "VALUES ($1, $2, $3::timestamptz, $3::timestamptz + interval '2 hours', $4, 0, "
            "now() - interval '40 days', "
            "$3::timestamptz - interval '1 hour') RETURNING id",
            event,
            venue,
            starts,
            n,
        )
        await conn.execute(
            """
            WITH p AS (
                INSERT INTO persons (name, name_kana, phone, email)
                SELECT '静岡 太郎' || i, 'シズオカ タロウ', '090' || lpad(i::text, 8, '0'),
                       'p' || i || '@example.jp'
                FROM generate_series(1, $2) AS i RETURNING id, phone, email
            )
            INSERT INTO bookings (code, session_id, person_id, status, channel, phone, email,
                                  confirmed_at, created_at)
            SELECT lpad(p.id::text, 12, '0'), $1, p.id, 'confirmed', 'web', p.phone, p.email,
                   now() - interval '30 days', now() - interval '30 days'
            FROM p
            """,
            session,
            n,
        )
        due: datetime = starts - timedelta(hours=1)  # 9:00 Tokyo the day before, and then some
        return due
    finally:
        await conn.close()


async def product(settings_env: dict[str, str], n: int, due: datetime) -> float:
    """Seconds from writing the due reminders to the last one sent by a real arq worker."""
    settings = load_settings(settings_env)
    ctx: dict[str, object] = {}
    await open_context(ctx, settings)
    redis = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    engine = make_engine(settings.sqlalchemy_url, 2)
    started = time.perf_counter()
    try:
        async with make_session_factory(engine)() as db:
            ids = await notifications.write_reminders(db, due)
            await db.commit()
            await enqueue_after_commit_jobs(db, redis)
        assert len(ids) == n, f"{len(ids)} reminders written, {n} expected"

        async def startup(worker_ctx: dict[str, object]) -> None:
            await open_context(worker_ctx, settings)

        worker = Worker(
            functions=FUNCTIONS,
            redis_settings=RedisSettings.from_dsn(settings.redis_url),
            burst=True,
            poll_delay=0.01,
            handle_signals=False,
            on_startup=startup,
            on_shutdown=close_context,
            max_jobs=CONCURRENCY,
        )
        try:
            await worker.main()
        finally:
            await worker.close()
        elapsed = time.perf_counter() - started
        async with make_session_factory(engine)() as db:
            sent = await db.scalar(
                text(
                    "SELECT count(*) FROM notifications WHERE kind = 'reminder' AND status = 'sent'"
                )
            )
        assert sent == n, f"{sent} of {n} reminders sent"
        return elapsed
    finally:
        await engine.dispose()
        await redis.aclose()
        await close_context(ctx)


async def run(n: int) -> None:
    say("starting a throwaway PostgreSQL and Redis, and the SMTP sink")
    async with mail_stack("reminders") as stack:
        due = await seed(stack.dsn, n)
        await asyncio.sleep(0.5)  # the sink is listening
        say(f"bare aiosmtplib loop: {n} messages")
        bare_seconds = await bare_send(
            stack.smtp_port,
            n,
            CONCURRENCY,
            "明日のご予約のお知らせ",
            "明日は、ご予約いただいているイベントの開催日です。",
        )
        say(f"product: {n} due reminders through the worker")
        product_seconds = await product(stack.env, n, due)
    product_rate, bare_rate = n / product_seconds, n / bare_seconds
    print(
        f"reminders: {n} due reminders to the SMTP sink\n"
        f"  product (cron + arq worker, {CONCURRENCY} connections): {product_rate:8.0f} messages/s"
        f"  ({product_seconds:.1f} s)\n"
        f"  bare aiosmtplib loop ({CONCURRENCY} at a time): {bare_rate:8.0f} messages/s"
        f"  ({bare_seconds:.1f} s)\n"
        f"  ratio product / bare: {product_rate / bare_rate:.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.reminders")
    parser.add_argument("--messages", type=int, default=10_000, help="due reminders (10000)")
    args = parser.parse_args(argv)
    if not 1 <= args.messages <= 100_000:
        parser.error("messages 1..100000")
    asyncio.run(run(args.messages))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
