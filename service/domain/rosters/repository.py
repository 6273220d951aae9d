"""Every query behind rosters, check-in and the desk's own bookings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import contains_pattern
from service.domain.rosters.schemas import RosterEntry, SessionHeader

_HEADER = text("""
    SELECT se.id, e.id AS event_id, e.title AS event_title, e.kind AS event_kind,
           e.status AS event_status, se.starts_at, se.ends_at, v.name AS venue_name, v.ward,
           se.capacity, se.status, se.waitlist_count, se.waitlist_limit, se.booking_opens_at,
           se.booking_closes_at,
           (SELECT count(*) FROM session_seats st
            WHERE st.session_id = se.id AND st.booking_id IS NULL) AS free_seats,
           now() AS now
    FROM sessions se JOIN events e ON e.id = se.event_id JOIN venues v ON v.id = se.venue_id
    WHERE se.id = :sid
""")

_ENTRIES = """
    SELECT b.id, b.code, b.status, b.waitlist_position, b.channel,
           coalesce(p.name, '（削除済み）') AS name, coalesce(p.name_kana, '') AS name_kana,
           b.phone,
           b.email, p.age_band, p.ward, b.heard_from, b.created_at, b.confirmed_at,
           b.waitlisted_at, b.cancelled_at, b.cancel_reason, b.checked_in_at, b.no_show_at,
           b.capacity_override
    FROM bookings b LEFT JOIN persons p ON p.id = b.person_id
    WHERE b.session_id = :sid
      AND (CAST(:text AS text) IS NULL
           OR replace(p.name, ' ', '') ILIKE :text ESCAPE '\\'
           OR replace(p.name_kana, ' ', '') LIKE :kana ESCAPE '\\'
           OR (CAST(:digits AS text) IS NOT NULL AND b.phone LIKE :digits))
    ORDER BY CASE b.status WHEN 'confirmed' THEN 0 WHEN 'waitlisted' THEN 1 ELSE 2 END,
             b.waitlist_position, p.name_kana, b.cancelled_at, b.id
"""


@dataclass(frozen=True, slots=True)
class Search:
    """A roster search: the typed text, its katakana reading and its digits."""

    text: str
    kana: str
    digits: str | None


@dataclass(frozen=True, slots=True)
class BookingState:
    id: int
    session_id: int
    status: str
    checked_in_at: datetime | None
    no_show_at: datetime | None


def _entry(row: Any) -> RosterEntry:
    return RosterEntry(**row._mapping)


class RosterRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def header(self, session_id: int) -> SessionHeader | None:
        row = (await self.db.execute(_HEADER, {"sid": session_id})).first()
        return SessionHeader(**row._mapping) if row else None

    async def entries(self, session_id: int, search: Search | None = None) -> list[RosterEntry]:
        params: dict[str, Any] = {"sid": session_id, "text": None, "kana": None, "digits": None}
        if search is not None:
            params["text"] = contains_pattern(search.text)
            params["kana"] = contains_pattern(search.kana)
            params["digits"] = f"%{search.digits}%" if search.digits else None
        rows = await self.db.execute(text(_ENTRIES), params)
        return [_entry(r) for r in rows]

    async def entry(self, booking_id: int) -> RosterEntry | None:
        sql = _ENTRIES.replace("WHERE b.session_id = :sid", "WHERE b.id = :bid", 1)
        row = (
            await self.db.execute(
                text(sql), {"bid": booking_id, "text": None, "kana": None, "digits": None}
            )
        ).first()
        return _entry(row) if row else None

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
