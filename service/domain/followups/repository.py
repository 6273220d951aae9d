"""Every query of the follow-up survey: the selection, targets and their mail leases (in
batches), answers, and the counts of the campaign page."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.followups.models import FollowUpAnswer, FollowUpCampaign
from service.domain.followups.schemas import (
    AnswerView,
    Candidate,
    MailLease,
    TargetLine,
)

# Attended (checked in) or consulted between the two Tokyo days; not withdrawn; consent given;
# not yet known to be working (no placement recorded, no 就職した answer since the start);
# reachable somehow.
_SELECTION = """
    SELECT p.id, p.email, p.phone, p.postal_code, p.address, p.contact_by
    FROM persons p
    WHERE p.withdrawn_at IS NULL AND p.consent_privacy
      AND (EXISTS (SELECT 1 FROM bookings b JOIN sessions s ON s.id = b.session_id
                   WHERE b.person_id = p.id AND b.checked_in_at IS NOT NULL
                     AND (s.starts_at AT TIME ZONE 'Asia/Tokyo')::date
                         BETWEEN :first AND :last)
           OR EXISTS (SELECT 1 FROM desk_records d
                      WHERE d.person_id = p.id AND d.kind = 'consultation'
                        AND d.occurred_on BETWEEN :first AND :last))
      AND NOT EXISTS (SELECT 1 FROM desk_records d WHERE d.person_id = p.id
                      AND d.kind = 'placement' AND d.occurred_on >= :first)
      AND NOT EXISTS (SELECT 1 FROM follow_up_answers a WHERE a.person_id = p.id
                      AND a.status = 'employed'
                      AND a.updated_at >= CAST(:first AS date))
      AND (p.email IS NOT NULL OR p.phone IS NOT NULL
           OR (p.postal_code IS NOT NULL AND p.address IS NOT NULL))
    ORDER BY p.id
"""

_TARGET_LINE = """
    SELECT t.id, t.person_id, t.channel, t.status, p.name, p.name_kana, p.phone,
           p.postal_code, p.address, t.short_code,
           EXISTS (SELECT 1 FROM follow_up_answers a
                   WHERE a.campaign_id = t.campaign_id AND a.person_id = t.person_id) AS answered
    FROM follow_up_targets t JOIN persons p ON p.id = t.person_id
    WHERE t.campaign_id = :campaign_id AND p.withdrawn_at IS NULL
