"""Every query on bookings, persons and seats.

The booking hot path is one round trip of SQL: a free seat is claimed with
FOR UPDATE SKIP LOCKED, so concurrent bookers of a big session never queue behind one row.
Waiting-list changes lock the session row, which keeps positions 1..n without gaps. That lock
is FOR NO KEY UPDATE: inserting a booking takes FOR KEY SHARE on its session (the foreign key),
and a plain FOR UPDATE would deadlock a waiting-list joiner against a booker holding a seat.

What stays text() (issue 21 point 5 wants Core on the mapped tables), and why: the booking's
own statements, CONFIRM_SQL (the seat), LOCK_GATE_DRIVER (the session lock) and WAITLIST_SQL,
which `make bench` (tests/bench/run.py, cases (a), (b), (c)) runs on every attempt, in the
product and in its floors (tests/bench/transaction.py compiles the same clauses), as prepared
statements straight on asyncpg (DriverStatement); no Core version of them has been measured.
The comment at each names its cases. DIRECT_SQL (the desk's and the over-capacity booking, on
no benchmark's path) and changes_repository's _DETAILS stay text() only because they are built
from the same fragments (PERSON_UPSERT, the person rule, and _COMPANIONS): the rule has one
definition, which moves to Core with the benchmarked statements or not at all.

Every other statement (the booking view, cancels, promotions, seats, capacity, counts) is
SQLAlchemy Core on the mapped Booking and BookingCompanion, and on the table() columns below for
the tables of areas above this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    String,
    Text,
    any_,
    bindparam,
    column,
    delete,
    exists,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnClause

from service.domain import clock
from service.domain.bookings.idempotency_repository import KeyClaim
from service.domain.bookings.models import Booking, BookingCompanion
from service.domain.bookings.schemas import (
    BookingView,
    CompanionView,
    SessionSummary,
    ValidBooking,
)
from service.domain.outbox_repository import NOTICE_INSERT
from service.domain.privacy import PRIVACY_VERSION
from service.platform.db import DriverStatement, driver_connection, driver_transaction

# The models of persons, sessions, events, venues and seats live in areas above this one
# (.importlinter: bookings is the bottom layer): only the columns used here and in
# changes_repository.py are named (tests/test_layers.py checks them against the models).
persons = table(
    "persons",
    column("id", BigInteger),
    column("name", String),
    column("name_kana", String),
    column("age_band", String),
    column("ward", String),
    column("updated_at", DateTime(timezone=True)),
)
sessions = table(
    "sessions",
    column("id", BigInteger),
    column("event_id", BigInteger),
    column("venue_id", BigInteger),
    column("status", String),
    column("starts_at", DateTime(timezone=True)),
    column("ends_at", DateTime(timezone=True)),
    column("capacity", Integer),
    column("waitlist_count", Integer),
    column("waitlist_limit", Integer),
    column("revision", Integer),
    column("is_online", Boolean),
    column("join_url", String),
    column("join_instructions", Text),
    column("matching_day", Boolean),
)
events = table(
    "events",
    column("id", BigInteger),
    column("title", String),
    column("kind", String),
)
venues = table(
    "venues",
    column("id", BigInteger),
    column("name", String),
    column("address", String),
    column("ward", String),
)
session_seats = table(
    "session_seats",
    column("id", BigInteger),
    column("session_id", BigInteger),
    column("seat_no", Integer),
    column("booking_id", BigInteger),
)


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


# From here to LOCK_GATE_DRIVER, text(): the statements `make bench` runs on every booking
# attempt and the fragments they are built from (PERSON_UPSERT, _GATE, _OPEN, _COMPANIONS,
# _DUPLICATE); see the module docstring and the comment at each statement.

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
# Staff placing someone directly: into the given seats, or (fewer seats than people, none at
# all included) beyond the capacity with the override recorded. text(): on no benchmark's path
# (the desk's and the over-capacity booking); it stays text() because it is built from
# CONFIRM_SQL's fragments (PERSON_UPSERT, _COMPANIONS), which move to Core together or not at
# all.
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


# The end of a session's waiting list. `still_open` adds the booking gate to the slot's claim
# (QUEUE_SQL, below); without it the caller holds the session lock and has checked the gate.
def _waitlist_sql(still_open: str) -> str:
    return f"""
