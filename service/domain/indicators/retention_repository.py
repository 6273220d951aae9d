"""The queries of the retention purge: old bookings lose their personal data, keep their
counts (status, check-in, channel, how they heard)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

PURGED_TEXT = "（削除済み）"
# A person the purge may remove: inactive since the cutoff, and not kept by their consent to
# news (a withdrawn person's consent keeps nothing).


class RetentionRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def due_bookings(self, ended_before: datetime, limit: int) -> list[int]:
        rows = await self.db.scalars(
            text("""
                SELECT b.id FROM bookings b JOIN sessions s ON s.id = b.session_id
                WHERE s.ends_at < :cutoff AND b.purged_at IS NULL
                ORDER BY b.id LIMIT :limit FOR UPDATE OF b SKIP LOCKED
            """),
            {"cutoff": ended_before, "limit": limit},
        )
        return [int(i) for i in rows.all()]

    async def purge_bookings(self, ids: list[int]) -> list[int]:
        """Replaces the bookings' contact details and comments; the persons they pointed at."""
        rows = await self.db.execute(
            text("""
                UPDATE bookings b SET
                    phone = '-' || b.id::text,
                    email = NULL,
                    cancel_reason = CASE WHEN b.cancel_reason IS NULL THEN NULL ELSE :purged END,
                    note = CASE WHEN b.note IS NULL THEN NULL ELSE :purged END,
                    needs = CASE WHEN b.needs IS NULL THEN NULL ELSE :purged END,
                    person_id = NULL,
                    purged_at = now()
                FROM bookings old
                WHERE b.id = old.id AND b.id = ANY(:ids)
                RETURNING old.person_id
            """),
            {"ids": ids, "purged": PURGED_TEXT},
        )
        return sorted({int(p) for (p,) in rows.all() if p is not None})

    async def remove_unreferenced_persons(self, person_ids: list[int], cutoff: datetime) -> int:
        """Persons with no booking left, no activity since the cutoff and no consent to be
        kept (news): someone who booked or registered recently, or asked for news, stays."""
        result = await self.db.execute(
            text("""
                DELETE FROM persons p WHERE p.id = ANY(:ids)
                AND p.last_active_at < :cutoff
                AND (NOT p.consent_news OR p.withdrawn_at IS NOT NULL)
                AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.person_id = p.id)
            """),
            {"ids": person_ids, "cutoff": cutoff},
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def remove_inactive_persons(self, cutoff: datetime, limit: int) -> int:
        """Registered persons without bookings, inactive since the cutoff, not kept by consent."""
        result = await self.db.execute(
            text("""
                DELETE FROM persons p WHERE p.id IN (
                    SELECT p.id FROM persons p WHERE p.last_active_at < :cutoff
                    AND (NOT p.consent_news OR p.withdrawn_at IS NOT NULL)
                    AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.person_id = p.id)
                    ORDER BY p.id LIMIT :limit FOR UPDATE SKIP LOCKED)
            """),
            {"cutoff": cutoff, "limit": limit},
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def clear_related(self, ids: list[int]) -> None:
        """Companions' names, mail payloads (names, addresses) and survey comments of the
        purged bookings."""
        await self.db.execute(
            text("""
                UPDATE booking_companions SET name = :purged, name_kana = ''
                WHERE booking_id = ANY(:ids)
            """),
            {"ids": ids, "purged": PURGED_TEXT},
        )
        await self.db.execute(
            text("""
                UPDATE notifications SET payload = '{}'::jsonb, last_error = NULL
                WHERE booking_id = ANY(:ids)
            """),
            {"ids": ids},
        )
        await self.db.execute(
            text("UPDATE survey_answers SET comment = '' WHERE booking_id = ANY(:ids)"),
            {"ids": ids},
        )