"""


class FollowUpRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def add_campaign(self, campaign: FollowUpCampaign) -> FollowUpCampaign:
        self.db.add(campaign)
        await self.db.flush()
        await self.db.refresh(campaign)
        return campaign

    async def campaign(self, campaign_id: int, *, lock: bool = False) -> FollowUpCampaign | None:
        stmt = select(FollowUpCampaign).where(FollowUpCampaign.id == campaign_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.db.scalars(stmt)).one_or_none()

    async def campaigns(self, limit: int) -> list[FollowUpCampaign]:
        rows = await self.db.scalars(
            select(FollowUpCampaign).order_by(FollowUpCampaign.id.desc()).limit(limit)
        )
        return list(rows.all())

    async def refresh(self, campaign: FollowUpCampaign) -> None:
        await self.db.flush()
        await self.db.refresh(campaign)

    async def candidates(self, first: date, last: date) -> list[Candidate]:
        rows = await self.db.execute(text(_SELECTION), {"first": first, "last": last})
        return [
            Candidate(r.id, r.email, r.phone, r.postal_code, r.address, tuple(r.contact_by or ()))
            for r in rows.all()
        ]

    async def add_targets(self, campaign_id: int, people: list[int], channels: list[str]) -> None:
        await self.db.execute(
            text("""
                INSERT INTO follow_up_targets (campaign_id, person_id, channel)
                SELECT :campaign_id, t.person_id, t.channel
                FROM unnest(CAST(:people AS bigint[]), CAST(:channels AS text[]))
                     AS t(person_id, channel)
                ON CONFLICT (campaign_id, person_id) DO NOTHING
            """),
            {"campaign_id": campaign_id, "people": people, "channels": channels},
        )

    async def counts(self, campaign_id: int) -> list[Any]:
        rows = await self.db.execute(
            text("""
                SELECT t.channel, count(*) AS targets,
                       count(*) FILTER (WHERE t.status = 'sent') AS sent,
                       count(a.id) AS answered
                FROM follow_up_targets t
                LEFT JOIN follow_up_answers a
                       ON a.campaign_id = t.campaign_id AND a.person_id = t.person_id
                WHERE t.campaign_id = :campaign_id
                GROUP BY t.channel
            """),
            {"campaign_id": campaign_id},
        )
        return list(rows.all())

    async def answers(self, campaign_id: int) -> list[AnswerView]:
        rows = await self.db.execute(
            text("""
                SELECT a.id, a.person_id, p.name, a.status, a.employer, a.started_on,
                       a.employment_type, a.sector, a.comment, a.via, t.channel,
                       a.placement_record_id, a.updated_at
                FROM follow_up_answers a
                LEFT JOIN persons p ON p.id = a.person_id
                LEFT JOIN follow_up_targets t
                       ON t.campaign_id = a.campaign_id AND t.person_id = a.person_id
                WHERE a.campaign_id = :campaign_id ORDER BY a.updated_at DESC, a.id DESC
            """),
            {"campaign_id": campaign_id},
        )
        return [AnswerView(**dict(r._mapping)) for r in rows.all()]

    async def targets(self, campaign_id: int, channel: str) -> list[TargetLine]:
        """A channel's targets; post ones sorted by postal code (as labels are stuck)."""
        order = "p.postal_code, t.id" if channel == "post" else "p.kana_key, t.id"
        rows = await self.db.execute(
            text(_TARGET_LINE + " AND t.channel = :channel ORDER BY " + order),
            {"campaign_id": campaign_id, "channel": channel},
        )
        return [TargetLine(**dict(r._mapping)) for r in rows.all()]

    async def mark_channel_sent(self, campaign_id: int, channel: str) -> int:
        result = await self.db.execute(
            text("""
                UPDATE follow_up_targets SET status = 'sent', sent_at = now()
                WHERE campaign_id = :campaign_id AND channel = :channel AND status = 'pending'
            """),
            {"campaign_id": campaign_id, "channel": channel},
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # mail, in batches

    async def drop_unmailable(self, campaign_id: int) -> None:
        """Targets whose person withdrew or lost their address since: never mailed."""
        await self.db.execute(
            text("""
                UPDATE follow_up_targets t SET status = 'failed', leased_until = NULL,
                       last_error = 'no address'
                FROM persons p
                WHERE t.campaign_id = :campaign_id AND t.channel = 'mail'
                  AND t.status IN ('pending', 'leased') AND p.id = t.person_id
                  AND (p.email IS NULL OR p.withdrawn_at IS NOT NULL)
            """),
            {"campaign_id": campaign_id},
        )

    async def lease_mail(self, campaign_id: int, limit: int, seconds: int) -> list[MailLease]:
        """Up to limit due mail targets, leased for seconds (a worker that dies leaves them to
        the next after that); one statement for the whole batch."""
        rows = await self.db.execute(
            text("""
                WITH due AS (
                    SELECT t.id FROM follow_up_targets t
                    WHERE t.campaign_id = :campaign_id AND t.channel = 'mail'
                      AND (t.status = 'pending'
                           OR (t.status = 'leased' AND t.leased_until < now()))
                    ORDER BY t.id LIMIT :limit FOR UPDATE SKIP LOCKED
                )
                UPDATE follow_up_targets t SET status = 'leased', attempts = t.attempts + 1,
                       leased_until = now() + make_interval(secs => :seconds)
                FROM due, persons p, follow_up_campaigns c
                WHERE t.id = due.id AND p.id = t.person_id AND c.id = t.campaign_id
                RETURNING t.id, p.email, p.name, c.sent_at
            """),
            {"campaign_id": campaign_id, "limit": limit, "seconds": seconds},
        )
        return [MailLease(r.id, r.email, r.name, r.sent_at) for r in rows.all()]

    async def mark_mailed(self, ids: list[int]) -> None:
        await self.db.execute(
            text("""
                UPDATE follow_up_targets SET status = 'sent', sent_at = now(),
                       leased_until = NULL, last_error = NULL
                WHERE id = ANY(:ids) AND status = 'leased'
            """),
            {"ids": ids},
        )

    async def mark_unsent(self, ids: list[int], errors: list[str], max_attempts: int) -> None:
        """Back to pending for another try, or failed after max_attempts."""
        await self.db.execute(
            text("""
                UPDATE follow_up_targets t SET leased_until = NULL, last_error = e.error,
                       status = CASE WHEN t.attempts >= :max THEN 'failed' ELSE 'pending' END
                FROM unnest(CAST(:ids AS bigint[]), CAST(:errors AS text[])) AS e(id, error)
                WHERE t.id = e.id AND t.status = 'leased'
            """),
            {"ids": ids, "errors": errors, "max": max_attempts},
        )

    async def mail_left(self, campaign_id: int) -> int:
        found = await self.db.scalar(
            text("""
                SELECT count(*) FROM follow_up_targets
                WHERE campaign_id = :campaign_id AND channel = 'mail'
                  AND status IN ('pending', 'leased')
            """),
            {"campaign_id": campaign_id},
        )
        return int(found or 0)

    # the form and answers

    async def form_target(
        self, *, target_id: int | None = None, short_code: str | None = None
    ) -> Any:
        where = "t.id = :target_id" if target_id is not None else "t.short_code = :short_code"
        row = (
            await self.db.execute(
                text(
                    """
                    SELECT t.id AS target_id, t.campaign_id, t.person_id, c.title, c.status,
                           c.closes_at, p.name, p.age_band, p.withdrawn_at
                    FROM follow_up_targets t JOIN follow_up_campaigns c ON c.id = t.campaign_id
                    JOIN persons p ON p.id = t.person_id
                    WHERE """
                    + where
                ),
                {"target_id": target_id, "short_code": short_code},
            )
        ).one_or_none()
        return row

    async def person_in_campaign(self, campaign_id: int, person_id: int) -> Any:
        return (
            await self.db.execute(
                text("""
                    SELECT p.id AS person_id, p.name, p.age_band, p.withdrawn_at
                    FROM persons p WHERE p.id = :person_id
                """),
                {"person_id": person_id},
            )
        ).one_or_none()

    async def answer(
        self, campaign_id: int, person_id: int, *, lock: bool = False
    ) -> FollowUpAnswer | None:
        stmt = select(FollowUpAnswer).where(
            FollowUpAnswer.campaign_id == campaign_id, FollowUpAnswer.person_id == person_id
        )
        if lock:
            stmt = stmt.with_for_update()
        return (await self.db.scalars(stmt)).one_or_none()

    async def add_answer(self, answer: FollowUpAnswer) -> FollowUpAnswer:
        self.db.add(answer)
        await self.db.flush()
        return answer

    async def flush(self) -> None:
        await self.db.flush()

    async def touch_person(self, person_id: int, at: datetime) -> None:
        await self.db.execute(
            text("UPDATE persons SET last_active_at = :at WHERE id = :person_id"),
            {"at": at, "person_id": person_id},
        )
