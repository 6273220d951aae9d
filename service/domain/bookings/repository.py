"""Every query on bookings, persons and seats.

The booking hot path is one round trip of SQL: a free seat is claimed with
FOR UPDATE SKIP LOCKED, so concurrent bookers of a big session never queue behind one row.
Waiting-list changes lock the session row, which keeps positions 1..n without gaps. That lock
is FOR NO KEY UPDATE: inserting a booking takes FOR KEY SHARE on its session (the foreign key),
and a plain FOR UPDATE would deadlock a waiting-list joiner against a booker holding a seat.

Every statement is SQLAlchemy Core (issue 21 point 5) on the mapped Booking, BookingCompanion
and IdempotencyRecord, and on the table() columns below for the tables of areas above this one.
The booking's own statements, CONFIRM_SKIP_LOCKED (the seat), LOCK_GATE (the session lock),
WAITLIST_SQL and QUEUE_SQL, which `make bench` (tests/bench/run.py, cases (a), (b), (c)) runs
on every attempt, in the product and in its floors (tests/bench/transaction.py runs the same
ones), are compiled once at import for asyncpg (DriverStatement) and run as prepared statements
straight on the driver. They were text() until tests/bench/core_vs_text.py measured their Core
versions against them (2026-12-07, on a shared 2-core machine; 2,000 bookings a run, 6 rounds,
the two alternated in blocks of 100): Core/text per booking, the median of the rounds' ratios,
CONFIRM wall 1.00 and backend CPU 1.00, WAITLIST 0.96 and 0.98, QUEUE 1.01 and 0.97 (single
rounds spread 0.84-1.13), with the same EXPLAIN plans; building and compiling each at import
takes 4-10 ms instead of 0.2-0.4 ms, once. The person rule (person_rule) has one definition,
used by those statements, by DIRECT_SQL and by changes_repository's details.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Boolean,
    ColumnElement,
    DateTime,
    Exists,
    FromClause,
    Integer,
    Select,
    String,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    column,
    delete,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.selectable import CTE

from service.domain import clock
from service.domain.bookings.idempotency_repository import KeyClaim
from service.domain.bookings.models import Booking, BookingCompanion, IdempotencyRecord
from service.domain.bookings.schemas import (
    BookingView,
    CompanionView,
    SessionSummary,
    ValidBooking,
)
from service.domain.outbox_repository import NOTICE_INSERT, notifications
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
    column("kana_key", String),
    column("phone", String),
    column("phone_alt", String),
    column("email", String),
    column("age_band", String),
    column("ward", String),
    column("registered_via", String),
    column("consent_privacy", Boolean),
    column("consent_version", String),
    column("consent_agreed_at", DateTime(timezone=True)),
    column("contact_by", ARRAY(String)),
    column("last_active_at", DateTime(timezone=True)),
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
    column("booking_opens_at", DateTime(timezone=True)),
    column("booking_closes_at", DateTime(timezone=True)),
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
    column("status", String),
    column("max_companions", Integer),
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


# The waiting list as uq_bookings_waitlist_position (a partial index) names it, written into the
# SQL: with a bound value a prepared statement's generic plan could not use that index.
_WAITLISTED: ColumnClause[str] = literal_column("'waitlisted'", String)

# From here to LOCK_GATE_DRIVER: the statements `make bench` runs on every booking attempt and
# the parts they are built from (person_rule, _gate, _open, _companions, _duplicate), in Core,
# compiled once for the driver (DriverStatement). Every value is a named bind parameter (the
# names _params() gives: DriverStatement.args looks each up, so an anonymous one, from a Python
# constant, would break it); a CAST(... AS type) is written where PostgreSQL cannot infer the
# parameter's type, and the constants are literal SQL, as partial indexes need them in a
# prepared statement's generic plan. tests/bench/core_vs_text.py measured them against the
# text() statements they replace (the module docstring gives the figures): no difference
# beyond the noise, and the same plans.
_ONE: ColumnClause[int] = literal_column("1", Integer)
_ZERO: ColumnClause[int] = literal_column("0", Integer)
_CONFIRMED = literal_column("'confirmed'", String)
_SESSION_ID: BindParameter[Any] = bindparam("session_id")
_PHONE: BindParameter[Any] = bindparam("phone")
_NOW = cast(bindparam("now"), DateTime(timezone=True))
_PARTY = cast(bindparam("party_size"), Integer)
_EMAIL = cast(bindparam("email"), Text)
_KEY = cast(bindparam("idem_key"), Text)
_STAFF = cast(bindparam("staff_id"), BigInteger)
_SEAT_IDS = cast(bindparam("seat_ids"), ARRAY(BigInteger))

bookings: Table = Booking.__table__  # type: ignore[assignment]
booking_companions: Table = BookingCompanion.__table__  # type: ignore[assignment]
idempotency_records: Table = IdempotencyRecord.__table__  # type: ignore[assignment]


def _literal(value: str) -> ColumnClause[str]:
    """A string constant written into the SQL (no bind parameter)."""
    return literal_column(f"'{value}'", String)


# The person a booking belongs to (service.domain.people): the one with this phone (or second
# phone) and kana (compared without spaces), else a new person with the consent given with the
# booking (the form shows the privacy text). Withdrawn persons have no phone left, so they are
# never matched: booking again makes a new record with a new consent. Kept in the booking's one
# statement so that linking costs no round trip. `source` gives the row(s) the person is made
# from (none: no person): the seats found, the waiting-list slot, or one row.
def person_rule(source: FromClause) -> CTE:
    p = persons.alias("p")
    kana: BindParameter[Any] = bindparam("name_kana")
    alt = (
        select(p.c.id)
        .select_from(p.join(source, true()))
        .where(
            p.c.phone_alt == _PHONE,
            p.c.kana_key == func.translate(kana, literal_column("' ・'"), literal_column("''")),
        )
        .order_by(p.c.id)
        .limit(_ONE)
        .cte("person_alt")
    )
    new = insert(persons).from_select(
        [
            "name",
            "name_kana",
            "phone",
            "email",
            "age_band",
            "ward",
            "registered_via",
            "consent_privacy",
            "consent_version",
            "consent_agreed_at",
            "contact_by",
        ],
        select(
            bindparam("name"),
            kana,
            _PHONE,
            _EMAIL,
            cast(bindparam("age_band"), Text),
            cast(bindparam("ward"), Text),
            _literal("booking"),
            true(),
            bindparam("consent_version"),
            func.now(),
            case(
                (_EMAIL.is_(None), literal_column("CAST('{phone}' AS varchar[])")),
                else_=literal_column("CAST('{mail,phone}' AS varchar[])"),
            ),
        )
        .select_from(source)
        .where(~exists(select(_ONE).select_from(alt))),
    )
    person_new = (
        new.on_conflict_do_update(
            index_elements=[persons.c.phone, persons.c.kana_key],
            set_={
                "name": new.excluded.name,
                "email": func.coalesce(new.excluded.email, persons.c.email),
                "age_band": func.coalesce(new.excluded.age_band, persons.c.age_band),
                "ward": func.coalesce(new.excluded.ward, persons.c.ward),
                "last_active_at": func.now(),
                "updated_at": func.now(),
            },
        )
        .returning(persons.c.id)
        .cte("person_new")
    )
    person_seen = (
        update(persons)
        .where(persons.c.id == alt.c.id)
        .values(last_active_at=func.now())
        .returning(persons.c.id)
        .cte("person_seen")
    )
    return select(person_new.c.id).union_all(select(person_seen.c.id)).cte("person")


_se, _e, _v = sessions.alias("se"), events.alias("e"), venues.alias("v")


def _gate() -> Select[Any]:
    se, e, v = _se, _e, _v
    return (
        select(
            se.c.id,
            se.c.status.label("session_status"),
            e.c.status.label("event_status"),
            se.c.booking_opens_at.label("opens_at"),
            se.c.booking_closes_at.label("closes_at"),
            se.c.starts_at,
            se.c.ends_at,
            _NOW.label("now"),
            se.c.waitlist_count,
            se.c.waitlist_limit,
            e.c.id.label("event_id"),
            e.c.title.label("event_title"),
            e.c.kind.label("event_kind"),
            v.c.name.label("venue_name"),
            v.c.address.label("venue_address"),
            v.c.ward,
            e.c.max_companions,
            se.c.matching_day,
        )
        .select_from(se.join(e, e.c.id == se.c.event_id).join(v, v.c.id == se.c.venue_id))
        .where(se.c.id == _SESSION_ID)
    )


def _open(gate: CTE) -> ColumnElement[bool]:
    g = gate.c
    return and_(
        g.session_status == _literal("scheduled"),
        g.event_status == _literal("published"),
        g.now >= g.opens_at,
        g.now < g.closes_at,
        g.starts_at > g.now,
        _PARTY - _ONE <= g.max_companions,
    )


# Companions come as two parallel arrays, unnested in order (position 1..n).
def _companions(bk: CTE) -> CTE:
    c = (
        func.unnest(
            cast(bindparam("companion_names"), ARRAY(Text)),
            cast(bindparam("companion_kanas"), ARRAY(Text)),
        )
        .table_valued("name", "kana", with_ordinality="position")
        .render_derived(name="c")
    )
    return (
        insert(booking_companions)
        .from_select(
            ["booking_id", "name", "name_kana", "position"],
            select(bk.c.id, c.c.name, c.c.kana, c.c.position).select_from(bk.join(c, true())),
            include_defaults=False,
        )
        .returning(booking_companions.c.booking_id)
        .cte("companions")
    )


def _duplicate() -> Exists:
    b = bookings.alias("b")
    return exists(
        select(_ONE).where(
            b.c.session_id == _SESSION_ID,
            b.c.status.in_([_CONFIRMED, _WAITLISTED]),
            or_(
                b.c.phone == _PHONE,
                and_(_EMAIL.is_not(None), func.lower(b.c.email) == func.lower(_EMAIL)),
            ),
        )
    )


def _booking(
    person: CTE, status: ColumnClause[str], *, source: FromClause | None = None, **more: Any
) -> Any:
    """The booking's INSERT ... SELECT from `person` (joined to `source`, when given) and
    `more` (column -> value)."""
    values: dict[str, Any] = {
        "code": bindparam("code"),
        "session_id": _SESSION_ID,
        "person_id": person.c.id,
        "status": status,
        "channel": bindparam("channel"),
        "phone": _PHONE,
        "email": _EMAIL,
        "heard_from": cast(bindparam("heard_from"), Text),
        **more,
        "created_by_id": _STAFF,
        "party_size": _PARTY,
        "needs": cast(bindparam("needs"), Text),
    }
    rows = person if source is None else person.join(source, true())
    return insert(bookings).from_select(
        list(values), select(*values.values()).select_from(rows), include_defaults=False
    )


def _notice(bk: CTE, kind: str) -> CTE:
    return (
        insert(notifications)
        .from_select(
            ["booking_id", "kind", "dedup_key"],
            select(bk.c.id, _literal(kind), _literal(f"{kind}:").concat(bk.c.id)),
        )
        .returning(notifications.c.id)
        .cte("notice")
    )


def _value(cte: CTE, name: str) -> Any:
    return select(cte.c[name]).scalar_subquery()


# One statement: claim the Idempotency-Key (when there is one), check the gate, refuse
# duplicates, claim a seat for every person of the party (all or none: a party is never split),
# upsert the person, insert the booking and its companions, take the seats, and write the
# outbox notice. Seats go to new bookers only while nobody waits: a seat freed while a party
# waits is held for it (first come, first served). A key held by another transaction makes the
# claim wait for it, as idempotency.claim does; a key already taken books nothing
# (claimed = false: the caller replays the first outcome). `make bench` cases (a), (b) and (c)
# (tests/bench/run.py) run it on every attempt.
def _confirm() -> Select[Any]:
    gate = _gate().cte("gate")
    key_claim = (
        insert(idempotency_records)
        .from_select(
            ["scope", "key", "request_hash", "status_code", "response"],
            select(
                cast(bindparam("idem_scope"), Text),
                _KEY,
                cast(bindparam("idem_hash"), Text),
                _ZERO,
                literal_column("CAST('{}' AS jsonb)"),
            ).where(_KEY.is_not(None)),
        )
        .on_conflict_do_nothing(index_elements=["scope", "key"])
        .returning(_ONE)
        .cte("key_claim")
    )
    keyed = select(
        or_(_KEY.is_(None), exists(select(_ONE).select_from(key_claim))).label("claimed")
    ).cte("keyed")
    ok = (
        select(gate.c.id)
        .select_from(gate.join(keyed, true()))
        .where(keyed.c.claimed, _open(gate), gate.c.waitlist_count == _ZERO, ~_duplicate())
        .cte("ok")
    )
    st = session_seats.alias("st")
    seat = (
        select(st.c.id)
        .select_from(st.join(ok, st.c.session_id == ok.c.id))
        .where(st.c.booking_id.is_(None))
        .order_by(st.c.seat_no)
        .limit(_PARTY)
        .with_for_update(of=st, skip_locked=True)
        .cte("seat")
    )
    enough = select(_ONE).select_from(seat).having(func.count() == _PARTY).cte("enough")
    person = person_rule(enough)
    bk = (
        _booking(person, _CONFIRMED, confirmed_at=func.now())
        .returning(bookings.c.id, bookings.c.created_at)
        .cte("bk")
    )
    # FROM seat, bk: the statement only ever runs on the driver, where SQLAlchemy's linter
    # (which would call bk, a single row, a cartesian product) never compiles it.
    claim = (
        update(session_seats)
        .where(session_seats.c.id == seat.c.id)
        .values(booking_id=bk.c.id)
        .returning(session_seats.c.id)
        .cte("claim")
    )
    notice = _notice(bk, "booking_confirmed")
    return select(
        gate,
        _duplicate().label("duplicate"),
        _value(bk, "id").label("booking_id"),
        _value(notice, "id").label("notification_id"),
        _value(keyed, "claimed").label("claimed"),
    ).add_cte(claim, _companions(bk))


CONFIRM_SKIP_LOCKED = _confirm()
# The hot statement goes straight to asyncpg (service.platform.db.driver_connection), in the same
# transaction as everything else the request does.
CONFIRM_SKIP_LOCKED_DRIVER = DriverStatement.of(CONFIRM_SKIP_LOCKED)


# Staff placing someone directly: into the given seats, or (fewer seats than people, none at
# all included) beyond the capacity with the override recorded. On no benchmark's path (the
# desk's and the over-capacity booking); run by the session, where SQLAlchemy's cache key for it
# costs about 0.3 ms of Python a booking (text(): next to nothing; measured 2026-12-07).
def _direct() -> Select[Any]:
    person = person_rule(select(_ONE).subquery("one"))
    bk = (
        _booking(
            person,
            _CONFIRMED,
            confirmed_at=func.now(),
            capacity_override=func.cardinality(_SEAT_IDS) < _PARTY,
        )
        .returning(bookings.c.id)
        .cte("bk")
    )
    # bk is one row (or none: then no seat is taken), named by subqueries: an UPDATE ... FROM
    # bk would join it to the seats without a condition (SQLAlchemy's linter warns of that
    # cartesian product when the session runs the statement).
    claim = (
        update(session_seats)
        .where(session_seats.c.id == any_(_SEAT_IDS), exists(select(_ONE).select_from(bk)))
        .values(booking_id=_value(bk, "id"))
        .returning(session_seats.c.id)
        .cte("claim")
    )
    notice = _notice(bk, "booking_confirmed")
    return select(
        _value(bk, "id").label("booking_id"), _value(notice, "id").label("notification_id")
    ).add_cte(claim, _companions(bk))


DIRECT_SQL = _direct()


# The end of a session's waiting list. `still_open` adds the booking gate to the slot's claim
# (QUEUE_SQL, below); without it the caller holds the session lock and has checked the gate.
def _waitlist(*still_open: ColumnElement[bool]) -> Select[Any]:
    se = sessions
    slot = (
        update(se)
        .where(se.c.id == _SESSION_ID, se.c.waitlist_count < se.c.waitlist_limit, *still_open)
        .values(waitlist_count=se.c.waitlist_count + _ONE)
        .returning(se.c.waitlist_count.label("position"))
        .cte("slot")
    )
    person = person_rule(slot)
    bk = (
        _booking(
            person,
            _WAITLISTED,
            source=slot,
            waitlist_position=slot.c.position,
            waitlisted_at=func.now(),
        )
        .returning(bookings.c.id)
        .cte("bk")
    )
    notice = _notice(bk, "booking_waitlisted")
    return select(
        _value(bk, "id").label("booking_id"),
        _value(notice, "id").label("notification_id"),
        _value(slot, "position").label("position"),
    ).add_cte(_companions(bk))


# `make bench` cases (a) and (c) (tests/bench/run.py, the rush and the job fair) run this for
# the first late comer once the seats are gone (the spread, (b), never fills a session); on
# asyncpg as a prepared statement (WAITLIST_DRIVER).
WAITLIST_SQL = _waitlist()


# Joining a waiting list someone is already on, in one statement, without the session lock
# first: while anyone waits, a free seat is held for them, so a late comer can only queue
# (the slow path would decide the same, after three more round trips under the session row's
# lock, for every late comer of a rush). The slot's UPDATE takes that lock and, under READ
# COMMITTED, re-reads the row it waited for: someone still waits, the list has room, the
# session and its event still take bookings, and this phone or e-mail has no live booking on
# it. No slot: the caller takes the slow path, which names the reason. `make bench` cases (a)
# and (c) run it for every late comer after the first.
def _queue() -> Select[Any]:
    se, e = sessions, events.alias("e")
    return _waitlist(
        se.c.waitlist_count > _ZERO,
        se.c.status == _literal("scheduled"),
        _NOW >= se.c.booking_opens_at,
        _NOW < se.c.booking_closes_at,
        se.c.starts_at > _NOW,
        exists(
            select(_ONE).where(
                e.c.id == se.c.event_id,
                e.c.status == _literal("published"),
                _PARTY - _ONE <= e.c.max_companions,
            )
        ),
        ~_duplicate(),
    )


QUEUE_SQL = _queue()

# The rest of a booking's way (the session lock, the waiting list) on the driver too: a rush
# takes it for every late comer while the waiting list fills.
WAITLIST_DRIVER = DriverStatement.of(WAITLIST_SQL)
QUEUE_DRIVER = DriverStatement.of(QUEUE_SQL)
# Whether the waiting list is full now (a new snapshot, no lock): after QUEUE_SQL found no slot,
# a late comer of a rush who waited for the session row is mostly answered here, instead of
# queueing for the row a second time to be told the same. Core, compiled once for the driver.
WAITLIST_FULL_DRIVER = DriverStatement.of(
    select(
        (sessions.c.waitlist_limit > _ZERO)
        & (sessions.c.waitlist_count >= sessions.c.waitlist_limit)
    ).where(sessions.c.id == bindparam("session_id"))
)
# `make bench` cases (a) and (c) take this session lock for every attempt that finds no free
# seat on the fast path (tests/bench/run.py); the gate is CONFIRM_SKIP_LOCKED's own (_gate).
LOCK_GATE = _gate().with_for_update(of=_se, key_share=True)
LOCK_GATE_DRIVER = DriverStatement.of(LOCK_GATE)

# From here on: on no benchmark's path, run by the session.

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
        # The values bound into the statement (.params), not given to execute(): SQLAlchemy
        # would take a key naming a column of a CTE's UPDATE (session_id, name, phone) for a
        # value to SET there.
        row = (await self.db.execute(DIRECT_SQL.params(params))).one()
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
