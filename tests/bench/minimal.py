"""The minimal floor: a bare two-statement booking on its own tiny tables.

    UPDATE minimal.sessions SET booked = booked + 1 WHERE id = $1 AND booked < capacity
        RETURNING id
    INSERT INTO minimal.bookings (session_id, name, phone) VALUES ($1, $2, $3)

in one transaction on a raw asyncpg connection: no waiting list, no duplicate check, no party,
no idempotency key, no outbox, no person record. What any booking has to do at least (claim a
place, write who took it, commit), beside which `make bench` prints the product's ratio. A
case's waiting list counts as places here (capacity + waiting list), so that the minimal floor
books as many people as the product and refuses the rest.
"""

from __future__ import annotations

from typing import Any

import asyncpg

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS minimal;
CREATE TABLE IF NOT EXISTS minimal.sessions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    capacity integer NOT NULL,
    booked integer NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS minimal.bookings (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id bigint NOT NULL,
    name text NOT NULL,
    phone text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
"""

CLAIM = (
    "UPDATE minimal.sessions SET booked = booked + 1 WHERE id = $1 AND booked < capacity "
    "RETURNING id"
)
INSERT = "INSERT INTO minimal.bookings (session_id, name, phone) VALUES ($1, $2, $3)"


async def create_tables(conn: asyncpg.Connection) -> None:
    await conn.execute(SCHEMA)


async def make_sessions(conn: asyncpg.Connection, count: int, places: int) -> list[int]:
    rows = await conn.fetch(
        "INSERT INTO minimal.sessions (capacity) SELECT $1 FROM generate_series(1, $2) "
        "RETURNING id",
        places,
        count,
    )
    return [r["id"] for r in rows]


async def book(conn: asyncpg.Connection, session_id: int, person: dict[str, Any]) -> bool:
    """True when booked, False when the session is full."""
    async with conn.transaction():
        if await conn.fetchval(CLAIM, session_id) is None:
            return False
        await conn.execute(INSERT, session_id, person["name"], person["phone"])
    return True


async def check(conn: asyncpg.Connection, session_ids: list[int], booked: int) -> str | None:
    """None when no session is over its places and every 201 is one booking row."""
    row = await conn.fetchrow(
        """
        SELECT count(*) FILTER (WHERE s.booked > s.capacity) AS over,
               count(*) FILTER (WHERE s.booked <> (SELECT count(*) FROM minimal.bookings b
                                                   WHERE b.session_id = s.id)) AS differ,
               coalesce(sum(s.booked), 0) AS total
        FROM minimal.sessions s WHERE s.id = ANY($1::bigint[])
        """,
        session_ids,
    )
    if row["over"] or row["differ"] or row["total"] != booked:
        return f"{row['over']} over capacity, {row['differ']} differ, {row['total']} for {booked}"
    return None
