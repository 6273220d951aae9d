"""Sessions for each benchmark case, the people who book them, and the oversell check."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg

from service.devtools.embedded_servers import Postgres, remove_throwaway, throwaway_postgres
from service.platform.migrations import upgrade

_people = itertools.count(1)


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    sessions: int
    capacity: int
    waitlist_limit: int
    attempts: int


@asynccontextmanager
async def migrated_postgres() -> AsyncIterator[tuple[Postgres, str]]:
    """A throwaway embedded PostgreSQL (as `make bench` uses) with a migrated database "bench":
    (the server, the database's URL). Stopped and removed on the way out."""
    pg = throwaway_postgres()
    pg.start()
    try:
        admin = await asyncpg.connect(pg.url)
        await admin.execute("CREATE DATABASE bench")
        await admin.close()
        dsn = f"{pg.url.rsplit('/', 1)[0]}/bench"
        await asyncio.to_thread(upgrade, dsn)
        yield pg, dsn
    finally:
        pg.stop()
        remove_throwaway(pg, None)


async def base_event(conn: asyncpg.Connection) -> tuple[int, int]:
    """(event id, venue id): one published consultation day, shared by every case."""
    org = await conn.fetchval(
        "INSERT INTO organizations (name, kind) VALUES ('ベンチ主催', 'organizer') RETURNING id"
    )
    venue = await conn.fetchval(
        "INSERT INTO venues (name, address, ward, access_notes, barrier_free_notes) "
        "VALUES ('ベンチ会場', '静岡市清水区旭町6-8', 'shimizu', '', '') RETURNING id"
    )
    event = await conn.fetchval(
        "INSERT INTO events (title, description, kind, sector, status, organizer_id, contact, "
        "what_to_bring) VALUES ('ベンチ相談会', '', 'consultation', 'general', 'published', $1, "
        "'', '') RETURNING id",
        org,
    )
    return event, venue


async def make_sessions(
    conn: asyncpg.Connection, event_venue: tuple[int, int], case: Case
) -> list[int]:
    """case.sessions fresh sessions open for booking now, with their seat rows."""
    event, venue = event_venue
    async with conn.transaction():
        ids = [
            r["id"]
            for r in await conn.fetch(
                """
                INSERT INTO sessions (event_id, venue_id, starts_at, ends_at, capacity,
                    waitlist_limit, booking_opens_at, booking_closes_at)
                SELECT $1, $2, now() + interval '14 days', now() + interval '14 days 5 hours',
                       $3, $4, now() - interval '1 day', now() + interval '13 days'
                FROM generate_series(1, $5)
                RETURNING id
                """,
                event,
                venue,
                case.capacity,
                case.waitlist_limit,
                case.sessions,
            )
        ]
        await conn.execute(
            """
            INSERT INTO session_seats (session_id, seat_no)
            SELECT s, n FROM unnest($1::bigint[]) AS s, generate_series(1, $2) AS n
            """,
            ids,
            case.capacity,
        )
    return ids


def person() -> dict[str, Any]:
    """What someone types: hiragana kana and a hyphenated phone number, all different people."""
    n = next(_people)
    return {
        "name": f"静岡 太郎{n}",
        "name_kana": "しずおか たろう",
        "phone": f"090-{n // 10000 % 10000:04d}-{n % 10000:04d}",
        "age_band": "65_69",
        "ward": "shimizu",
        "heard_from": "dm",
    }


@dataclass
class Oversell:
    ok: bool
    confirmed: int
    waitlisted: int
    detail: str = ""


async def check(conn: asyncpg.Connection, session_ids: list[int], booked: int) -> Oversell:
    """No session over capacity, every confirmed booking holding exactly one seat, waiting-list
    positions 1..n, and as many live bookings as 201 answers."""
    rows = await conn.fetch(
        """
        SELECT s.id, s.capacity, s.waitlist_count,
               (SELECT count(*) FROM bookings b WHERE b.session_id = s.id
                AND b.status = 'confirmed') AS confirmed,
               (SELECT count(*) FROM session_seats st WHERE st.session_id = s.id
                AND st.booking_id IS NOT NULL) AS held,
               (SELECT count(*) FROM session_seats st JOIN bookings b ON b.id = st.booking_id
                WHERE st.session_id = s.id AND b.status = 'confirmed'
                AND b.session_id = s.id) AS held_by_confirmed,
               (SELECT coalesce(array_agg(waitlist_position ORDER BY waitlist_position), '{}')
                FROM bookings b WHERE b.session_id = s.id AND b.status = 'waitlisted')
                AS positions
        FROM sessions s WHERE s.id = ANY($1::bigint[])
        """,
        session_ids,
    )
    problems = []
    confirmed = waitlisted = 0
    for r in rows:
        positions = list(r["positions"])
        confirmed += r["confirmed"]
        waitlisted += len(positions)
        if r["confirmed"] > r["capacity"]:
            problems.append(f"session {r['id']}: {r['confirmed']} confirmed > {r['capacity']}")
        if not r["held"] == r["held_by_confirmed"] == r["confirmed"]:
            problems.append(f"session {r['id']}: seats and confirmed bookings differ")
        if positions != list(range(1, len(positions) + 1)) or r["waitlist_count"] != len(positions):
            problems.append(f"session {r['id']}: waiting list positions have gaps")
    if confirmed + waitlisted != booked:
        problems.append(f"{confirmed + waitlisted} live bookings for {booked} answers 201")
    return Oversell(not problems, confirmed, waitlisted, "; ".join(problems[:3]))
