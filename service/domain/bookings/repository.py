"""Every query on bookings, persons and seats.

The booking hot path is one round trip of Core SQL: a free seat is claimed with
FOR UPDATE SKIP LOCKED, so concurrent bookers of a big session never queue behind one row.
Waiting-list changes lock the session row, which keeps positions 1..n without gaps. That lock
is FOR NO KEY UPDATE: inserting a booking takes FOR KEY SHARE on its session (the foreign key),
and a plain FOR UPDATE would deadlock a waiting-list joiner against a booker holding a seat.

SQL here is still text() beside the models (issue 21 point 5 wants Core on the mapped tables).
Three statements are the booking itself and `make bench` runs them on every attempt (the comment
at each names its cases); DIRECT_SQL shares their CTE fragments. Every other statement in this
module is on no benchmark's path: it stays text() only because the booking area was left out of
the conversion this round, not for speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.bookings.idempotency_repository import KeyClaim
from service.domain.bookings.schemas import (
    BookingView,
    CompanionView,
    SessionSummary,
    ValidBooking,
)
from service.domain.privacy import PRIVACY_VERSION
from service.platform.db import DriverStatement, driver_connection, driver_transaction


@dataclass(frozen=True, slots=True)
class SessionGate:
    """What decides whether a session can be booked now."""

    id: int
    session_status: str
    event_status: str
    opens_at: datetime
    closes_at: datetime
    starts_at: datetime
    ends_at: datetime
    now: datetime
    waitlist_count: int
    waitlist_limit: int
    event_id: int
    event_title: str
    event_kind: str
    venue_name: str
    venue_address: str
    ward: str
    max_companions: int
    matching_day: bool

    def summary(self) -> SessionSummary:
        return SessionSummary(
            id=self.id,
            event_id=self.event_id,
            event_title=self.event_title,
            event_kind=self.event_kind,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            venue_name=self.venue_name,
            venue_address=self.venue_address,
            ward=self.ward,
            status=self.session_status,
            matching_day=self.matching_day,
        )


# The person a booking belongs to (service.domain.people): the one with this phone (or second
# phone) and kana (compared without spaces), else a new person with the consent given with the
# booking (the form shows the privacy text). Withdrawn persons have no phone left, so they are
# never matched: booking again makes a new record with a new consent. Kept in the booking's one
# statement so that linking costs no round trip.
PERSON_UPSERT = """
person_alt AS (
    SELECT p.id FROM persons p, {source}
    WHERE p.phone_alt = :phone AND p.kana_key = translate(:name_kana, ' ・', '')
    ORDER BY p.id LIMIT 1
),
person_new AS (
    INSERT INTO persons (name, name_kana, phone, email, age_band, ward, registered_via,
                         consent_privacy, consent_version, consent_agreed_at, contact_by)
    SELECT :name, :name_kana, :phone, CAST(:email AS text), CAST(:age_band AS text),
           CAST(:ward AS text), 'booking', true, :consent_version, now(),
           CASE WHEN CAST(:email AS text) IS NULL THEN CAST('{{phone}}' AS varchar[])
                ELSE CAST('{{mail,phone}}' AS varchar[]) END
    FROM {source} WHERE NOT EXISTS (SELECT 1 FROM person_alt)
    ON CONFLICT (phone, kana_key) DO UPDATE SET
        name = EXCLUDED.name,
        email = COALESCE(EXCLUDED.email, persons.email),
        age_band = COALESCE(EXCLUDED.age_band, persons.age_band),
        ward = COALESCE(EXCLUDED.ward, persons.ward),
        last_active_at = now(),
        updated_at = now()
    RETURNING id
),
person_seen AS (
    UPDATE persons SET last_active_at = now() FROM person_alt
    WHERE persons.id = person_alt.id RETURNING persons.id
),
person AS (SELECT id FROM person_new UNION ALL SELECT id FROM person_seen)"""

_GATE = """
    SELECT se.id, se.status AS session_status, e.status AS event_status,
           se.booking_opens_at AS opens_at, se.booking_closes_at AS closes_at,
           se.starts_at, se.ends_at, CAST(:now AS timestamptz) AS now, se.waitlist_count,
           se.waitlist_limit,
           e.id AS event_id, e.title AS event_title, e.kind AS event_kind,
           v.name AS venue_name, v.address AS venue_address, v.ward, e.max_companions,
           se.matching_day
    FROM sessions se JOIN events e ON e.id = se.event_id JOIN venues v ON v.id = se.venue_id
    WHERE se.id = :session_id
