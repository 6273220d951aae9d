"""The retention purge: personal data of bookings whose session ended more than
RETENTION_MONTHS ago is replaced or removed, audited, and no figure or count changes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.indicators import service as indicators
from service.domain.indicators.repository import IndicatorRepository
from service.domain.indicators.retention import months_before, purge_batch
from service.platform.local_time import TOKYO
from service.platform.settings import Settings
from tests.factories import make_session, person
from tests.indicator_support import build_year
from tests.mail_support import worker_context
from workers.indicators import purge_personal_data

COUNTS = """
    SELECT s.id, b.status, b.channel, b.heard_from, b.checked_in_at IS NOT NULL,
           b.no_show_at IS NOT NULL, count(*)
    FROM bookings b JOIN sessions s ON s.id = b.session_id
    GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
"""


async def test_the_purge_changes_no_figure_and_no_count(
    db: AsyncSession, settings: Settings
) -> None:
    from service.domain.bookings.service import book

    year = await build_year(db)
    recent = await make_session(db)
    recent_id = recent.id
    await book(db, recent_id, person(7, email=True))
    await db.commit()
    for fy in (2022, 2023):
        await indicators.compile_year(db, fy)
    await db.commit()
    repo = IndicatorRepository(db)
    figures = await repo.all_figures_snapshot()
    # (The recent session's own year is stale from its creation; the purge adds none.)
    stale = await repo.stale_years()
    counts = (await db.execute(text(COUNTS))).all()
    persons_before = await db.scalar(text("SELECT count(*) FROM persons"))
    # The old year's people were last active when they booked, years ago (the factories wrote
    # their rows just now); a person is kept only while active or kept informed by consent.
    await db.execute(
        text("""
            UPDATE persons SET last_active_at = now() - interval '30 months'
            WHERE id NOT IN (SELECT person_id FROM bookings WHERE session_id = :s)
        """),
        {"s": recent_id},
    )
    await db.commit()

    async with worker_context(settings) as ctx:
        purged = await purge_personal_data(ctx)
    assert purged == await db.scalar(
        text("SELECT count(*) FROM bookings WHERE session_id <> :s"), {"s": recent_id}
    )
    db.expire_all()
    # Nothing personal is left of the old bookings; the recent one keeps its person.
    left = (
        await db.execute(
            text("""
                SELECT count(*) FILTER (WHERE person_id IS NOT NULL OR email IS NOT NULL
                                        OR phone NOT LIKE '-%' OR purged_at IS NULL),
                       count(*) FILTER (WHERE cancel_reason IS NOT NULL
                                        AND cancel_reason <> '（削除済み）')
                FROM bookings WHERE session_id <> :s
            """),
            {"s": recent_id},
        )
    ).one()
    assert tuple(left) == (0, 0)
    names = await db.scalars(text("SELECT DISTINCT name FROM booking_companions"))
    assert list(names) == ["（削除済み）"]
    assert await db.scalar(text("SELECT count(*) FROM persons")) == 1
    assert persons_before and persons_before > 1
    assert (
        await db.scalar(
            text("SELECT count(*) FROM bookings WHERE session_id = :s AND person_id IS NOT NULL"),
            {"s": recent_id},
        )
        == 1
    )
    # Counts and compiled figures are exactly as before, and compiling again changes nothing.
    assert (await db.execute(text(COUNTS))).all() == counts
    assert await repo.all_figures_snapshot() == figures
    assert await repo.stale_years() == stale
    for fy in (2022, 2023):
        await indicators.compile_year(db, fy)
    await db.commit()
    assert await repo.all_figures_snapshot() == figures
    # Audited, per batch.
    audit = (
        await db.execute(
            text("SELECT actor_id, after FROM audit_log WHERE action = 'retention.purge'")
        )
    ).all()
    assert len(audit) == 1 and audit[0][0] is None
    assert audit[0][1]["bookings"] == purged and audit[0][1]["retention_months"] == 24
    # A roster of an old session still lists its bookings, without names.
    from service.domain.accounts.actor import Actor
    from service.domain.rosters.service import get_roster

    roster = await get_roster(db, year.admin, year.session_ids["sep"])
    assert roster.confirmed and {e.name for e in roster.confirmed} == {"（削除済み）"}
    # A second run finds nothing to do.
    async with worker_context(settings) as ctx:
        assert await purge_personal_data(ctx) == 0
    assert isinstance(year.admin, Actor)


async def test_only_sessions_past_the_retention_months_are_purged(db: AsyncSession) -> None:
    from service.domain.bookings.service import book

    session = await make_session(db)
    await book(db, session.id, person(1))
    await db.commit()
    ends = await db.scalar(text("SELECT ends_at FROM sessions WHERE id = :s"), {"s": session.id})
    assert ends is not None
    # 24 months after the session's end it is not yet due; a day later it is.
    assert (await purge_batch(db, months_forward(ends, 24), 24)).bookings == 0
    from datetime import timedelta

    assert (await purge_batch(db, months_forward(ends, 24) + timedelta(days=1), 24)).bookings == 1


def months_forward(moment: datetime, months: int) -> datetime:
    local = moment.astimezone(TOKYO)
    index = local.year * 12 + local.month - 1 + months
    return local.replace(year=index // 12, month=index % 12 + 1)


def test_months_before_keeps_the_tokyo_day() -> None:
    at = datetime(2026, 3, 31, 1, 0, tzinfo=UTC)  # 10:00 JST on March 31
    assert months_before(at, 1).isoformat() == "2026-02-28T10:00:00+09:00"
    assert months_before(at, 24).isoformat() == "2024-03-31T10:00:00+09:00"
