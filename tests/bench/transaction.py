"""The booking transaction of service/domain/bookings/service.py `book()`, over a raw asyncpg
connection: the same SQL statements (the repository's own, compiled once for the driver), the
same branches, no ORM session, no validation, no jobs. What the floors run."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from service.domain.bookings import repository, window
from service.domain.bookings.codes import new_code
from service.domain.privacy import PRIVACY_VERSION
from service.platform.db import DriverStatement

FAST = repository.CONFIRM_SKIP_LOCKED_DRIVER
LOCK = repository.LOCK_GATE_DRIVER
WAITLIST = repository.WAITLIST_DRIVER
QUEUE = repository.QUEUE_DRIVER


class Refused(Exception):
    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


def _gate_error(row: Any) -> str | None:
    return window.refusal(
        event_status=row["event_status"],
        session_status=row["session_status"],
        opens_at=row["opens_at"],
        closes_at=row["closes_at"],
        starts_at=row["starts_at"],
        now=row["now"],
    )


def params_of(session_id: int, person: dict[str, Any]) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "code": new_code(),
        "name": person["name"],
        "name_kana": person["name_kana"],
        "phone": person["phone"].replace("-", ""),
        "email": person.get("email"),
        "age_band": person.get("age_band"),
        "ward": person.get("ward"),
        "heard_from": person.get("heard_from"),
        "channel": "web",
        "staff_id": None,
        # One person, no companions (the product's statement books whole parties).
        "party_size": 1,
        "needs": None,
        "companion_names": [],
        "companion_kanas": [],
        # The product's statement also takes the domain clock's now and an optional key.
        "now": datetime.now(UTC),
        "idem_scope": None,
        "idem_key": None,
        "idem_hash": None,
        # A new person is made with the consent given with the booking (people_01).
        "consent_version": PRIVACY_VERSION,
    }


async def _run(conn: asyncpg.Connection, stmt: DriverStatement, p: dict[str, Any]) -> Any:
    return await conn.fetchrow(stmt.sql, *stmt.args(p))


async def book(
    conn: asyncpg.Connection, session_id: int, person: dict[str, Any]
) -> tuple[str, str, int | None]:
    """(code, status, waitlist position); raises Refused like the service raises Conflict."""
    p = params_of(session_id, person)
    try:
        async with conn.transaction():
            row = await _run(conn, FAST, p)
            if row is None:
                raise Refused(404, "session_not_found")
            if problem := _gate_error(row):
                raise Refused(409, problem)
            if row["duplicate"]:
                raise Refused(409, "already_booked")
            if row["booking_id"] is not None:
                return p["code"], "confirmed", None
            if row["waitlist_count"] >= row["waitlist_limit"]:
                raise Refused(
                    409, "session_full" if row["waitlist_limit"] == 0 else "waitlist_full"
                )
            # The product's QUEUE_SQL step (the floors send no key; the product's undo_fast_path
            # before it, when the first statement tried seats, has no floor version).
            queued = await _run(conn, QUEUE, p)
            if queued["booking_id"] is not None:
                return p["code"], "waitlisted", queued["position"]
            full = repository.WAITLIST_FULL_DRIVER
            if await conn.fetchval(full.sql, *full.args(p)):
                raise Refused(409, "waitlist_full")
            locked = await _run(conn, LOCK, p)
            if problem := _gate_error(locked):
                raise Refused(409, problem)
            if 0 < locked["waitlist_limit"] <= locked["waitlist_count"]:
                raise Refused(409, "waitlist_full")
            if locked["waitlist_count"] == 0:  # no key here: with people waiting, no seat
                row = await _run(conn, FAST, p)  # under the session lock, skipping locked seats
                if row["duplicate"]:
                    raise Refused(409, "already_booked")
                if row["booking_id"] is not None:
                    return p["code"], "confirmed", None
            if locked["waitlist_limit"] == 0:
                raise Refused(409, "session_full")
            joined = await _run(conn, WAITLIST, p)
            if joined["booking_id"] is None:
                raise Refused(409, "waitlist_full")
            return p["code"], "waitlisted", joined["position"]
    except asyncpg.UniqueViolationError:
        raise Refused(409, "already_booked") from None


class NoResetConnection(asyncpg.Connection):
    """The pool's reset query on release is a round trip the product does not make either."""

    def get_reset_query(self) -> str:
        return ""


async def create_pool(dsn: str, size: int) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=size,
        max_size=size,
        connection_class=NoResetConnection,
        server_settings={"timezone": "UTC", "application_name": "bench-floor"},
    )
