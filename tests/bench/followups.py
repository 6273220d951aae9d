"""Follow-up campaign benchmark: N campaign mails delivered by the product's worker
(send_follow_up_mails through arq: lease a batch in one statement, render, send over a few
open SMTP connections, mark the batch in one statement) to a local SMTP sink, beside a bare
aiosmtplib loop sending N ready-made messages to the same sink with the same concurrency, in the
same run: messages/s and the ratio.

    python -m tests.bench.followups [--messages 2000]   # also run by `make bench`

A throwaway PostgreSQL and Redis; the sink (aiosmtpd's Sink handler) runs in its own process."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import asyncpg
from arq.connections import RedisSettings, create_pool
from arq.worker import Worker
from sqlalchemy import text

from service.domain.followups.delivery import CONCURRENCY
from service.domain.followups.service import send_job_id
from service.platform.db import make_engine, make_session_factory
from service.platform.job_names import SEND_FOLLOW_UP_MAILS
from service.platform.settings import load_settings
from tests.bench.smtp_bench import bare_send, mail_stack
from workers.context import close_context, open_context
from workers.schedule import FUNCTIONS


def say(message: str) -> None:
    print(f"[followups] {message}", file=sys.stderr, flush=True)


async def seed(dsn: str, n: int) -> int:
    """N people with an address who attended a session last month, and a campaign of them all
    by mail, just sent (status sending). Returns the campaign's id."""
    conn = await asyncpg.connect(dsn)
    try:
        org = await conn.fetchval(
            "INSERT INTO organizations (name, kind) VALUES ('bench', 'organizer') RETURNING id"
        )
        venue = await conn.fetchval(
            "INSERT INTO venues (name, address, ward, access_notes, barrier_free_notes) "
            "VALUES ('会場', '静岡市葵区', 'aoi', '', '') RETURNING id"
        )
        event = await conn.fetchval(
            "INSERT INTO events (title, description, kind, sector, status, organizer_id, contact,"
            " what_to_bring) VALUES ('仕事説明会', '', 'job_fair', 'care', 'published', $1, '',"
            " '') RETURNING id",
            org,
        )
        session = await conn.fetchval(
            "INSERT INTO sessions (event_id, venue_id, starts_at, ends_at, capacity, "
            "waitlist_limit, booking_opens_at, booking_closes_at) VALUES ($1, $2, "
            "now() - interval '30 days', now() - interval '30 days' + interval '2 hours', $3, 0,"
            " now() - interval '60 days', now() - interval '31 days') RETURNING id",
            event,
            venue,
            n,
        )
        await conn.execute(
            """
            WITH p AS (
                INSERT INTO persons (name, name_kana, phone, email, consent_privacy,
                                     consent_version, consent_agreed_at, contact_by)
                SELECT '静岡 太郎' || i, 'シズオカ タロウ', '090' || lpad(i::text, 8, '0'),
                       'p' || i || '@example.jp', true, '2026-12', now(), '{mail}'
                FROM generate_series(1, $2) AS i RETURNING id, phone, email
            )
            INSERT INTO bookings (code, session_id, person_id, status, channel, phone, email,
                                  confirmed_at, checked_in_at)
            SELECT lpad(p.id::text, 12, '0'), $1, p.id, 'confirmed', 'web', p.phone, p.email,
                   now() - interval '40 days', now() - interval '30 days'
            FROM p
            """,
            session,
            n,
        )
        campaign: int = await conn.fetchval(
            "INSERT INTO follow_up_campaigns (title, attended_from, attended_to, status, sent_at,"
            " closes_at) VALUES ('就業状況調査', current_date - 60, current_date, 'sending', now(),"
            " now() + interval '60 days') RETURNING id"
        )
        await conn.execute(
            "INSERT INTO follow_up_targets (campaign_id, person_id, channel) "
            "SELECT $1, id, 'mail' FROM persons",
            campaign,
        )
        return campaign
    finally:
        await conn.close()


async def product(settings_env: dict[str, str], n: int, campaign: int) -> float:
    """Seconds from enqueueing the send job to the last mail marked sent by a real arq worker."""
    settings = load_settings(settings_env)
    redis = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    engine = make_engine(settings.sqlalchemy_url, 2)
    started = time.perf_counter()
    try:
        await redis.enqueue_job(SEND_FOLLOW_UP_MAILS, campaign, _job_id=send_job_id(campaign))

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
        )
        try:
            await worker.main()
        finally:
            await worker.close()
        elapsed = time.perf_counter() - started
        async with make_session_factory(engine)() as db:
            sent = await db.scalar(
                text("SELECT count(*) FROM follow_up_targets WHERE status = 'sent'")
            )
        assert sent == n, f"{sent} of {n} campaign mails sent"
        return elapsed
    finally:
        await engine.dispose()
        await redis.aclose()


async def run(n: int) -> None:
    say("starting a throwaway PostgreSQL and Redis, and the SMTP sink")
    async with mail_stack("followups") as stack:
        campaign = await seed(stack.dsn, n)
        await asyncio.sleep(0.5)  # the sink is listening
        say(f"bare aiosmtplib loop: {n} messages")
        bare_seconds = await bare_send(
            stack.smtp_port,
            n,
            CONCURRENCY,
            "就業状況のおたずね",
            "その後、お仕事の状況はいかがでしょうか。",
        )
        say(f"product: {n} campaign mails through the worker")
        product_seconds = await product(stack.env, n, campaign)
    product_rate, bare_rate = n / product_seconds, n / bare_seconds
    print(
        f"follow-up campaign: {n} mails to the SMTP sink\n"
        f"  product (arq worker, batches, {CONCURRENCY} connections):"
        f" {product_rate:8.0f} messages/s  ({product_seconds:.1f} s)\n"
        f"  bare aiosmtplib loop ({CONCURRENCY} at a time):"
        f" {bare_rate:8.0f} messages/s  ({bare_seconds:.1f} s)\n"
        f"  ratio product / bare: {product_rate / bare_rate:.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.followups")
    parser.add_argument("--messages", type=int, default=2000, help="campaign mails (2000)")
    args = parser.parse_args(argv)
    if not 1 <= args.messages <= 100_000:
        parser.error("messages 1..100000")
    asyncio.run(run(args.messages))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