"""

_OPEN = """
    session_status = 'scheduled' AND event_status = 'published'
    AND now >= opens_at AND now < closes_at AND starts_at > now
    AND CAST(:party_size AS int) - 1 <= max_companions
"""

# Companions come as two parallel arrays, unnested in order (position 1..n).
_COMPANIONS = """
    INSERT INTO booking_companions (booking_id, name, name_kana, position)
    SELECT bk.id, c.name, c.kana, c.position
    FROM bk, unnest(CAST(:companion_names AS text[]), CAST(:companion_kanas AS text[]))
         WITH ORDINALITY AS c(name, kana, position)
    RETURNING booking_id
"""

_DUPLICATE = """
    EXISTS (SELECT 1 FROM bookings b WHERE b.session_id = :session_id
            AND b.status IN ('confirmed', 'waitlisted')
            AND (b.phone = :phone OR (CAST(:email AS text) IS NOT NULL
                                      AND lower(b.email) = lower(CAST(:email AS text)))))
"""

# One statement: claim the Idempotency-Key (when there is one), check the gate, refuse
# duplicates, claim a seat for every person of the party (all or none: a party is never split),
# upsert the person, insert the booking and its companions, take the seats, and write the
# outbox notice. Seats go to new bookers only while nobody waits: a seat freed while a party
# waits is held for it (first come, first served). A key held by another transaction makes the
# claim wait for it, as idempotency.claim does; a key already taken books nothing
# (claimed = false: the caller replays the first outcome).
CONFIRM_SQL = f"""
WITH gate AS ({_GATE}),
key_claim AS (
    INSERT INTO idempotency_records (scope, key, request_hash, status_code, response)
    SELECT CAST(:idem_scope AS text), CAST(:idem_key AS text), CAST(:idem_hash AS text), 0,
           CAST('{{}}' AS jsonb)
    WHERE CAST(:idem_key AS text) IS NOT NULL
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING 1
),
keyed AS (
    SELECT CAST(:idem_key AS text) IS NULL OR EXISTS (SELECT 1 FROM key_claim) AS claimed
),
ok AS (
    SELECT id FROM gate, keyed
    WHERE keyed.claimed AND {_OPEN} AND waitlist_count = 0 AND NOT {_DUPLICATE}
),
seat AS (
    SELECT st.id FROM session_seats st JOIN ok ON st.session_id = ok.id
    WHERE st.booking_id IS NULL
    ORDER BY st.seat_no LIMIT CAST(:party_size AS int)
    FOR UPDATE OF st SKIP LOCKED
),
enough AS (SELECT 1 FROM seat HAVING count(*) = CAST(:party_size AS int)),
{PERSON_UPSERT.format(source="enough")},
bk AS (
    INSERT INTO bookings (code, session_id, person_id, status, channel, phone, email, heard_from,
                          confirmed_at, created_by_id, party_size, needs)
    SELECT :code, :session_id, person.id, 'confirmed', :channel, :phone, CAST(:email AS text),
           CAST(:heard_from AS text), now(), CAST(:staff_id AS bigint),
           CAST(:party_size AS int), CAST(:needs AS text)
    FROM person
    RETURNING id, created_at
),
claim AS (
    UPDATE session_seats SET booking_id = bk.id FROM bk, seat
    WHERE session_seats.id = seat.id RETURNING session_seats.id
),
companions AS ({_COMPANIONS}),
notice AS (
    INSERT INTO notifications (booking_id, kind, dedup_key)
    SELECT id, 'booking_confirmed', 'booking_confirmed:' || id FROM bk
    RETURNING id
)
SELECT gate.*, {_DUPLICATE} AS duplicate, (SELECT id FROM bk) AS booking_id,
       (SELECT id FROM notice) AS notification_id, (SELECT claimed FROM keyed) AS claimed