WITH slot AS (
    UPDATE sessions SET waitlist_count = waitlist_count + 1
    WHERE id = :session_id AND waitlist_count < waitlist_limit{still_open}
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
SELECT (SELECT id FROM bk) AS booking_id, (SELECT id FROM notice) AS notification_id,
       (SELECT position FROM slot) AS position
"""


# text(): `make bench` cases (a) and (c) (tests/bench/run.py, the rush and the job fair) run this
# for the first late comer once the seats are gone (the spread, (b), never fills a session); on
# asyncpg as a prepared statement (WAITLIST_DRIVER). No Core version has been measured yet.
WAITLIST_SQL = text(_waitlist_sql(""))

# Joining a waiting list someone is already on, in one statement, without the session lock
# first: while anyone waits, a free seat is held for them, so a late comer can only queue
# (the slow path would decide the same, after three more round trips under the session row's
# lock, for every late comer of a rush). The slot's UPDATE takes that lock and, under READ
# COMMITTED, re-reads the row it waited for: someone still waits, the list has room, the
# session and its event still take bookings, and this phone or e-mail has no live booking on
# it. No slot: the caller takes the slow path, which names the reason. text(): `make bench`
# cases (a) and (c) run it for every late comer after the first.
QUEUE_SQL = text(
    _waitlist_sql(f"""
      AND waitlist_count > 0 AND status = 'scheduled'
      AND CAST(:now AS timestamptz) >= booking_opens_at
      AND CAST(:now AS timestamptz) < booking_closes_at
      AND starts_at > CAST(:now AS timestamptz)
      AND EXISTS (SELECT 1 FROM events e WHERE e.id = sessions.event_id
                  AND e.status = 'published' AND CAST(:party_size AS int) - 1 <= e.max_companions)
      AND NOT {_DUPLICATE}""")
)

# The rest of a booking's way (the session lock, the waiting list) on the driver too: a rush
# takes it for every late comer while the waiting list fills.
WAITLIST_DRIVER = DriverStatement.of(WAITLIST_SQL)
QUEUE_DRIVER = DriverStatement.of(QUEUE_SQL)
# Whether the waiting list is full now (a new snapshot, no lock): after QUEUE_SQL found no slot,
# a late comer of a rush who waited for the session row is mostly answered here, instead of
# queueing for the row a second time to be told the same. Core, compiled once for the driver.
WAITLIST_FULL_DRIVER = DriverStatement.of(
    select(
        (sessions.c.waitlist_limit > literal_column("0"))
        & (sessions.c.waitlist_count >= sessions.c.waitlist_limit)
    ).where(sessions.c.id == bindparam("session_id"))
)
# text(): `make bench` cases (a) and (c) take this session lock for every attempt that finds no
# free seat on the fast path (tests/bench/run.py); the gate is CONFIRM_SQL's own _GATE.
LOCK_GATE_DRIVER = DriverStatement.of(text(_GATE + " FOR NO KEY UPDATE OF se"))

# From here on, SQLAlchemy Core: on no benchmark's path (see the module docstring).
# The waiting list as uq_bookings_waitlist_position (a partial index) names it, written into the
# SQL: with a bound value a prepared statement's generic plan could not use that index.
_WAITLISTED: ColumnClause[str] = literal_column("'waitlisted'", String)

_VIEW = (
    select(
        Booking.id,
        Booking.code,
        Booking.status,
        Booking.waitlist_position,
        Booking.channel,
        func.coalesce(persons.c.name, "（削除済み）").label("name"),
        func.coalesce(persons.c.name_kana, "").label("name_kana"),
        Booking.phone,
        Booking.email,
        Booking.created_at,
        Booking.confirmed_at,
        Booking.waitlisted_at,
        Booking.cancelled_at,
        Booking.cancel_reason,
        Booking.checked_in_at,
        Booking.no_show_at,
        Booking.capacity_override,
        Booking.party_size,
        Booking.needs,
        sessions.c.id.label("session_id"),
        events.c.id.label("event_id"),
        events.c.title.label("event_title"),
        events.c.kind.label("event_kind"),
        sessions.c.starts_at,
        sessions.c.ends_at,
        venues.c.name.label("venue_name"),
        venues.c.address.label("venue_address"),
        venues.c.ward,
        sessions.c.status.label("session_status"),
        sessions.c.is_online,
        sessions.c.join_url,
        sessions.c.join_instructions,
        sessions.c.matching_day,
    )
    .select_from(Booking)
    .outerjoin(persons, persons.c.id == Booking.person_id)
    .join(sessions, sessions.c.id == Booking.session_id)
    .join(events, events.c.id == sessions.c.event_id)
    .join(venues, venues.c.id == sessions.c.venue_id)
)


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
        self,
        session_id: int,
        code: str,
        data: ValidBooking,
        channel: str,
        staff_id: int | None,
        *,
        queue: bool = False,
    ) -> tuple[int, int, int] | None:
        """(booking id, notice id, position) at the end of the waiting list, or None when there
        is no room. The caller holds the session lock, or (queue=True) someone waits already
        and the statement checks the gate itself (QUEUE_SQL): None then says "take the slow
        path", whatever the reason."""
        conn = await driver_connection(self.db)
        stmt = QUEUE_DRIVER if queue else WAITLIST_DRIVER
        row = await conn.fetchrow(
            stmt.sql, *stmt.args(_params(session_id, code, data, channel, staff_id))
        )
        if row is None or row["booking_id"] is None:
            return None
        return int(row["booking_id"]), int(row["notification_id"]), int(row["position"])

    async def waitlist_full(self, session_id: int) -> bool:
        conn = await driver_connection(self.db)
        stmt = WAITLIST_FULL_DRIVER
        return bool(await conn.fetchval(stmt.sql, *stmt.args({"session_id": session_id})))

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
        row = (await self.db.execute(_VIEW.where(Booking.id == booking_id))).first()
        return _view(row, await self.companions(row.id)) if row else None

    async def view_by_code(self, code: str) -> BookingView | None:
        row = (await self.db.execute(_VIEW.where(Booking.code == code))).first()
        return _view(row, await self.companions(row.id)) if row else None

    async def companions(self, booking_id: int) -> tuple[CompanionView, ...]:
        c = BookingCompanion
        rows = await self.db.execute(
            select(c.position, c.name, c.name_kana, c.cancelled_at)
            .where(c.booking_id == booking_id)
            .order_by(c.position)
        )
        return tuple(CompanionView(**r._mapping) for r in rows)

    async def cancel_companion(self, booking_id: int, position: int) -> bool:
        """Marks one live companion cancelled and shrinks the party; False if there is none."""
        c = BookingCompanion
        cancelled = (
            update(c)
            .where(c.booking_id == booking_id, c.position == position, c.cancelled_at.is_(None))
            .values(cancelled_at=func.now())
            .returning(c.booking_id)
            .cte("c")
        )
        done = await self.db.scalar(
            update(Booking)
            .where(Booking.id == cancelled.c.booking_id)
            .values(party_size=Booking.party_size - 1)
            .returning(Booking.id)
            .execution_options(synchronize_session=False)
        )
        return done is not None

    async def release_one_seat(self, booking_id: int) -> int | None:
        """The party's highest-numbered seat goes back (a companion no longer comes)."""
        st, held = session_seats, session_seats.alias("held")
        last = (
            select(held.c.id)
            .where(held.c.booking_id == booking_id)
            .order_by(held.c.seat_no.desc())
            .limit(1)
            .scalar_subquery()
        )
        value = await self.db.scalar(
            update(st).where(st.c.id == last).values(booking_id=None).returning(st.c.id)
        )
        return int(value) if value is not None else None

    async def session_of(self, booking_id: int) -> int | None:
        value = await self.db.scalar(select(Booking.session_id).where(Booking.id == booking_id))
        return int(value) if value is not None else None

    async def lock_booking(self, booking_id: int) -> LockedBooking | None:
        b = Booking
        row = (
            await self.db.execute(
                select(
                    b.id,
                    b.session_id,
                    b.status,
                    b.waitlist_position,
                    b.party_size,
                    b.checked_in_at,
                    sessions.c.starts_at,
                    literal(clock.now(), DateTime(timezone=True)).label("now"),
                )
                .join(sessions, sessions.c.id == b.session_id)
                .where(b.id == booking_id)
                .with_for_update(of=b)
            )
        ).first()
        return LockedBooking(**row._mapping) if row else None

    async def mark_cancelled(
        self, booking_id: int, reason: str | None, staff_id: int | None
    ) -> None:
        await self.db.execute(
            update(Booking)
            .where(Booking.id == booking_id)
            .values(
                status="cancelled",
                waitlist_position=None,
                cancelled_at=func.now(),
                cancel_reason=reason,
                cancelled_by_id=staff_id,
            )
            .execution_options(synchronize_session=False)
        )

    async def release_seats(self, booking_id: int) -> int:
        """Every seat of the party goes back; returns how many."""
        st = session_seats
        rows = await self.db.scalars(
            update(st)
            .where(st.c.booking_id == booking_id)
            .values(booking_id=None)
            .returning(st.c.id)
        )
        return len(list(rows))

    async def close_waitlist_gap(self, session_id: int, position: int) -> None:
        """Everyone behind `position` moves up one. Two steps through negative numbers, because
        the unique index on positions is checked row by row. Each moved booking's calendar
        SEQUENCE goes up: its .ics says 「キャンセル待ち（N番目）」, and a calendar that
        imports the file again takes the new number only from a higher SEQUENCE."""
        b = Booking
        waiting = (b.session_id == session_id, b.status == _WAITLISTED)
        await self.db.execute(
            update(b)
            .where(*waiting, b.waitlist_position > position)
            .values(
                waitlist_position=-(b.waitlist_position - 1),
                calendar_sequence_offset=b.calendar_sequence_offset + 1,
            )
            .execution_options(synchronize_session=False)
        )
        await self.db.execute(
            update(b)
            .where(*waiting, b.waitlist_position < 0)
            .values(waitlist_position=-b.waitlist_position)
            .execution_options(synchronize_session=False)
        )
        await self.db.execute(
            update(sessions)
            .where(sessions.c.id == session_id)
            .values(waitlist_count=sessions.c.waitlist_count - 1)
        )

    async def first_waitlisted(self, session_id: int) -> tuple[int, int] | None:
        """(booking id, party size) of the first party on the waiting list."""
        b = Booking
        row = (
            await self.db.execute(
                select(b.id, b.party_size)
                .where(b.session_id == session_id, b.status == _WAITLISTED)
                .order_by(b.waitlist_position)
                .limit(1)
                .with_for_update()
            )
        ).first()
        return (int(row.id), int(row.party_size)) if row is not None else None

    async def free_seats(self, session_id: int, count: int) -> list[int] | None:
        """`count` free seats for a party, all or none (None). SKIP LOCKED: a seat locked by a
        booker is being taken, and waiting for it under the session lock could deadlock
        against that booker."""
        st = session_seats
        rows = await self.db.scalars(
            select(st.c.id)
            .where(st.c.session_id == session_id, st.c.booking_id.is_(None))
            .order_by(st.c.seat_no)
            .limit(count)
            .with_for_update(skip_locked=True)
        )
        seats = [int(r) for r in rows]
        return seats if len(seats) == count else None

    async def confirm_waitlisted(
        self, booking_id: int, seat_ids: list[int], *, override: bool = False
    ) -> None:
        await self.db.execute(
            update(Booking)
            .where(Booking.id == booking_id)
            .values(
                status="confirmed",
                waitlist_position=None,
                confirmed_at=func.now(),
                capacity_override=override,
                # The promotion mail's .ics (CONFIRMED) replaces the TENTATIVE one.
                calendar_sequence_offset=Booking.calendar_sequence_offset + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if seat_ids:
            st = session_seats
            await self.db.execute(
                update(st)
                .where(st.c.id == any_(literal(seat_ids, ARRAY(BigInteger))))
                .values(booking_id=booking_id)
            )

    async def add_notice(self, booking_id: int, kind: str, dedup_key: str) -> int | None:
        value = await self.db.scalar(
            NOTICE_INSERT.values(booking_id=booking_id, kind=kind, dedup_key=dedup_key)
        )
        return int(value) if value is not None else None

    async def waitlist_count(self, session_id: int) -> int:
        value = await self.db.scalar(
            select(sessions.c.waitlist_count).where(sessions.c.id == session_id)
        )
        return int(value or 0)

    async def seat_counts(self, session_id: int) -> tuple[int, int, int]:
        """(seats, free seats, confirmed bookings holding a seat)."""
        st = session_seats
        row = (
            await self.db.execute(
                select(
                    func.count().label("seats"),
                    func.count().filter(st.c.booking_id.is_(None)).label("free"),
                ).where(st.c.session_id == session_id)
            )
        ).one()
        return int(row.seats), int(row.free), int(row.seats - row.free)

    async def remove_free_seats(self, session_id: int, keep: int) -> None:
        """Delete the highest-numbered free seats until `keep` seats remain."""
        st, spare, every = session_seats, session_seats.alias("spare"), session_seats.alias("every")
        seats = (
            select(func.count())
            .select_from(every)
            .where(every.c.session_id == session_id)
            .scalar_subquery()
        )
        doomed = (
            select(spare.c.id)
            .where(spare.c.session_id == session_id, spare.c.booking_id.is_(None))
            .order_by(spare.c.seat_no.desc())
            .limit(func.greatest(seats - keep, 0))
        )
        await self.db.execute(delete(st).where(st.c.id.in_(doomed)))

    async def set_capacity(self, session_id: int, capacity: int) -> None:
        await self.db.execute(
            update(sessions).where(sessions.c.id == session_id).values(capacity=capacity)
        )

    async def sessions_needing_promotion(self, limit: int) -> list[int]:
        """Upcoming live sessions holding a free seat while people wait: normally none, since a
        cancellation promotes in its own transaction (a claim that rolled back leaves one)."""
        se, st = sessions, session_seats
        rows = await self.db.scalars(
            select(se.c.id)
            .where(
                se.c.status == "scheduled",
                se.c.waitlist_count > 0,
                se.c.starts_at > func.now(),
                exists().where(st.c.session_id == se.c.id, st.c.booking_id.is_(None)),
            )
            .order_by(se.c.starts_at, se.c.id)
            .limit(limit)
        )
        return [int(r) for r in rows]

    async def add_seats(self, session_id: int, first_seat: int, last_seat: int) -> None:
        """Seat rows first_seat..last_seat for a session (none when last < first)."""
        if last_seat < first_seat:
            return
        n = func.generate_series(
            literal(first_seat, Integer), literal(last_seat, Integer)
        ).column_valued("n")
        await self.db.execute(
            insert(session_seats).from_select(
                ["session_id", "seat_no"], select(literal(session_id, BigInteger), n)
            )
        )

    async def max_seat_no(self, session_id: int) -> int:
        st = session_seats
        value = await self.db.scalar(
            select(func.coalesce(func.max(st.c.seat_no), 0)).where(st.c.session_id == session_id)
        )
        return int(value or 0)

    async def count_by_status(self) -> dict[str, int]:
        """Every booking, counted by status (the operators' metrics)."""
        rows = await self.db.execute(
            select(Booking.status, func.count().label("n")).group_by(Booking.status)
        )
        return {str(r.status): int(r.n) for r in rows}
