"""The worker's cron table as configured (Asia/Tokyo), and the nightly purge it runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.cron import CronJob
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.logins import token_hash
from service.domain.accounts.repository import AccountRepository
from service.platform.local_time import TOKYO
from service.platform.settings import Settings
from tests.manage_support import make_staff
from workers.context import close_context, open_context
from workers.schedule import CRON_JOBS


def _cron(name: str) -> CronJob:
    return next(c for c in CRON_JOBS if c.name == f"cron:{name}")


def _next(job: CronJob, after: datetime) -> datetime:
    job.calculate_next(after)
    assert job.next_run is not None
    return job.next_run.replace(microsecond=0)  # arq runs at .123456 of the second


def test_reminders_are_written_every_quarter_hour() -> None:
    # Reminders are due at 9:00 Tokyo; the first run after that writes them, and a worker that
    # was down catches up within a quarter hour (the dedup key keeps one per booking and day).
    job = _cron("write_reminders")
    assert _next(job, datetime(2026, 12, 1, 8, 59, 59, tzinfo=TOKYO)) == datetime(
        2026, 12, 1, 9, 0, 30, tzinfo=TOKYO
    )
    assert _next(job, datetime(2026, 12, 1, 9, 0, 31, tzinfo=TOKYO)) == datetime(
        2026, 12, 1, 9, 15, 30, tzinfo=TOKYO
    )
    assert _next(job, datetime(2026, 12, 1, 23, 45, 31, tzinfo=TOKYO)) == datetime(
        2026, 12, 2, 0, 0, 30, tzinfo=TOKYO
    )


def test_the_purge_runs_nightly_and_the_sweeps_often() -> None:
    purge = _cron("purge_expired_records")
    first = _next(purge, datetime(2026, 12, 1, 12, 0, tzinfo=TOKYO))
    assert first == datetime(2026, 12, 2, 3, 40, tzinfo=TOKYO)
    assert _next(purge, first + timedelta(seconds=1)) == first + timedelta(days=1)
    sweep = _cron("sweep_notifications")
    # Every 30 s: a killed worker's mail waits at most its lease and half a minute.
    assert _next(sweep, datetime(2026, 12, 1, 9, 0, 6, tzinfo=TOKYO)) == datetime(
        2026, 12, 1, 9, 0, 35, tzinfo=TOKYO
    )
    assert _next(sweep, datetime(2026, 12, 1, 9, 0, 36, tzinfo=TOKYO)) == datetime(
        2026, 12, 1, 9, 1, 5, tzinfo=TOKYO
    )
    waiting = _cron("promote_waiting_lists")
    assert _next(waiting, datetime(2026, 12, 1, 9, 0, tzinfo=TOKYO)).minute == 2
    assert _next(waiting, datetime(2026, 12, 1, 9, 2, 16, tzinfo=TOKYO)).minute == 7


def test_the_worker_runs_on_tokyo_time(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """The table above is read in the worker's timezone."""
    import importlib

    from service.platform.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    get_settings.cache_clear()
    try:
        worker_settings = importlib.import_module("workers.settings").WorkerSettings
    finally:
        get_settings.cache_clear()
    assert worker_settings.timezone == TOKYO
    assert {c.name for c in worker_settings.cron_jobs} == {c.name for c in CRON_JOBS}


@pytest.fixture
async def ctx(settings: Settings) -> AsyncIterator[dict[str, Any]]:
    context: dict[str, Any] = {"redis": None}
    await open_context(context, settings)
    yield context
    await close_context(context)


async def test_the_purge_removes_only_what_is_old(ctx: dict[str, Any], db: AsyncSession) -> None:
    from workers.maintenance import purge_expired_records

    await db.execute(
        text(
            "INSERT INTO idempotency_records (scope, key, request_hash, status_code, response, "
            "created_at) VALUES ('s', 'old', 'h', 200, '{}', now() - interval '25 hours'), "
            "('s', 'new', 'h', 200, '{}', now() - interval '23 hours')"
        )
    )
    user = await make_staff(db, "organizer")
    repo = AccountRepository(db)
    now = datetime.now(UTC)
    await repo.add_token(
        user_id=user.id, token_hash=token_hash("gone"), kind="api", expires_at=now - timedelta(1)
    )
    await repo.add_token(
        user_id=user.id, token_hash=token_hash("live"), kind="api", expires_at=now + timedelta(1)
    )
    await db.execute(
        text(
            "INSERT INTO line_webhook_events (webhook_event_id, event_type, is_redelivery, "
            "payload, received_at, processed_at) VALUES "
            "('old', 'follow', false, '{}', now() - interval '31 days', now()), "
            "('unprocessed', 'follow', false, '{}', now() - interval '31 days', NULL), "
            "('recent', 'follow', false, '{}', now() - interval '29 days', now())"
        )
    )
    await db.commit()
    nothing_else = {"link_nonces": 0, "desk_codes": 0}
    assert await purge_expired_records(ctx) == {
        "idempotency_records": 1,
        "staff_tokens": 1,
        "webhook_events": 1,
        **nothing_else,
    }
    events = await db.scalars(text("SELECT webhook_event_id FROM line_webhook_events ORDER BY 1"))
    assert list(events) == ["recent", "unprocessed"]
    keys = await db.scalars(text("SELECT key FROM idempotency_records"))
    assert list(keys) == ["new"]
    left = await db.scalars(text("SELECT token_hash FROM staff_tokens"))
    assert list(left) == [token_hash("live")]
    assert await purge_expired_records(ctx) == {
        "idempotency_records": 0,
        "staff_tokens": 0,
        "webhook_events": 0,
        **nothing_else,
    }
