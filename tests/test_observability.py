"""Worker heartbeats in readiness, request ids carried into jobs, job counts, the dispatcher's
drain at shutdown, and the metrics app's figures (against real PostgreSQL and Redis)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
import structlog
from arq.connections import RedisSettings
from arq.worker import Worker
from httpx import AsyncClient
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncSession

from service.edge.server import api_command, metrics_command
from service.observability.keys import (
    HEALTH_CHECK_INTERVAL,
    JOB_FAILURES,
    JOB_RUNS,
    QUEUE,
    worker_health_key,
)
from service.observability.metrics import create_metrics_app
from service.platform.jobs import Job, JobDispatcher
from service.platform.settings import Settings, SettingsError, load_settings
from tests.factories import make_session
from tests.mail_support import arq_pool
from workers.context import close_context, open_context
from workers.observed import observed
from workers.schedule import FUNCTIONS

BOOKER = {"name": "静岡 太郎", "name_kana": "しずおかたろう", "phone": "09011112222"}


async def _wait_for(client: AsyncClient, status: int) -> dict[str, Any]:
    for _ in range(100):
        r = await client.get("/health/worker")
        if r.status_code == status:
            body: dict[str, Any] = r.json()
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"/health/worker never answered {status}: {r.text}")


async def test_health_worker_knows_whether_a_worker_is_polling(
    client: AsyncClient, settings: Settings
) -> None:
    body = await _wait_for(client, 503)
    assert body["status"] == "no_worker" and body["workers"] == []

    async def startup(ctx: dict[str, Any]) -> None:
        await open_context(ctx, settings)

    worker = Worker(
        functions=FUNCTIONS,
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        queue_name=QUEUE,
        health_check_interval=HEALTH_CHECK_INTERVAL,
        health_check_key=worker_health_key("test-worker"),
        handle_signals=False,
        poll_delay=0.05,
        on_startup=startup,
        on_shutdown=close_context,
    )
    running = asyncio.create_task(worker.async_run())
    try:
        body = await _wait_for(client, 200)
        assert body["workers"] == ["test-worker"]
        ready = (await client.get("/health/ready")).json()
        assert ready["status"] == "ok" and ready["workers"] == 1
    finally:
        await worker.close()
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    # A worker that stops takes its heartbeat with it; readiness itself stays 200 (bookings
    # still work; the outbox keeps the mail) and says so.
    await _wait_for(client, 503)
    ready = await client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["workers"] == 0


async def test_the_request_id_goes_with_the_job_it_causes(
    app: Litestar, client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    sid = (await make_session(db)).id
    r = await client.post(
        f"/api/v1/sessions/{sid}/bookings", json=BOOKER, headers={"X-Request-ID": "req-abc-1"}
    )
    assert r.status_code == 201
    await app.state.resources.jobs.flush()
    async with arq_pool(settings) as redis:
        (job,) = await redis.queued_jobs(queue_name=QUEUE)
    assert job.function == "send_notification"
    assert job.kwargs == {"request_id": "req-abc-1"}


async def test_a_job_logs_under_its_request_id_and_is_counted(settings: Settings) -> None:
    async def seen_request_id(ctx: dict[str, Any], n: int) -> str:
        return f"{structlog.contextvars.get_contextvars().get('request_id')}:{n}"

    async def breaks(ctx: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    async with arq_pool(settings) as redis:
        ctx = {"redis": redis, "job_id": "j1", "job_try": 1}
        assert await observed(seen_request_id)(ctx, 7, request_id="req-9") == "req-9:7"
        assert await observed(seen_request_id)(ctx, 8) == "None:8"
        with pytest.raises(RuntimeError):
            await observed(breaks)(ctx)
        runs = await redis.hgetall(JOB_RUNS)  # type: ignore[misc]
        failures = await redis.hgetall(JOB_FAILURES)  # type: ignore[misc]
    name = seen_request_id.__qualname__
    assert runs[name.encode()] == b"2" and failures.get(name.encode()) is None
    assert failures[breaks.__qualname__.encode()] == b"1"
    # Outside a job nothing stays bound.
    assert "request_id" not in structlog.contextvars.get_contextvars()


async def test_the_dispatcher_sends_everything_pending_when_closed(settings: Settings) -> None:
    async with arq_pool(settings) as redis:
        dispatcher = JobDispatcher(redis, pause=5.0)
        dispatcher.start()
        dispatcher.submit([Job("send_notification", "notify:1", (1,))])
        await asyncio.sleep(0.05)  # the first batch went; the dispatcher now waits 5 s
        dispatcher.submit([Job("something_else", f"x:{i}") for i in range(10)])
        await dispatcher.close()
        queued = await redis.queued_jobs(queue_name=QUEUE)
    assert sorted(j.job_id or "" for j in queued) == sorted(
        ["notify:1", *(f"x:{i}" for i in range(10))]
    )


async def test_metrics_app_reports_bookings_outbox_and_workers(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    sid = (await make_session(db, capacity=1, waitlist_limit=5)).id
    for phone in ("09011112222", "09033334444"):
        r = await client.post(f"/api/v1/sessions/{sid}/bookings", json={**BOOKER, "phone": phone})
        assert r.status_code == 201
    # One call task due now and one next week, both open; one already done.
    booking_id = (await db.execute(sql("SELECT min(id) FROM bookings"))).scalar_one()
    for due, state, closed in (
        ("now()", "open", "NULL"),
        ("now() + interval '7 days'", "open", "NULL"),
        ("now()", "done", "now()"),
    ):
        await db.execute(
            sql(
                "INSERT INTO call_tasks (booking_id, kind, reason, script, due_at, state,"
                f" closed_at) VALUES (:b, 'promoted', 'no_email', 'x', {due}, :s, {closed})"
            ),
            {"b": booking_id, "s": state},
        )
    await db.commit()
    async with AsyncTestClient(app=create_metrics_app(settings)) as metrics:
        text = (await metrics.get("/metrics")).text
    assert "nextwork_call_tasks_open 2.0" in text
    assert "nextwork_call_tasks_due_today 1.0" in text
    assert 'nextwork_bookings{status="confirmed"} 1.0' in text
    assert 'nextwork_bookings{status="waitlisted"} 1.0' in text
    assert "nextwork_outbox_pending 2.0" in text
    assert "nextwork_outbox_oldest_age_seconds" in text
    assert "nextwork_workers_alive 0.0" in text
    assert 'nextwork_backend_up{backend="database"} 1.0' in text


async def test_metrics_app_says_which_backend_is_down(settings: Settings) -> None:
    down = dataclasses.replace(settings, redis_url="redis://127.0.0.1:1/0")
    async with AsyncTestClient(app=create_metrics_app(down)) as metrics:
        text = (await metrics.get("/metrics")).text
    assert 'nextwork_backend_up{backend="redis"} 0.0' in text
    assert 'nextwork_backend_up{backend="database"} 1.0' in text
    assert "nextwork_workers_alive" not in text


def _env(**extra: str) -> dict[str, str]:
    return {
        "APP_ENV": "test",
        "DATABASE_URL": "postgresql://u@h/d",
        "REDIS_URL": "redis://h:6379/0",
        **extra,
    }


def test_serve_runs_the_configured_processes_behind_the_trusted_proxy() -> None:
    s = load_settings(
        _env(API_WORKERS="4", FORWARDED_ALLOW_IPS="10.0.0.5", GRACEFUL_TIMEOUT="12", PORT="8080")
    )
    command = " ".join(api_command(s, "python"))
    assert "--workers 4" in command and "--port 8080" in command
    assert "--proxy-headers --forwarded-allow-ips 10.0.0.5" in command
    assert "--timeout-graceful-shutdown 12" in command
    assert load_settings(_env()).metrics_port == 0, "metrics are off unless asked for"
    m = load_settings(_env(METRICS_PORT="9100"))
    assert " ".join(metrics_command(m, "python")).endswith(
        "--host 127.0.0.1 --port 9100 --no-access-log --no-server-header"
    )


@pytest.mark.parametrize(
    ("extra", "name"),
    [
        ({"API_WORKERS": "0"}, "API_WORKERS"),
        ({"METRICS_PORT": "8000", "PORT": "8000"}, "METRICS_PORT"),
        ({"GRACEFUL_TIMEOUT": "soon"}, "GRACEFUL_TIMEOUT"),
    ],
)
def test_serve_settings_name_the_bad_variable(extra: dict[str, str], name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings(_env(**extra))


async def test_every_request_logs_one_json_line_with_its_id(
    app: Litestar, client: AsyncClient
) -> None:
    """The request line (service.platform.logging.RequestLog): the keys structlog's lines have, the
    id the response carries, and nothing at all when LOG_LEVEL is above INFO."""
    import io
    import json

    from service.platform.logging import configure_logging, request_log

    configure_logging("INFO")
    request_log.out = out = io.BytesIO()
    try:
        r = await client.get("/health", headers={"X-Request-Id": "line-check-1"})
        assert r.headers["x-request-id"] == "line-check-1"
        line = json.loads(out.getvalue().decode().splitlines()[-1])
        assert {
            k: line[k] for k in ("event", "request_id", "method", "path", "status", "level")
        } == {
            "event": "request",
            "request_id": "line-check-1",
            "method": "GET",
            "path": "/health",
            "status": 200,
            "level": "info",
        }
        assert isinstance(line["ms"], float) and line["timestamp"].endswith("Z")
        configure_logging("WARNING")
        request_log.out = quiet = io.BytesIO()
        await client.get("/health")
        assert quiet.getvalue() == b""
    finally:
        configure_logging("WARNING")
