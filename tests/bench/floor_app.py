"""The HTTP floor: a bare Litestar app whose one booking route runs the same SQL transaction
(tests/bench/transaction.py) on a raw asyncpg pool, under the same uvicorn as the product.
Its second route is the minimal floor (tests/bench/minimal.py): a bare two-statement booking
on its own tiny tables, on the same pool.

    BENCH_DSN=postgresql://... BENCH_POOL=32 \
        uvicorn tests.bench.floor_app:create_floor_app --factory
"""

from __future__ import annotations

import os
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from litestar import Litestar, Response, get, post
from litestar.datastructures import State

from tests.bench import minimal, transaction


class Person(msgspec.Struct):
    name: str
    name_kana: str
    phone: str
    email: str | None = None
    age_band: str | None = None
    ward: str | None = None
    heard_from: str | None = None


@post("/api/v1/sessions/{session_id:int}/bookings")
async def create_booking(session_id: int, data: Person, state: State) -> Response[Any]:
    async with state.pool.acquire() as conn:
        try:
            code, status, position = await transaction.book(
                conn, session_id, msgspec.structs.asdict(data)
            )
        except transaction.Refused as refused:
            return Response({"error": refused.code}, status_code=refused.status)
        except Exception:
            traceback.print_exc()
            return Response({"error": "internal_error"}, status_code=500)
    display = f"{code[:4]}-{code[4:8]}-{code[8:]}"
    body = {"code": display, "status": status, "waitlist_position": position}
    return Response(body, status_code=201)


@post("/minimal/sessions/{session_id:int}/bookings")
async def create_minimal_booking(session_id: int, data: Person, state: State) -> Response[Any]:
    async with state.pool.acquire() as conn:
        try:
            booked = await minimal.book(conn, session_id, msgspec.structs.asdict(data))
        except Exception:
            traceback.print_exc()
            return Response({"error": "internal_error"}, status_code=500)
    if not booked:
        return Response({"error": "session_full"}, status_code=409)
    return Response({"status": "confirmed"}, status_code=201)


@get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}


def create_floor_app() -> Litestar:
    @asynccontextmanager
    async def pool(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = await transaction.create_pool(
            os.environ["BENCH_DSN"], int(os.environ.get("BENCH_POOL", "32"))
        )
        try:
            yield
        finally:
            await app.state.pool.close()

    return Litestar([create_booking, create_minimal_booking, ping], lifespan=[pool], debug=False)
