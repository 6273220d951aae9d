"""The benchmarks' own data still fits the schema and their floors still run, at a small size:
`make bench` is not run by `make test`, and a schema change once broke its indicators case
unseen (booking codes of a shape the database now refuses)."""

from __future__ import annotations

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.indicators.service import compile_year
from service.platform.settings import Settings, to_plain_pg_url
from tests.bench import feeds, indicators, minimal, reminders, seed, transaction


async def _connect(settings: Settings) -> asyncpg.Connection:
    return await asyncpg.connect(to_plain_pg_url(settings.database_url))


async def test_the_indicator_bench_seed_compiles(settings: Settings, db: AsyncSession) -> None:
    conn = await _connect(settings)
    try:
        await indicators.seed(conn, sessions=3, records=60)
        attended = await conn.fetchval(
            "SELECT count(*) FROM bookings WHERE checked_in_at IS NOT NULL"
        )
    finally:
        await conn.close()
    assert attended == 3 * indicators.ATTENDING_PER_SESSION
    await compile_year(db, indicators.FISCAL_YEAR)
    await db.commit()


async def test_the_booking_floor_books_and_refuses_on_the_bench_sessions(
    settings: Settings,
) -> None:
    conn = await _connect(settings)
    try:
        event_venue = await seed.base_event(conn)
        case = seed.Case("t", "test", 1, 1, 1, 3)
        [session_id] = await seed.make_sessions(conn, event_venue, case)
        answers = []
        for _ in range(3):
            try:
                answers.append((await transaction.book(conn, session_id, seed.person()))[1])
            except transaction.Refused as refused:
                answers.append(refused.code)
        assert answers == ["confirmed", "waitlisted", "waitlist_full"]
        assert (await seed.check(conn, [session_id], 2)).ok
    finally:
        await conn.close()


async def test_the_reminder_and_feed_bench_seeds_fit(settings: Settings) -> None:
    plain = to_plain_pg_url(settings.database_url)
    await reminders.seed(plain, 5)
    await feeds._seed(plain)


async def test_the_minimal_floor_books_and_refuses_on_its_own_tables(settings: Settings) -> None:
    conn = await _connect(settings)
    try:
        await minimal.create_tables(conn)
        [session_id] = await minimal.make_sessions(conn, 1, 2)
        answers = [await minimal.book(conn, session_id, seed.person()) for _ in range(3)]
        assert answers == [True, True, False]
        assert await minimal.check(conn, [session_id], 2) is None
        assert await minimal.check(conn, [session_id], 3) is not None
    finally:
        await conn.close()


async def test_the_follow_up_bench_seed_sends(
    settings: Settings, db: AsyncSession, mail_settings: Settings
) -> None:
    from sqlalchemy import text

    from tests.bench import followups
    from tests.mail_support import worker_context
    from workers.followups import send_follow_up_mails

    campaign = await followups.seed(to_plain_pg_url(settings.database_url), 5)
    async with worker_context(mail_settings) as ctx:
        assert await send_follow_up_mails(ctx, campaign) == 5
    assert await db.scalar(text("SELECT status FROM follow_up_campaigns")) == "sent"


async def test_the_rule_cost_variants_each_book_on_the_copied_schema(settings: Settings) -> None:
    """tests.bench.rule_costs cuts rules out of the statement as text: each cut still books
    (and what it cut is really gone), so its figures are of working statements."""
    from sqlalchemy import text as sql_text

    from service.platform.db import DriverStatement
    from tests.bench import rule_costs, text_baseline

    conn = await _connect(settings)
    try:
        for change in rule_costs.COPY_CHANGES:
            await conn.execute(change)
        event_venue = await seed.base_event(conn)
        case = seed.Case("t", "test", len(rule_costs.VARIANTS), 2, 0, 1)
        ids = await seed.make_sessions(conn, event_venue, case)
        for session_id, (name, build) in zip(ids, rule_costs.VARIANTS.items(), strict=True):
            stmt = DriverStatement.of(sql_text(build(text_baseline.CONFIRM_SQL)))
            p = transaction.params_of(session_id, seed.person())
            async with conn.transaction():
                row = await conn.fetchrow(stmt.sql, *stmt.args(p))
            assert row is not None and row["booking_id"] is not None, name
            person, notices, seats, taken = await conn.fetchrow(
                "SELECT b.person_id, (SELECT count(*) FROM notifications n "
                "WHERE n.booking_id = b.id), (SELECT count(*) FROM session_seats st "
                "WHERE st.booking_id = b.id), s.seats_taken "
                "FROM bookings b JOIN sessions s ON s.id = b.session_id WHERE b.id = $1",
                row["booking_id"],
            )
            cut = name.strip()
            assert (person is None) == (cut in ("without the person record", "all three"))
            assert (notices == 0) == (cut in ("without the outbox notice", "all three"))
            counted = cut in ("seats counted on the session", "all three")
            assert (seats, taken) == ((0, 1) if counted else (1, 0)), name
    finally:
        await conn.close()
