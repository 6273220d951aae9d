"""Liveness and readiness."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State
from sqlalchemy import text

from service.edge.dependencies import resources
from service.observability.keys import HEALTH_CHECK_INTERVAL
from service.observability.workers_alive import live_workers


class HealthController(Controller):
    path = "/health"
    tags = ["health"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/", media_type=MediaType.JSON, summary="The process is up")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", media_type=MediaType.JSON, summary="Database and Redis are reachable")
    async def ready(self, state: State) -> Response[dict[str, Any]]:
        res = resources(state)
        checks: dict[str, str] = {}

        async def database() -> None:
            async with res.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        async def redis() -> None:
            await res.redis.ping()

        for name, probe in (("database", database), ("redis", redis)):
            try:
                await asyncio.wait_for(probe(), timeout=2.0)
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"unavailable: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks}
        # Reported, not a reason to take this process out of the load balancer: bookings
        # still work without a worker (the outbox keeps the mail); /health/worker alerts.
        if checks["redis"] == "ok":
            with contextlib.suppress(Exception):
                workers = await asyncio.wait_for(live_workers(res.redis), timeout=2.0)
                body["workers"] = len(workers)
        return Response(body, status_code=200 if ok else 503)

    @get(
        "/worker",
        media_type=MediaType.JSON,
        summary="A worker has polled the job queue recently (its arq heartbeat in Redis)",
    )
    async def worker(self, state: State) -> Response[dict[str, Any]]:
        try:
            workers = await asyncio.wait_for(live_workers(resources(state).redis), timeout=2.0)
        except Exception as exc:
            return Response({"status": "unavailable", "error": type(exc).__name__}, status_code=503)
        ok = bool(workers)
        return Response(
            {
                "status": "ok" if ok else "no_worker",
                "workers": workers,
                "heartbeat_seconds": HEALTH_CHECK_INTERVAL,
            },
            status_code=200 if ok else 503,
        )
