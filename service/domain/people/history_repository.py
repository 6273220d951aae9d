"""The reads of everything linked to a person, for the staff person page: bookings, the desk's
records (consultations, placements), follow-up answers, matching days' meetings and their
outcomes, mails and calls."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.people.schemas import HistoryEntry

# One row per event in the person's history: (at, kind, title, detail, ref). Each part reads
# tables of other areas by SQL only (no import): the person page is their one reader. Matching
# days' meetings (and profiles, choices) hang off the booking, so a merge moves them with it.
_HISTORY = """
    SELECT b.created_at AS at, 'booking' AS kind, e.title AS title,
           b.status || CASE WHEN b.checked_in_at IS NOT NULL THEN '\\:attended'
                            WHEN b.no_show_at IS NOT NULL THEN '\\:no_show' ELSE '' END AS detail,
           b.code AS ref
    FROM bookings b JOIN sessions se ON se.id = b.session_id JOIN events e ON e.id = se.event_id
    WHERE b.person_id = :pid
    UNION ALL
    SELECT d.occurred_on::timestamptz, d.kind, coalesce(d.company, ''), d.note, d.id::text
    FROM desk_records d WHERE d.person_id = :pid
    UNION ALL
    SELECT a.updated_at, 'follow_up_answer', c.title,
           a.status || coalesce(':' || a.employer, ''), a.via
    FROM follow_up_answers a JOIN follow_up_campaigns c ON c.id = a.campaign_id
    WHERE a.person_id = :pid
    UNION ALL
    SELECT coalesce(t.sent_at, t.created_at), 'follow_up_' || t.channel, c.title, t.status, ''
    FROM follow_up_targets t JOIN follow_up_campaigns c ON c.id = t.campaign_id
    WHERE t.person_id = :pid
    UNION ALL
    SELECT m.starts_at, 'matching_meeting', e.title || '：' || o.name,
           coalesce(m.outcome, 'no_outcome')
               || CASE WHEN m.hired_on IS NOT NULL THEN '\\:hired' ELSE '' END,
           b.code
    FROM matching_meetings m JOIN bookings b ON b.id = m.booking_id
    JOIN events e ON e.id = m.event_id JOIN organizations o ON o.id = m.organization_id
    WHERE b.person_id = :pid
    UNION ALL
    SELECT coalesce(n.sent_at, n.created_at), 'mail', n.kind, n.status, b.code
    FROM notifications n JOIN bookings b ON b.id = n.booking_id
    WHERE b.person_id = :pid
    UNION ALL
    SELECT coalesce(ct.closed_at, ct.created_at), 'call', ct.kind, ct.state, b.code
    FROM call_tasks ct JOIN bookings b ON b.id = ct.booking_id
    WHERE b.person_id = :pid
    ORDER BY 1 DESC
    LIMIT :limit
"""


_MOVE = {
    table: text(f"UPDATE {table} SET person_id = :to WHERE person_id = :from")  # noqa: S608
    for table in ("bookings", "desk_records", "follow_up_answers", "follow_up_targets")
}


class HistoryRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def history(self, person_id: int, limit: int) -> list[HistoryEntry]:
        rows = await self.db.execute(text(_HISTORY), {"pid": person_id, "limit": limit})
        return [
            HistoryEntry(at=r.at, kind=r.kind, title=r.title, detail=r.detail or "", ref=r.ref)
            for r in rows.all()
        ]

    async def shared_live_sessions(self, a: int, b: int) -> int:
        """Sessions where both persons hold a live booking (a merge would make two)."""
        found = await self.db.scalar(
            text("""
                SELECT count(*) FROM bookings x JOIN bookings y ON y.session_id = x.session_id
                WHERE x.person_id = :a AND y.person_id = :b
                  AND x.status IN ('confirmed', 'waitlisted')
                  AND y.status IN ('confirmed', 'waitlisted')
            """),
            {"a": a, "b": b},
        )
        return int(found or 0)

    async def move_links(self, from_id: int, to_id: int) -> dict[str, int]:
        """Every row pointing at from_id now points at to_id. A campaign both were in keeps one
        target and one answer: the kept person's target, and the newer answer."""
        moved: dict[str, int] = {}
        for table in ("bookings", "desk_records"):
            result = await self.db.execute(_MOVE[table], {"to": to_id, "from": from_id})
            moved[table] = int(getattr(result, "rowcount", 0) or 0)
        await self.db.execute(
            text("""
                DELETE FROM follow_up_answers a USING follow_up_answers k
                WHERE k.campaign_id = a.campaign_id
                  AND ((a.person_id = :to AND k.person_id = :from AND k.updated_at > a.updated_at)
                    OR (a.person_id = :from AND k.person_id = :to AND k.updated_at >= a.updated_at))
            """),
            {"to": to_id, "from": from_id},
        )
        await self.db.execute(
            text("""
                DELETE FROM follow_up_targets t USING follow_up_targets k
                WHERE t.person_id = :from AND k.person_id = :to AND k.campaign_id = t.campaign_id
            """),
            {"to": to_id, "from": from_id},
        )
        for table in ("follow_up_answers", "follow_up_targets"):
            result = await self.db.execute(_MOVE[table], {"to": to_id, "from": from_id})
            moved[table] = int(getattr(result, "rowcount", 0) or 0)
        return moved
