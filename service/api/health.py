"""Liveness and readiness."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State
from sqlalchemy import text

from service.dependencies import resources


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
        return Response(
            {"status": "ok" if ok else "unavailable", "checks": checks},
            status_code=200 if ok else 503,
        )