FROM gate
"""

# text(): `make bench` cases (a), (b) and (c) (tests/bench/run.py) run this statement on every
# attempt, as a prepared statement straight on asyncpg (DriverStatement). No Core version of it
# has been measured against it yet.
CONFIRM_SKIP_LOCKED = text(CONFIRM_SQL)
# The hot statement goes straight to asyncpg (service.platform.db.driver_connection), in the same
# transaction as everything else the request does.
CONFIRM_SKIP_LOCKED_DRIVER = DriverStatement.of(CONFIRM_SKIP_LOCKED)
# Staff placing someone directly: into a given seat, or (seat_id NULL) beyond the capacity
# with the override recorded. text(): on no benchmark's path (the desk's and the over-capacity
# booking); it stays text() because it is built from CONFIRM_SQL's fragments (_PERSON_UPSERT,
# _COMPANIONS), which move to Core together or not at all.
DIRECT_SQL = text(f"""
WITH {PERSON_UPSERT.format(source="(SELECT 1) AS one")},
bk AS (
    INSERT INTO bookings (code, session_id, person_id, status, channel, phone, email, heard_from,
                          confirmed_at, created_by_id, capacity_override, party_size, needs)
    SELECT :code, :session_id, person.id, 'confirmed', :channel, :phone, CAST(:email AS text),
           CAST(:heard_from AS text), now(), CAST(:staff_id AS bigint),
           cardinality(CAST(:seat_ids AS bigint[])) < CAST(:party_size AS int),
           CAST(:party_size AS int), CAST(:needs AS text)
    FROM person
    RETURNING id
),
claim AS (
    UPDATE session_seats SET booking_id = bk.id FROM bk
    WHERE session_seats.id = ANY(CAST(:seat_ids AS bigint[])) RETURNING session_seats.id
),
companions AS ({_COMPANIONS}),
notice AS (
    INSERT INTO notifications (booking_id, kind, dedup_key)
    SELECT id, 'booking_confirmed', 'booking_confirmed:' || id FROM bk
    RETURNING id
)
SELECT (SELECT id FROM bk) AS booking_id, (SELECT id FROM notice) AS notification_id
""")

# text(): `make bench` cases (a) and (c) (tests/bench/run.py, the rush and the job fair) run this
# for every late comer once the seats are gone (the spread, (b), never fills a session); on
# asyncpg as a prepared statement (WAITLIST_DRIVER). No Core version has been measured yet.
WAITLIST_SQL = text(f"""
WITH slot AS (
    UPDATE sessions SET waitlist_count = waitlist_count + 1
    WHERE id = :session_id AND waitlist_count < waitlist_limit
    RETURNING waitlist_count AS position
),
{PERSON_UPSERT.format(source="slot")},
bk AS (
    INSERT INTO bookings (code, session_id, person_id, status, waitlist_position, channel, phone,
                          email, heard_from, waitlisted_at, created_by_id, party_size, needs)
    SELECT :code, :session_id, person.id, 'waitlisted', slot.position, :channel, :phone,
           CAST(:email AS text), CAST(:heard_from AS text), now(), CAST(:staff_id AS bigint),
           CAST(:party_size AS int), CAST(:needs AS text)
    FROM person, slot
    RETURNING id
),
companions AS ({_COMPANIONS}),
notice AS (
    INSERT INTO notifications (booking_id, kind, dedup_key)
    SELECT id, 'booking_waitlisted', 'booking_waitlisted:' || id FROM bk
    RETURNING id
)
SELECT (SELECT id FROM bk) AS booking_id, (SELECT id FROM notice) AS notification_id
""")

# The rest of a booking's way (the session lock, the waiting list) on the driver too: a rush
# takes it for every late comer while the waiting list fills.
WAITLIST_DRIVER = DriverStatement.of(WAITLIST_SQL)
# text(): `make bench` cases (a) and (c) take this session lock for every attempt that finds no
# free seat on the fast path (tests/bench/run.py); the gate is CONFIRM_SQL's own _GATE.
LOCK_GATE_DRIVER = DriverStatement.of(text(_GATE + " FOR NO KEY UPDATE OF se"))

# From here on, text() on no benchmark's path (see the module docstring): not yet converted.
_VIEW = """
    SELECT b.id, b.code, b.status, b.waitlist_position, b.channel,
           coalesce(p.name, '（削除済み）') AS name, coalesce(p.name_kana, '') AS name_kana,
           b.phone,
           b.email, b.created_at, b.confirmed_at, b.waitlisted_at, b.cancelled_at,
           b.cancel_reason, b.checked_in_at, b.no_show_at, b.capacity_override,
           b.party_size, b.needs, se.id AS session_id, e.id AS event_id,
           e.title AS event_title, e.kind AS event_kind,
           se.starts_at, se.ends_at, v.name AS venue_name, v.address AS venue_address,
           v.ward, se.status AS session_status, se.is_online, se.join_url, se.join_instructions,
           se.matching_day
    FROM bookings b
    LEFT JOIN persons p ON p.id = b.person_id
    JOIN sessions se ON se.id = b.session_id
    JOIN events e ON e.id = se.event_id
    JOIN venues v ON v.id = se.venue_id
