"""The query behind finding a booking across every event (/manage/search)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.rosters.repository import Search, search_params
from service.domain.rosters.schemas import FoundBooking

# Newest session first; a co-host (organization_id given) sees only the events it co-hosts,
# as on the rosters.
_FIND = text("""
    SELECT b.id, b.code, b.status, b.waitlist_position,
           coalesce(p.name, '（削除済み）') AS name, coalesce(p.name_kana, '') AS name_kana,
           b.phone, b.party_size, b.checked_in_at, se.id AS session_id, se.starts_at,
           se.status AS session_status, e.id AS event_id, e.title AS event_title,
           v.name AS venue_name
    FROM bookings b
    LEFT JOIN persons p ON p.id = b.person_id
    JOIN sessions se ON se.id = b.session_id
    JOIN events e ON e.id = se.event_id
    JOIN venues v ON v.id = se.venue_id
    WHERE (CAST(:org AS bigint) IS NULL
           OR EXISTS (SELECT 1 FROM event_cohosts ec
                      WHERE ec.event_id = e.id AND ec.organization_id = :org))
      AND (replace(p.name, ' ', '') ILIKE :text ESCAPE '\\'
           OR replace(p.name_kana, ' ', '') LIKE :kana ESCAPE '\\'
           OR (CAST(:digits AS text) IS NOT NULL AND b.phone LIKE :digits)
           OR b.code = CAST(:code AS text)
           OR (CAST(:code_tail AS text) IS NOT NULL AND right(b.code, 4) = :code_tail)
           OR EXISTS (SELECT 1 FROM booking_companions c WHERE c.booking_id = b.id
                      AND (replace(c.name, ' ', '') ILIKE :text ESCAPE '\\'
                           OR replace(c.name_kana, ' ', '') LIKE :kana ESCAPE '\\')))
    ORDER BY se.starts_at DESC, b.id DESC
    LIMIT :limit
""")


class SearchRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def find(
        self, search: Search, *, organization_id: int | None, limit: int
    ) -> list[FoundBooking]:
        params: dict[str, Any] = {
            **search_params(search),
            "org": organization_id,
            "limit": limit,
        }
        rows = await self.db.execute(_FIND, params)
        return [FoundBooking(**r._mapping) for r in rows]
