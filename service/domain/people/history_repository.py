"""The reads of everything linked to a person, for the staff person page: bookings, the desk's
records (consultations, placements), follow-up answers, matching days' meetings and their
outcomes, mails and calls."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Date,
    DateTime,
    Select,
    String,
    TableClause,
    Text,
    Update,
    case,
    cast,
    column,
    delete,
    func,
    literal,
    or_,
    select,
    table,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, aliased

from service.domain.bookings.models import Booking
from service.domain.outbox_repository import notifications
from service.domain.people.schemas import HistoryEntry

# Each part of the history reads tables of other areas, all above this one (.importlinter), so
# they are named by the columns used here (no import): the person page is their one reader.
_TIMESTAMP = DateTime(timezone=True)
_sessions = table("sessions", column("id", BigInteger), column("event_id", BigInteger))
_events = table("events", column("id", BigInteger), column("title", String))
_organizations = table("organizations", column("id", BigInteger), column("name", String))
_desk_records = table(
    "desk_records",
    column("id", BigInteger),
    column("person_id", BigInteger),
    column("kind", String),
    column("occurred_on", Date),
    column("company", String),
    column("note", String),
)
_campaigns = table("follow_up_campaigns", column("id", BigInteger), column("title", String))
_answers = table(
    "follow_up_answers",
    column("campaign_id", BigInteger),
    column("person_id", BigInteger),
    column("status", String),
    column("employer", String),
    column("via", String),
    column("updated_at", _TIMESTAMP),
)
_targets = table(
    "follow_up_targets",
    column("campaign_id", BigInteger),
    column("person_id", BigInteger),
    column("channel", String),
    column("status", String),
    column("sent_at", _TIMESTAMP),
    column("created_at", _TIMESTAMP),
)
_meetings = table(
    "matching_meetings",
    column("booking_id", BigInteger),
    column("event_id", BigInteger),
    column("organization_id", BigInteger),
    column("starts_at", _TIMESTAMP),
    column("outcome", String),
    column("hired_on", Date),
)
_call_tasks = table(
    "call_tasks",
    column("booking_id", BigInteger),
    column("kind", String),
    column("state", String),
    column("closed_at", _TIMESTAMP),
    column("created_at", _TIMESTAMP),
)


_Column = ColumnElement[Any] | QueryableAttribute[Any]


def _entry(
    at: _Column, kind: _Column | str, title: _Column, detail: _Column, ref: _Column | str
) -> Select[*tuple[Any, ...]]:
    """One part of the history: (at, kind, title, detail, ref)."""
    return select(
        at.label("at"),
        (literal(kind, String) if isinstance(kind, str) else kind).label("kind"),
        title.label("title"),
        detail.label("detail"),
        (literal(ref, String) if isinstance(ref, str) else ref).label("ref"),
    )


def _history(person_id: int, limit: int) -> CompoundSelect[*tuple[Any, ...]]:
    """One row per event in the person's history, newest first. Matching days' meetings (and
    profiles, choices) hang off the booking, so a merge moves them with it."""
    b, d, a, t, m = Booking, _desk_records.c, _answers.c, _targets.c, _meetings.c
    n, ct = notifications.c, _call_tasks.c
    attendance = case(
        (b.checked_in_at.is_not(None), ":attended"),
        (b.no_show_at.is_not(None), ":no_show"),
        else_="",
    )
    bookings = (
        _entry(b.created_at, "booking", _events.c.title, b.status + attendance, b.code)
        .select_from(b)
        .join(_sessions, _sessions.c.id == b.session_id)
        .join(_events, _events.c.id == _sessions.c.event_id)
        .where(b.person_id == person_id)
    )
    desk = _entry(
        cast(d.occurred_on, _TIMESTAMP),
        d.kind,
        func.coalesce(d.company, ""),
        d.note,
        cast(d.id, Text),
    ).where(d.person_id == person_id)
    answers = (
        _entry(
            a.updated_at,
            "follow_up_answer",
            _campaigns.c.title,
            a.status + func.coalesce(literal(":", String) + a.employer, ""),
            a.via,
        )
        .join(_campaigns, _campaigns.c.id == a.campaign_id)
        .where(a.person_id == person_id)
    )
    targets = (
        _entry(
            func.coalesce(t.sent_at, t.created_at),
            literal("follow_up_", String) + t.channel,
            _campaigns.c.title,
            t.status,
            "",
        )
        .join(_campaigns, _campaigns.c.id == t.campaign_id)
        .where(t.person_id == person_id)
    )
    meetings = (
        _entry(
            m.starts_at,
            "matching_meeting",
            _events.c.title + "：" + _organizations.c.name,
            func.coalesce(m.outcome, "no_outcome")
            + case((m.hired_on.is_not(None), ":hired"), else_=""),
            b.code,
        )
        .select_from(_meetings)
        .join(b, b.id == m.booking_id)
        .join(_events, _events.c.id == m.event_id)
        .join(_organizations, _organizations.c.id == m.organization_id)
        .where(b.person_id == person_id)
    )
    mails = (
        _entry(func.coalesce(n.sent_at, n.created_at), "mail", n.kind, n.status, b.code)
        .select_from(notifications)
        .join(b, b.id == n.booking_id)
        .where(b.person_id == person_id)
    )
    calls = (
        _entry(func.coalesce(ct.closed_at, ct.created_at), "call", ct.kind, ct.state, b.code)
        .select_from(_call_tasks)
        .join(b, b.id == ct.booking_id)
        .where(b.person_id == person_id)
    )
    history = union_all(bookings, desk, answers, targets, meetings, mails, calls)
    return history.order_by(history.selected_columns.at.desc()).limit(limit)


def _move(links: TableClause, from_id: int, to_id: int) -> Update:
    """Every row of the table pointing at from_id points at to_id."""
    return update(links).where(links.c.person_id == from_id).values(person_id=to_id)


class HistoryRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def history(self, person_id: int, limit: int) -> list[HistoryEntry]:
        rows = await self.db.execute(_history(person_id, limit))
        return [
            HistoryEntry(at=r.at, kind=r.kind, title=r.title, detail=r.detail or "", ref=r.ref)
            for r in rows.all()
        ]

    async def shared_live_sessions(self, a: int, b: int) -> int:
        """Sessions where both persons hold a live booking (a merge would make two)."""
        x, y = aliased(Booking, name="x"), aliased(Booking, name="y")
        live = ("confirmed", "waitlisted")
        found = await self.db.scalar(
            select(func.count())
            .select_from(x)
            .join(y, y.session_id == x.session_id)
            .where(x.person_id == a, y.person_id == b, x.status.in_(live), y.status.in_(live))
        )
        return int(found or 0)

    async def _rowcount(self, stmt: Any) -> int:
        result = await self.db.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)

    async def move_links(self, from_id: int, to_id: int) -> dict[str, int]:
        """Every row pointing at from_id now points at to_id. A campaign both were in keeps one
        target and one answer: the kept person's target, and the newer answer."""
        moved: dict[str, int] = {}
        moved["bookings"] = await self._rowcount(
            update(Booking)
            .where(Booking.person_id == from_id)
            .values(person_id=to_id)
            .execution_options(synchronize_session=False)
        )
        moved["desk_records"] = await self._rowcount(_move(_desk_records, from_id, to_id))
        # The other row of the same campaign, the one that stays.
        a, k = _answers, _answers.alias("k")
        await self.db.execute(
            delete(a).where(
                k.c.campaign_id == a.c.campaign_id,
                or_(
                    (a.c.person_id == to_id)
                    & (k.c.person_id == from_id)
                    & (k.c.updated_at > a.c.updated_at),
                    (a.c.person_id == from_id)
                    & (k.c.person_id == to_id)
                    & (k.c.updated_at >= a.c.updated_at),
                ),
            )
        )
        t, k = _targets, _targets.alias("k")
        await self.db.execute(
            delete(t).where(
                t.c.person_id == from_id,
                k.c.person_id == to_id,
                k.c.campaign_id == t.c.campaign_id,
            )
        )
        moved["follow_up_answers"] = await self._rowcount(_move(_answers, from_id, to_id))
        moved["follow_up_targets"] = await self._rowcount(_move(_targets, from_id, to_id))
        return moved
