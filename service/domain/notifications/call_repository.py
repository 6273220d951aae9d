"""Every query on the call list (call_tasks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.notifications.call_schemas import KINDS_BY_URGENCY, CallTaskView

_LIST = """
    SELECT t.id, t.booking_id, t.kind, t.reason, t.script, t.due_at, t.state, t.attempts,
           t.last_attempt_at, t.closed_at, t.created_at, b.code, b.status AS booking_status,
           b.party_size, b.phone, b.email, p.name, p.name_kana, se.id AS session_id,
           se.starts_at, e.id AS event_id, e.title AS event_title
    FROM call_tasks t
    JOIN bookings b ON b.id = t.booking_id
    JOIN persons p ON p.id = b.person_id
    JOIN sessions se ON se.id = b.session_id
    JOIN events e ON e.id = se.event_id
    WHERE (CAST(:org AS bigint) IS NULL OR EXISTS (
              SELECT 1 FROM event_cohosts c WHERE c.event_id = e.id AND c.organization_id = :org))
      AND (CAST(:state AS text) IS NULL OR t.state = :state)
      AND (CAST(:day_end AS timestamptz) IS NULL
           OR (t.state = 'open' AND t.due_at < :day_end)
           OR (t.state <> 'open' AND t.closed_at >= :day_start AND t.closed_at < :day_end))
      AND (CAST(:booking_id AS bigint) IS NULL OR t.booking_id = :booking_id)
    ORDER BY t.state <> 'open', t.due_at >= :today_end, se.starts_at,
             coalesce(array_position(CAST(:kinds_by_urgency AS text[]), t.kind), 1000),
             t.due_at, t.id
    LIMIT :limit
"""


class CallRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def add(
        self,
        *,
        booking_id: int,
        notification_id: int | None,
        kind: str,
        reason: str,
        script: str,
        due_at: datetime,
    ) -> int | None:
        """One task per notice: a notice handled twice (a job run twice) adds nothing."""
        value = await self.db.scalar(
            text("""
            INSERT INTO call_tasks (booking_id, notification_id, kind, reason, script, due_at)
            VALUES (:bid, :nid, :kind, :reason, :script, :due)
            ON CONFLICT (notification_id) DO NOTHING RETURNING id
        """),
            {
                "bid": booking_id,
                "nid": notification_id,
                "kind": kind,
                "reason": reason,
                "script": script,
                "due": due_at,
            },
        )
        return int(value) if value is not None else None

    async def tasks(
        self,
        *,
        org_id: int | None,
        state: str | None,
        day_start: datetime | None,
        day_end: datetime | None,
        today_end: datetime,
        booking_id: int | None = None,
        limit: int = 1000,
    ) -> list[CallTaskView]:
        params: dict[str, Any] = {
            "org": org_id,
            "state": state,
            "day_start": day_start,
            "day_end": day_end,
            "today_end": today_end,
            "booking_id": booking_id,
            "limit": limit,
            "kinds_by_urgency": KINDS_BY_URGENCY,
        }
        rows = await self.db.execute(text(_LIST), params)
        return [CallTaskView(**r._mapping, due_today=r.due_at < today_end) for r in rows]

    async def lock_open(self, booking_id: int) -> list[int]:
        rows = await self.db.scalars(
            text("""
            SELECT id FROM call_tasks WHERE booking_id = :bid AND state = 'open'
            ORDER BY id FOR UPDATE
        """),
            {"bid": booking_id},
        )
        return [int(r) for r in rows]

    async def close(self, ids: list[int], state: str, staff_id: int | None) -> None:
        await self.db.execute(
            text("""
            UPDATE call_tasks SET state = :state, closed_at = now(), closed_by_id = :staff,
                   attempts = attempts + 1, last_attempt_at = now()
            WHERE id = ANY(:ids)
        """),
            {"ids": ids, "state": state, "staff": staff_id},
        )

    async def try_later(self, ids: list[int], due_at: datetime) -> None:
        await self.db.execute(
            text("""
            UPDATE call_tasks SET attempts = attempts + 1, last_attempt_at = now(), due_at = :due
            WHERE id = ANY(:ids)
        """),
            {"ids": ids, "due": due_at},
        )

    async def open_counts(self, org_id: int | None, today_end: datetime) -> tuple[int, int]:
        """(open tasks due by the end of today, all open tasks)."""
        row = (
            await self.db.execute(
                text("""
            SELECT count(*) FILTER (WHERE t.due_at < :today_end) AS today, count(*) AS total
            FROM call_tasks t JOIN bookings b ON b.id = t.booking_id
            JOIN sessions se ON se.id = b.session_id
            WHERE t.state = 'open'
              AND (CAST(:org AS bigint) IS NULL OR EXISTS (
                   SELECT 1 FROM event_cohosts c
                   WHERE c.event_id = se.event_id AND c.organization_id = :org))
        """),
                {"org": org_id, "today_end": today_end},
            )
        ).one()
        return int(row.today), int(row.total)
