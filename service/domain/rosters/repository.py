"""Every query behind rosters, check-in and the desk's own bookings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.bookings.schemas import CompanionView
from service.domain.rosters.schemas import RosterEntry, SessionHeader
from service.platform.db import contains_pattern

_HEADER = text("""
    SELECT se.id, e.id AS event_id, e.title AS event_title, e.kind AS event_kind,
           e.status AS event_status, se.starts_at, se.ends_at, v.name AS venue_name, v.ward,
           se.capacity, se.status, se.waitlist_count, se.waitlist_limit, se.booking_opens_at,
           se.booking_closes_at, e.max_companions,
           (SELECT count(*) FROM session_seats st
            WHERE st.session_id = se.id AND st.booking_id IS NULL) AS free_seats,
           CAST(:now AS timestamptz) AS now
    FROM sessions se JOIN events e ON e.id = se.event_id JOIN venues v ON v.id = se.venue_id
    WHERE se.id = :sid
""")

_ENTRIES = """
    SELECT b.id, b.code, b.status, b.waitlist_position, b.channel,
           coalesce(p.name, '（削除済み）') AS name, coalesce(p.name_kana, '') AS name_kana,
           b.phone,
           b.email, p.age_band, p.ward, b.heard_from, b.created_at, b.confirmed_at,
           b.waitlisted_at, b.cancelled_at, b.cancel_reason, b.checked_in_at, b.no_show_at,
           b.capacity_override, b.party_size, b.needs,
           (SELECT count(*) FROM call_tasks t
            WHERE t.booking_id = b.id AND t.state = 'open') AS open_calls
    FROM bookings b LEFT JOIN persons p ON p.id = b.person_id
    WHERE b.session_id = :sid
      AND (CAST(:text AS text) IS NULL
           OR replace(normalize(p.name, NFKC), ' ', '') ILIKE :text ESCAPE '\\'
           OR replace(p.name_kana, ' ', '') LIKE :kana ESCAPE '\\'
           OR (CAST(:digits AS text) IS NOT NULL AND b.phone LIKE :digits)
           OR b.code = CAST(:code AS text)
           OR (CAST(:code_tail AS text) IS NOT NULL AND right(b.code, 4) = :code_tail)
           OR EXISTS (SELECT 1 FROM booking_companions c WHERE c.booking_id = b.id
                      AND (replace(normalize(c.name, NFKC), ' ', '') ILIKE :text ESCAPE '\\'
                           OR replace(c.name_kana, ' ', '') LIKE :kana ESCAPE '\\')))
    ORDER BY CASE b.status WHEN 'confirmed' THEN 0 WHEN 'waitlisted' THEN 1 ELSE 2 END,
             b.waitlist_position, p.name_kana, b.cancelled_at, b.id
"""


@dataclass(frozen=True, slots=True)
class Search:
    """A roster search: the typed text, its katakana reading and its digits; the booking code
    it spells (with or without hyphens), or the code's last four digits."""

    text: str
    kana: str
    digits: str | None
    code: str | None = None
    code_tail: str | None = None


@dataclass(frozen=True, slots=True)
class BookingState:
    id: int
    session_id: int
    status: str
    checked_in_at: datetime | None
    no_show_at: datetime | None


def search_params(search: Search | None) -> dict[str, Any]:
    """The bound parameters of a search (all None: no search)."""
    if search is None:
        return {"text": None, "kana": None, "digits": None, "code": None, "code_tail": None}
    return {
        "text": contains_pattern(search.text),
        "kana": contains_pattern(search.kana),
        "digits": f"%{search.digits}%" if search.digits else None,
        "code": search.code,
        "code_tail": search.code_tail,
    }


def _entry(row: Any, companions: dict[int, list[CompanionView]]) -> RosterEntry:
    return RosterEntry(**row._mapping, companions=tuple(companions.get(row.id, ())))


class RosterRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def header(self, session_id: int) -> SessionHeader | None:
        # "Is it the session's day?" asks the domain's one clock, as the booking rules do.
        row = (await self.db.execute(_HEADER, {"sid": session_id, "now": clock.now()})).first()
        return SessionHeader(**row._mapping) if row else None

    async def entries(self, session_id: int, search: Search | None = None) -> list[RosterEntry]:
        params: dict[str, Any] = {"sid": session_id, **search_params(search)}
        rows = list(await self.db.execute(text(_ENTRIES), params))
        companions = await self.companions([r.id for r in rows])
        return [_entry(r, companions) for r in rows]

    async def companions(self, booking_ids: list[int]) -> dict[int, list[CompanionView]]:
        out: dict[int, list[CompanionView]] = {}
        if not booking_ids:
            return out
        rows = await self.db.execute(
            text("""
            SELECT booking_id, position, name, name_kana, cancelled_at FROM booking_companions
            WHERE booking_id = ANY(:ids) ORDER BY booking_id, position
        """),
            {"ids": booking_ids},
        )
        for r in rows:
            out.setdefault(r.booking_id, []).append(
                CompanionView(r.position, r.name, r.name_kana, r.cancelled_at)
            )
        return out

    async def entry(self, booking_id: int) -> RosterEntry | None:
        sql = _ENTRIES.replace("WHERE b.session_id = :sid", "WHERE b.id = :bid", 1)
        row = (await self.db.execute(text(sql), {"bid": booking_id, **search_params(None)})).first()
        return _entry(row, await self.companions([row.id])) if row else None

    async def needs_by_session(self, event_id: int) -> dict[int, int]:
        """session id -> live bookings that told us what they need at the door (配慮事項)."""
        rows = await self.db.execute(
            text("""
            SELECT b.session_id, count(*) AS n FROM bookings b
            JOIN sessions se ON se.id = b.session_id
            WHERE se.event_id = :eid AND b.status IN ('confirmed', 'waitlisted')
              AND b.needs IS NOT NULL
            GROUP BY b.session_id
        """),
            {"eid": event_id},
        )
        return {int(r.session_id): int(r.n) for r in rows}

    async def lock_booking(self, booking_id: int) -> BookingState | None:
        row = (
            await self.db.execute(
                text("""
                SELECT id, session_id, status, checked_in_at, no_show_at
                FROM bookings WHERE id = :id FOR UPDATE
            """),
                {"id": booking_id},
            )
        ).first()
        return BookingState(**row._mapping) if row else None

    async def set_attendance(
        self, booking_id: int, *, checked_in: bool | None = None, no_show: bool | None = None
    ) -> None:
        """Sets or clears the check-in and no-show marks (None leaves a mark as it is)."""
        sets = []
        if checked_in is not None:
            sets.append("checked_in_at = " + ("now()" if checked_in else "NULL"))
        if no_show is not None:
            sets.append("no_show_at = " + ("now()" if no_show else "NULL"))
        if sets:
            await self.db.execute(
                text(f"UPDATE bookings SET {', '.join(sets)} WHERE id = :id"),
                {"id": booking_id},
            )

    async def unattended_confirmed(self, session_id: int) -> list[int]:
        rows = await self.db.scalars(
            text("""
            SELECT id FROM bookings
            WHERE session_id = :sid AND status = 'confirmed'
              AND checked_in_at IS NULL AND no_show_at IS NULL
            ORDER BY id FOR UPDATE
        """),
            {"sid": session_id},
        )
        return [int(r) for r in rows]

    async def mark_no_shows(self, booking_ids: list[int]) -> None:
        if booking_ids:
            await self.db.execute(
                text("UPDATE bookings SET no_show_at = now() WHERE id = ANY(:ids)"),
                {"ids": booking_ids},
            )

    async def live_booking_with_phone(self, session_id: int, phone: str) -> int | None:
        value = await self.db.scalar(
            text("""
            SELECT id FROM bookings WHERE session_id = :sid AND phone = :phone
              AND status IN ('confirmed', 'waitlisted')
        """),
            {"sid": session_id, "phone": phone},
        )
        return int(value) if value is not None else None

    async def move_targets(self, session_id: int) -> list[int]:
        """The other upcoming, scheduled sessions of the same event, soonest first."""
        rows = await self.db.scalars(
            text("""
            SELECT se.id FROM sessions se
            WHERE se.event_id = (SELECT event_id FROM sessions WHERE id = :sid)
              AND se.id <> :sid AND se.status = 'scheduled' AND se.starts_at > now()
            ORDER BY se.starts_at, se.id
        """),
            {"sid": session_id},
        )
        return [int(r) for r in rows]