"""


def _params(
    session_id: int, code: str, data: ValidBooking, channel: str, staff_id: int | None
) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "code": code,
        "name": data.name,
        "name_kana": data.name_kana,
        "phone": data.phone,
        "email": data.email,
        "age_band": data.age_band,
        "ward": data.ward,
        "heard_from": data.heard_from,
        "channel": channel,
        "staff_id": staff_id,
        "party_size": data.party_size,
        "needs": data.needs,
        "companion_names": [c.name for c in data.companions],
        "companion_kanas": [c.name_kana for c in data.companions],
        "now": clock.now(),
        "consent_version": PRIVACY_VERSION,
    }


def _view(row: Any, companions: tuple[CompanionView, ...]) -> BookingView:
    m = row._mapping
    return BookingView(
        id=m["id"],
        code=m["code"],
        status=m["status"],
        waitlist_position=m["waitlist_position"],
        channel=m["channel"],
        name=m["name"],
        name_kana=m["name_kana"],
        phone=m["phone"],
        email=m["email"],
        created_at=m["created_at"],
        confirmed_at=m["confirmed_at"],
        waitlisted_at=m["waitlisted_at"],
        cancelled_at=m["cancelled_at"],
        cancel_reason=m["cancel_reason"],
        checked_in_at=m["checked_in_at"],
        no_show_at=m["no_show_at"],
        capacity_override=m["capacity_override"],
        session=SessionSummary(
            id=m["session_id"],
            event_id=m["event_id"],
            event_title=m["event_title"],
            event_kind=m["event_kind"],
            starts_at=m["starts_at"],
            ends_at=m["ends_at"],
            venue_name=m["venue_name"],
            venue_address=m["venue_address"],
            ward=m["ward"],
            status=m["session_status"],
            is_online=m["is_online"],
            join_url=m["join_url"],
            join_instructions=m["join_instructions"],
            matching_day=m["matching_day"],
        ),
        party_size=m["party_size"],
        needs=m["needs"],
        companions=companions,
    )


@dataclass(frozen=True, slots=True)
class ConfirmOutcome:
    gate: SessionGate | None
    duplicate: bool
    booking_id: int | None
    notification_id: int | None
    # False when the Idempotency-Key given was already taken (nothing was booked).
    claimed: bool = True


@dataclass(frozen=True, slots=True)
class LockedBooking:
    id: int
    session_id: int
    status: str
    waitlist_position: int | None
    party_size: int
    checked_in_at: datetime | None
    starts_at: datetime
    now: datetime


class BookingRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self._fresh = False

    async def try_confirm(
        self,
        session_id: int,
        code: str,
        data: ValidBooking,
        channel: str,
        staff_id: int | None,
        key: KeyClaim | None = None,
    ) -> ConfirmOutcome:
        """Claims a free seat nobody else is claiming (SKIP LOCKED: never waits on a seat), and
        the Idempotency-Key in the same statement when one is given."""
        conn = await driver_connection(self.db)
        stmt = CONFIRM_SKIP_LOCKED_DRIVER
        params = _params(session_id, code, data, channel, staff_id)
        params["idem_scope"] = key.scope if key else None
        params["idem_key"] = key.key if key else None
        params["idem_hash"] = key.request_hash if key else None
        m = await conn.fetchrow(stmt.sql, *stmt.args(params))
        if m is None:
            return ConfirmOutcome(None, False, None, None)
        gate = SessionGate(**{k: m[k] for k in SessionGate.__slots__})
        return ConfirmOutcome(
            gate, bool(m["duplicate"]), m["booking_id"], m["notification_id"], bool(m["claimed"])
        )

    async def mark_fast_path(self) -> None:
        """A savepoint before the one-statement path, so that a booker who goes on to wait for
        the session row can first drop the seat locks that statement may have left. When the
        booking is the first thing its transaction does (the public API and pages), no savepoint
        is needed: going back means going back to the start (undo_fast_path), which saves a
        round trip on every booking."""
        conn, self._fresh = await driver_transaction(self.db)
        if not self._fresh:
            await conn.execute("SAVEPOINT booking_fast_path")

    async def undo_fast_path(self) -> None:
        """Back to the savepoint: the statement wrote nothing (no seat was claimed), but a seat it
        locked and found taken on recheck stays locked until then. Waiting for the session row
        while holding that lock deadlocks against a cancel that holds the session row and frees
        that very seat. A transaction that had done nothing else starts over instead, in one
        round trip (the same as going back to a savepoint at its start)."""
        conn = await driver_connection(self.db)
        if self._fresh:
            await conn.execute("ROLLBACK; BEGIN")
        else:
            await conn.execute("ROLLBACK TO SAVEPOINT booking_fast_path")

    async def lock_session(self, session_id: int) -> SessionGate | None:
        conn = await driver_connection(self.db)
        stmt = LOCK_GATE_DRIVER
        row = await conn.fetchrow(
            stmt.sql, *stmt.args({"session_id": session_id, "now": clock.now()})
        )
        if row is None:
            return None
        return SessionGate(**{k: row[k] for k in SessionGate.__slots__})

    async def join_waitlist(
        self, session_id: int, code: str, data: ValidBooking, channel: str, staff_id: int | None
    ) -> tuple[int, int] | None:
        conn = await driver_connection(self.db)
        stmt = WAITLIST_DRIVER
        row = await conn.fetchrow(
            stmt.sql, *stmt.args(_params(session_id, code, data, channel, staff_id))
        )
        if row is None or row["booking_id"] is None:
            return None
        return int(row["booking_id"]), int(row["notification_id"])

    async def confirm_directly(
        self,
        session_id: int,
        code: str,
        data: ValidBooking,
        channel: str,
        staff_id: int | None,
        *,
        seat_ids: list[int],
    ) -> tuple[int, int]:
        """Confirms into seat_ids (locked by the caller, e.g. free_seats), one per person; with
        fewer seats than people (none: seat_ids empty) as a recorded capacity override."""
        params = {**_params(session_id, code, data, channel, staff_id), "seat_ids": seat_ids}
        row = (await self.db.execute(DIRECT_SQL, params)).one()
        return int(row.booking_id), int(row.notification_id)

    async def view(self, booking_id: int) -> BookingView | None:
        row = (await self.db.execute(text(_VIEW + " WHERE b.id = :id"), {"id": booking_id})).first()
        return _view(row, await self.companions(row.id)) if row else None

    async def view_by_code(self, code: str) -> BookingView | None:
        row = (await self.db.execute(text(_VIEW + " WHERE b.code = :code"), {"code": code})).first()
        return _view(row, await self.companions(row.id)) if row else None

    async def companions(self, booking_id: int) -> tuple[CompanionView, ...]:
        rows = await self.db.execute(
            text("""
            SELECT position, name, name_kana, cancelled_at FROM booking_companions
            WHERE booking_id = :id ORDER BY position
        """),
            {"id": booking_id},
        )
        return tuple(CompanionView(**r._mapping) for r in rows)

    async def cancel_companion(self, booking_id: int, position: int) -> bool:
        """Marks one live companion cancelled and shrinks the party; False if there is none."""
        done = await self.db.scalar(
            text("""
            WITH c AS (
                UPDATE booking_companions SET cancelled_at = now()
                WHERE booking_id = :id AND position = :pos AND cancelled_at IS NULL
                RETURNING booking_id
            )
            UPDATE bookings SET party_size = party_size - 1 FROM c
            WHERE bookings.id = c.booking_id RETURNING bookings.id
        """),
            {"id": booking_id, "pos": position},
        )
        return done is not None

    async def release_one_seat(self, booking_id: int) -> int | None:
        """The party's highest-numbered seat goes back (a companion no longer comes)."""
        value = await self.db.scalar(
            text("""
            UPDATE session_seats SET booking_id = NULL WHERE id = (
                SELECT id FROM session_seats WHERE booking_id = :id
                ORDER BY seat_no DESC LIMIT 1)
            RETURNING id
        """),
            {"id": booking_id},
        )
        return int(value) if value is not None else None

    async def session_of(self, booking_id: int) -> int | None:
        value = await self.db.scalar(
            text("SELECT session_id FROM bookings WHERE id = :id"), {"id": booking_id}
        )
        return int(value) if value is not None else None

    async def lock_booking(self, booking_id: int) -> LockedBooking | None:
        row = (
            await self.db.execute(
                text("""
            SELECT b.id, b.session_id, b.status, b.waitlist_position, b.party_size,
                   b.checked_in_at, se.starts_at, CAST(:now AS timestamptz) AS now
            FROM bookings b JOIN sessions se ON se.id = b.session_id
            WHERE b.id = :id FOR UPDATE OF b
        """),
                {"id": booking_id, "now": clock.now()},
            )
        ).first()
        return LockedBooking(**row._mapping) if row else None

    async def mark_cancelled(
        self, booking_id: int, reason: str | None, staff_id: int | None
    ) -> None:
        await self.db.execute(
            text("""
            UPDATE bookings SET status = 'cancelled', waitlist_position = NULL,
                   cancelled_at = now(), cancel_reason = :reason, cancelled_by_id = :staff_id
            WHERE id = :id
        """),
            {"id": booking_id, "reason": reason, "staff_id": staff_id},
        )

    async def release_seats(self, booking_id: int) -> int:
        """Every seat of the party goes back; returns how many."""
        rows = await self.db.scalars(
            text("UPDATE session_seats SET booking_id = NULL WHERE booking_id = :id RETURNING id"),
            {"id": booking_id},
        )
        return len(list(rows))

    async def close_waitlist_gap(self, session_id: int, position: int) -> None:
        """Everyone behind `position` moves up one. Two steps through negative numbers, because
        the unique index on positions is checked row by row."""
        await self.db.execute(
            text("""
            UPDATE bookings SET waitlist_position = -(waitlist_position - 1)
            WHERE session_id = :sid AND status = 'waitlisted' AND waitlist_position > :pos
        """),
            {"sid": session_id, "pos": position},
        )
        await self.db.execute(
            text("""
            UPDATE bookings SET waitlist_position = -waitlist_position
            WHERE session_id = :sid AND status = 'waitlisted' AND waitlist_position < 0
        """),
            {"sid": session_id},
        )
        await self.db.execute(
            text("UPDATE sessions SET waitlist_count = waitlist_count - 1 WHERE id = :sid"),
            {"sid": session_id},
        )

    async def first_waitlisted(self, session_id: int) -> tuple[int, int] | None:
        """(booking id, party size) of the first party on the waiting list."""
        row = (
            await self.db.execute(
                text("""
            SELECT id, party_size FROM bookings WHERE session_id = :sid AND status = 'waitlisted'
            ORDER BY waitlist_position LIMIT 1 FOR UPDATE
        """),
                {"sid": session_id},
            )
        ).first()
        return (int(row.id), int(row.party_size)) if row is not None else None

    async def free_seats(self, session_id: int, count: int) -> list[int] | None:
        """`count` free seats for a party, all or none (None). SKIP LOCKED: a seat locked by a
        booker is being taken, and waiting for it under the session lock could deadlock
        against that booker."""
        rows = await self.db.scalars(
            text("""
            SELECT id FROM session_seats WHERE session_id = :sid AND booking_id IS NULL
            ORDER BY seat_no LIMIT :n FOR UPDATE SKIP LOCKED
        """),
            {"sid": session_id, "n": count},
        )
        seats = [int(r) for r in rows]
        return seats if len(seats) == count else None

    async def confirm_waitlisted(
        self, booking_id: int, seat_ids: list[int], *, override: bool = False
    ) -> None:
        await self.db.execute(
            text("""
            UPDATE bookings SET status = 'confirmed', waitlist_position = NULL,
                   confirmed_at = now(), capacity_override = :override,
                   -- The promotion mail's .ics (CONFIRMED) replaces the TENTATIVE one.
                   calendar_sequence_offset = calendar_sequence_offset + 1
            WHERE id = :id
        """),
            {"id": booking_id, "override": override},
        )
        if seat_ids:
            await self.db.execute(
                text("UPDATE session_seats SET booking_id = :bid WHERE id = ANY(:seats)"),
                {"bid": booking_id, "seats": seat_ids},
            )

    async def add_notice(self, booking_id: int, kind: str, dedup_key: str) -> int | None:
        value = await self.db.scalar(
            text("""
            INSERT INTO notifications (booking_id, kind, dedup_key) VALUES (:bid, :kind, :key)
            ON CONFLICT (dedup_key) DO NOTHING RETURNING id
        """),
            {"bid": booking_id, "kind": kind, "key": dedup_key},
        )
        return int(value) if value is not None else None

    async def waitlist_count(self, session_id: int) -> int:
        value = await self.db.scalar(
            text("SELECT waitlist_count FROM sessions WHERE id = :sid"), {"sid": session_id}
        )
        return int(value or 0)

    async def seat_counts(self, session_id: int) -> tuple[int, int, int]:
        """(seats, free seats, confirmed bookings holding a seat)."""
        row = (
            await self.db.execute(
                text("""
            SELECT count(*) AS seats, count(*) FILTER (WHERE booking_id IS NULL) AS free
            FROM session_seats WHERE session_id = :sid
        """),
                {"sid": session_id},
            )
        ).one()
        return int(row.seats), int(row.free), int(row.seats - row.free)

    async def remove_free_seats(self, session_id: int, keep: int) -> None:
        """Delete the highest-numbered free seats until `keep` seats remain."""
        await self.db.execute(
            text("""
            DELETE FROM session_seats WHERE id IN (
                SELECT id FROM session_seats WHERE session_id = :sid AND booking_id IS NULL
                ORDER BY seat_no DESC
                LIMIT GREATEST((SELECT count(*) FROM session_seats WHERE session_id = :sid)
                               - :keep, 0))
        """),
            {"sid": session_id, "keep": keep},
        )

    async def set_capacity(self, session_id: int, capacity: int) -> None:
        await self.db.execute(
            text("UPDATE sessions SET capacity = :c WHERE id = :sid"),
            {"c": capacity, "sid": session_id},
        )

    async def sessions_needing_promotion(self, limit: int) -> list[int]:
        """Upcoming live sessions holding a free seat while people wait: normally none, since a
        cancellation promotes in its own transaction (a claim that rolled back leaves one)."""
        rows = await self.db.scalars(
            text("""
            SELECT se.id FROM sessions se
            WHERE se.status = 'scheduled' AND se.waitlist_count > 0 AND se.starts_at > now()
              AND EXISTS (SELECT 1 FROM session_seats st
                          WHERE st.session_id = se.id AND st.booking_id IS NULL)
            ORDER BY se.starts_at, se.id
            LIMIT :limit
        """),
            {"limit": limit},
        )
        return [int(r) for r in rows]

    async def add_seats(self, session_id: int, first_seat: int, last_seat: int) -> None:
        """Seat rows first_seat..last_seat for a session (none when last < first)."""
        if last_seat < first_seat:
            return
        await self.db.execute(
            text(
                "INSERT INTO session_seats (session_id, seat_no) "
                "SELECT :sid, n FROM generate_series(CAST(:a AS int), CAST(:b AS int)) AS n"
            ),
            {"sid": session_id, "a": first_seat, "b": last_seat},
        )

    async def max_seat_no(self, session_id: int) -> int:
        value = await self.db.scalar(
            text("SELECT coalesce(max(seat_no), 0) FROM session_seats WHERE session_id = :sid"),
            {"sid": session_id},
        )
        return int(value or 0)

    async def count_by_status(self) -> dict[str, int]:
        """Every booking, counted by status (the operators' metrics)."""
        rows = await self.db.execute(
            text("SELECT status, count(*) AS n FROM bookings GROUP BY status")
        )
        return {str(r.status): int(r.n) for r in rows}
