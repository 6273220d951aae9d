"""Prometheus metrics through Litestar's Prometheus plugin.

The API processes count requests and their latency by route (the plugin's middleware, on when
METRICS_PORT is set). `python -m service serve` runs the metrics app below on METRICS_HOST:
METRICS_PORT, never the public port: it adds the API processes' counts up (prometheus_client's
multiprocess mode, PROMETHEUS_MULTIPROC_DIR) and reads, at each scrape, what the database and
Redis say about the whole deployment: bookings by status, the outbox backlog and its oldest
age, the workers alive and their job runs, failures and time (counted in Redis by every worker,
so any one API host reports them all).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncGenerator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, MediaType, Response, get
from litestar.datastructures import State
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from redis.asyncio import Redis

from service.domain import clock
from service.domain.bookings.repository import BookingRepository
from service.domain.notifications.calls import open_call_counts
from service.domain.notifications.repository import NotificationRepository
from service.observability.keys import JOB_FAILURES, JOB_RUNS, JOB_SECONDS
from service.observability.workers_alive import live_workers
from service.platform.db import make_engine, make_session_factory
from service.platform.settings import Settings, SettingsError, get_settings

PREFIX = "nextwork"


def request_metrics() -> PrometheusConfig:
    """Request count and latency by route template (/api/v1/sessions/{session_id:int}/...,
    not one series per id); health probes and static files left out."""
    return PrometheusConfig(
        app_name=PREFIX,
        prefix=PREFIX,
        group_path=True,
        exclude=[r"^/health", r"^/static"],
        exclude_unhandled_paths=True,
        buckets=[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
    )


@dataclass
class Figures:
    bookings: dict[str, int] = field(default_factory=dict)
    outbox_pending: int = 0
    outbox_oldest_seconds: float = 0.0
    call_tasks_open: int = 0
    call_tasks_due_today: int = 0
    workers_alive: int = 0
    job_runs: dict[str, int] = field(default_factory=dict)
    job_failures: dict[str, int] = field(default_factory=dict)
    job_seconds: dict[str, float] = field(default_factory=dict)
    up: dict[str, bool] = field(default_factory=dict)


def _decoded(raw: dict[Any, Any]) -> dict[str, str]:
    def s(v: Any) -> str:
        return v.decode() if isinstance(v, bytes) else str(v)

    return {s(k): s(v) for k, v in raw.items()}


_JOB_KEYS = (JOB_RUNS, JOB_FAILURES, JOB_SECONDS)


async def _hash(redis: Redis, key: str) -> dict[Any, Any]:
    raw: dict[Any, Any] = await redis.hgetall(key)  # type: ignore[misc]
    return raw


async def read_figures(state: State) -> Figures:
    figures = Figures()
    try:
        async with state.metrics_sessions() as db:
            figures.bookings = await BookingRepository(db).count_by_status()
            pending, oldest = await NotificationRepository(db).outbox_backlog()
            figures.outbox_pending, figures.outbox_oldest_seconds = pending, oldest
            calls = await open_call_counts(db, clock.now())
            figures.call_tasks_open, figures.call_tasks_due_today = calls.total, calls.today
        figures.up["database"] = True
    except Exception:
        figures.up["database"] = False
    redis: Redis = state.metrics_redis
    try:
        figures.workers_alive = len(await live_workers(redis))
        runs, failures, seconds = [_decoded(await _hash(redis, key)) for key in _JOB_KEYS]
        figures.job_runs = {k: int(v) for k, v in runs.items()}
        figures.job_failures = {k: int(v) for k, v in failures.items()}
        figures.job_seconds = {k: float(v) for k, v in seconds.items()}
        figures.up["redis"] = True
    except Exception:
        figures.up["redis"] = False
    return figures


class FiguresCollector(Collector):
    def __init__(self, figures: Figures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        f = self.figures
        up = GaugeMetricFamily(
            f"{PREFIX}_backend_up", "The metrics process reached it", labels=["backend"]
        )
        for name, ok in sorted(f.up.items()):
            up.add_metric([name], 1.0 if ok else 0.0)
        yield up
        if f.up.get("database"):
            bookings = GaugeMetricFamily(
                f"{PREFIX}_bookings", "Bookings by status", labels=["status"]
            )
            for status, n in sorted(f.bookings.items()):
                bookings.add_metric([status], n)
            yield bookings
            yield GaugeMetricFamily(
                f"{PREFIX}_outbox_pending", "Notices not yet mailed", value=f.outbox_pending
            )
            yield GaugeMetricFamily(
                f"{PREFIX}_outbox_oldest_age_seconds",
                "Age of the oldest notice not yet mailed (0 when none)",
                value=f.outbox_oldest_seconds,
            )
            yield GaugeMetricFamily(
                f"{PREFIX}_call_tasks_open",
                "Open call tasks (people to phone: no e-mail, or a mail that failed)",
                value=f.call_tasks_open,
            )
            yield GaugeMetricFamily(
                f"{PREFIX}_call_tasks_due_today",
                "Open call tasks due by the end of today (Tokyo)",
                value=f.call_tasks_due_today,
            )
        if f.up.get("redis"):
            yield GaugeMetricFamily(
                f"{PREFIX}_workers_alive",
                "Workers whose heartbeat key is in Redis",
                value=f.workers_alive,
            )
            for metric, help_text, values in (
                ("job_runs", "Job runs started, by task", f.job_runs),
                ("job_failures", "Job runs that raised, by task", f.job_failures),
                ("job_seconds", "Time spent in job runs, by task", f.job_seconds),
            ):
                family = CounterMetricFamily(f"{PREFIX}_{metric}", help_text, labels=["job"])
                for job, value in sorted(values.items()):
                    family.add_metric([job], float(value))
                yield family


class MetricsController(PrometheusController):
    path = "/metrics"

    @get(media_type=MediaType.TEXT)
    async def get(self, state: State) -> Response[bytes]:  # type: ignore[override]
        registry = CollectorRegistry()
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(FiguresCollector(await read_figures(state)))
        body = await asyncio.to_thread(generate_latest, registry)
        return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_metrics_app(settings: Settings | None = None) -> Litestar:
    if settings is None:
        try:
            settings = get_settings()
        except SettingsError as exc:
            print(f"configuration error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    resolved = settings

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        engine = make_engine(resolved.sqlalchemy_url, 1)
        redis = Redis.from_url(resolved.redis_url)
        app.state.metrics_sessions = make_session_factory(engine)
        app.state.metrics_redis = redis
        try:
            yield
        finally:
            await redis.aclose()
            await engine.dispose()

    return Litestar(route_handlers=[MetricsController], lifespan=[lifespan], debug=False)
