"""Every query of the LINE channel. Webhook events are claimed with SKIP LOCKED (a job run twice,
or two workers, take each event once); nonces and desk codes are used by one conditional UPDATE
(two accountLink events with the same nonce link at most once)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, any_, delete, func, literal, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.models import Booking
from service.domain.line.models import (
    LineDelivery,
    LineDeskCode,
    LineFollow,
    LineLink,
    LineLinkNonce,
    LineNewsSend,
    LineWebhookEvent,
)
from service.domain.people.models import Person

# The follows are counted in Tokyo's calendar months.
_TOKYO = "Asia/Tokyo"


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    webhook_event_id: str
    event_type: str
    is_redelivery: bool
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewsPrefs:
    consent: bool = False
    sectors: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()


class LineRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    # the webhook's inbox

    async def store_events(self, events: Sequence[IncomingEvent]) -> list[int]:
        """The new ones' ids: an event already stored (a redelivery) adds nothing."""
        if not events:
            return []
        stmt = (
            insert(LineWebhookEvent)
            .values(
                [
                    {
                        "webhook_event_id": e.webhook_event_id,
                        "event_type": e.event_type,
                        "is_redelivery": e.is_redelivery,
                        "payload": e.payload,
                    }
                    for e in events
                ]
            )
            .on_conflict_do_nothing(index_elements=["webhook_event_id"])
            .returning(LineWebhookEvent.id)
        )
        return sorted(int(i) for i in (await self.db.scalars(stmt)).all())

    async def claim_event(self, event_id: int) -> LineWebhookEvent | None:
        stmt = (
            select(LineWebhookEvent)
            .where(LineWebhookEvent.id == event_id, LineWebhookEvent.processed_at.is_(None))
            .with_for_update(skip_locked=True)
        )
        return (await self.db.scalars(stmt)).one_or_none()

    async def mark_processed(self, event_id: int, error: str | None = None) -> None:
        await self.db.execute(
            update(LineWebhookEvent)
            .where(LineWebhookEvent.id == event_id)
            .values(
                processed_at=func.now(),
                attempts=LineWebhookEvent.attempts + 1,
                last_error=error,
            )
        )

    async def mark_attempt_failed(self, event_id: int, error: str) -> None:
        await self.db.execute(
            update(LineWebhookEvent)
            .where(LineWebhookEvent.id == event_id)
            .values(attempts=LineWebhookEvent.attempts + 1, last_error=error[:2000])
        )

    async def unprocessed_ids(self, settle: timedelta, limit: int) -> list[int]:
        stmt = (
            select(LineWebhookEvent.id)
            .where(
                LineWebhookEvent.processed_at.is_(None),
                LineWebhookEvent.received_at < func.now() - settle,
            )
            .order_by(LineWebhookEvent.id)
            .limit(limit)
        )
        return [int(i) for i in (await self.db.scalars(stmt)).all()]

    async def purge(self, events_before: datetime, now: datetime) -> dict[str, int]:
        """Processed webhook events past their keeping (they hold user ids and what people
        wrote), and nonces and desk codes that can no longer be used."""
        counts: dict[str, int] = {}
        for name, stmt in (
            (
                "webhook_events",
                delete(LineWebhookEvent).where(
                    LineWebhookEvent.processed_at.is_not(None),
                    LineWebhookEvent.received_at < events_before,
                ),
            ),
            ("link_nonces", delete(LineLinkNonce).where(LineLinkNonce.expires_at < now)),
            ("desk_codes", delete(LineDeskCode).where(LineDeskCode.expires_at < now)),
        ):
            result = await self.db.execute(stmt.returning(literal_column("1", Integer)))
            counts[name] = len(result.all())
        return counts

    # follows

    async def add_follow(
        self, webhook_event_id: str, user_hash: str, kind: str, occurred_at: datetime
    ) -> None:
        await self.db.execute(
            insert(LineFollow)
            .values(
                webhook_event_id=webhook_event_id,
                user_hash=user_hash,
                kind=kind,
                occurred_at=occurred_at,
            )
            .on_conflict_do_nothing(index_elements=["webhook_event_id"])
        )

    async def first_follow_month(self) -> str | None:
        value = await self.db.scalar(
            select(
                func.to_char(func.min(func.timezone(_TOKYO, LineFollow.occurred_at)), "YYYY-MM")
            ).where(LineFollow.kind == "follow")
        )
        return str(value) if value else None

    async def new_follows_by_month(
        self, starts_at: datetime, ends_before: datetime
    ) -> dict[str, int]:
        """Each user's first follow in [starts_at, ends_before), counted in its Tokyo month."""
        f = LineFollow
        month = func.to_char(func.timezone(_TOKYO, func.min(f.occurred_at)), "YYYY-MM")
        firsts = (
            select(month.label("month"))
            .where(f.kind == "follow", f.occurred_at >= starts_at, f.occurred_at < ends_before)
            .group_by(f.user_hash)
            .subquery("firsts")
        )
        rows = await self.db.execute(
            select(firsts.c.month, func.count().label("n")).group_by(firsts.c.month)
        )
        return {str(r.month): int(r.n) for r in rows}

    # links

    async def link_of_user(self, line_user_id: str) -> LineLink | None:
        stmt = select(LineLink).where(LineLink.line_user_id == line_user_id)
        return (await self.db.scalars(stmt)).one_or_none()

    async def link_of_person(self, person_id: int) -> LineLink | None:
        stmt = select(LineLink).where(LineLink.person_id == person_id)
        return (await self.db.scalars(stmt)).one_or_none()

    async def set_following(self, line_user_id: str, following: bool) -> None:
        await self.db.execute(
            update(LineLink)
            .where(LineLink.line_user_id == line_user_id)
            .values(following=following)
        )

    async def set_news_consent(self, line_user_id: str, consent: bool) -> bool:
        result = await self.db.execute(
            update(LineLink)
            .where(LineLink.line_user_id == line_user_id)
            .values(news_consent=consent)
            .returning(LineLink.id)
        )
        return result.scalar_one_or_none() is not None

    async def link(self, line_user_id: str, person_id: int, prefs: NewsPrefs) -> None:
        """One LINE user per person and one person per LINE user: a new link replaces either."""
        await self.db.execute(
            delete(LineLink).where(
                (LineLink.line_user_id == line_user_id) | (LineLink.person_id == person_id)
            )
        )
        self.db.add(
            LineLink(
                line_user_id=line_user_id,
                person_id=person_id,
                following=True,
                prefers_line=True,
                news_consent=prefs.consent,
                news_sectors=list(prefs.sectors),
                news_kinds=list(prefs.kinds),
            )
        )
        await self.db.flush()

    async def unlink_user(self, line_user_id: str) -> int | None:
        result = await self.db.execute(
            delete(LineLink)
            .where(LineLink.line_user_id == line_user_id)
            .returning(LineLink.person_id)
        )
        value = result.scalar_one_or_none()
        return int(value) if value is not None else None

    async def unlink_person(self, person_id: int) -> bool:
        result = await self.db.execute(
            delete(LineLink).where(LineLink.person_id == person_id).returning(LineLink.id)
        )
        return result.scalar_one_or_none() is not None

    async def add_nonce(
        self, nonce: str, person_id: int, expires_at: datetime, prefs: NewsPrefs
    ) -> None:
        self.db.add(
            LineLinkNonce(
                nonce=nonce,
                person_id=person_id,
                expires_at=expires_at,
                news_consent=prefs.consent,
                news_sectors=list(prefs.sectors),
                news_kinds=list(prefs.kinds),
            )
        )
        await self.db.flush()

    async def use_nonce(self, nonce: str, now: datetime) -> LineLinkNonce | None:
        stmt = (
            update(LineLinkNonce)
            .where(
                LineLinkNonce.nonce == nonce,
                LineLinkNonce.used_at.is_(None),
                LineLinkNonce.expires_at > now,
            )
            .values(used_at=now)
            .returning(LineLinkNonce)
        )
        return (await self.db.scalars(stmt)).one_or_none()

    async def add_desk_code(
        self, code_hash: str, person_id: int, expires_at: datetime, staff_id: int | None
    ) -> None:
        # One live code per person: an earlier one stops working.
        await self.db.execute(
            update(LineDeskCode)
            .where(LineDeskCode.person_id == person_id, LineDeskCode.used_at.is_(None))
            .values(used_at=func.now())
        )
        self.db.add(
            LineDeskCode(
                code_hash=code_hash,
                person_id=person_id,
                expires_at=expires_at,
                created_by_id=staff_id,
            )
        )
        await self.db.flush()

    async def use_desk_code(self, code_hash: str, now: datetime) -> int | None:
        result = await self.db.execute(
            update(LineDeskCode)
            .where(
                LineDeskCode.code_hash == code_hash,
                LineDeskCode.used_at.is_(None),
                LineDeskCode.expires_at > now,
            )
            .values(used_at=now)
            .returning(LineDeskCode.person_id)
        )
        value = result.scalar_one_or_none()
        return int(value) if value is not None else None

    # bookings as the LINE channel sees them

    async def person_of_booking(self, booking_id: int) -> int | None:
        value = await self.db.scalar(select(Booking.person_id).where(Booking.id == booking_id))
        return int(value) if value is not None else None

    async def booking_of_person(self, booking_id: int, person_id: int) -> tuple[str, str] | None:
        """(code, phone) of the person's own booking, for a cancel asked for in the chat."""
        row = (
            await self.db.execute(
                select(Booking.code, Booking.phone).where(
                    Booking.id == booking_id, Booking.person_id == person_id
                )
            )
        ).one_or_none()
        return (str(row.code), str(row.phone)) if row is not None else None

    async def push_target(self, booking_id: int) -> str | None:
        """The LINE user to push a booking's notices to: linked, following, preferring LINE."""
        stmt = (
            select(LineLink.line_user_id)
            .join(Booking, Booking.person_id == LineLink.person_id)
            .join(Person, Person.id == LineLink.person_id)
            .where(
                Booking.id == booking_id,
                LineLink.following.is_(True),
                LineLink.prefers_line.is_(True),
                # A person who withdrew is never contacted again.
                Person.withdrawn_at.is_(None),
            )
        )
        value = await self.db.scalar(stmt)
        return str(value) if value is not None else None

    # deliveries of notices

    async def delivery_for(self, notification_id: int, retry_key: str) -> LineDelivery:
        """The notice's delivery, made on first use with its retry key (kept for every try)."""
        await self.db.execute(
            insert(LineDelivery)
            .values(notification_id=notification_id, retry_key=retry_key, status="sending")
            .on_conflict_do_nothing(index_elements=["notification_id"])
        )
        stmt = (
            select(LineDelivery)
            .where(LineDelivery.notification_id == notification_id)
            .execution_options(populate_existing=True)
        )
        return (await self.db.scalars(stmt)).one()

    async def finish_delivery(
        self, delivery_id: int, *, sent: bool, attempts: int, error: str | None
    ) -> None:
        await self.db.execute(
            update(LineDelivery)
            .where(LineDelivery.id == delivery_id)
            .values(
                status="sent" if sent else "failed",
                attempts=LineDelivery.attempts + attempts,
                last_error=error,
                sent_at=func.now() if sent else None,
            )
        )

    # news

    async def news_recipients(self, sector: str, kind: str) -> list[str]:
        """Linked, following people who agreed to news and asked for this sector or kind
        (nothing asked for: every event)."""
        stmt = (
            select(LineLink.line_user_id)
            .join(Person, Person.id == LineLink.person_id)
            .where(
                LineLink.following.is_(True),
                LineLink.news_consent.is_(True),
                Person.withdrawn_at.is_(None),
                and_(
                    (func.cardinality(LineLink.news_sectors) == 0)
                    | (literal(sector) == any_(LineLink.news_sectors)),
                    (func.cardinality(LineLink.news_kinds) == 0)
                    | (literal(kind) == any_(LineLink.news_kinds)),
                ),
            )
            .order_by(LineLink.id)
        )
        return [str(u) for u in (await self.db.scalars(stmt)).all()]

    async def claim_news_send(
        self, event_id: int, audience: str, recipients: int, retry_key: str, staff_id: int | None
    ) -> LineNewsSend | None:
        """The send of this event's news to this audience, or None when it was sent already."""
        stmt = (
            insert(LineNewsSend)
            .values(
                event_id=event_id,
                audience=audience,
                recipients=recipients,
                retry_key=retry_key,
                status="sending",
                created_by_id=staff_id,
            )
            .on_conflict_do_nothing(constraint="uq_line_news_sends_event_audience")
            .returning(LineNewsSend)
        )
        return (await self.db.scalars(stmt)).one_or_none()

    async def news_send(self, event_id: int, audience: str) -> LineNewsSend | None:
        stmt = select(LineNewsSend).where(
            LineNewsSend.event_id == event_id, LineNewsSend.audience == audience
        )
        return (await self.db.scalars(stmt)).one_or_none()

    async def news_send_by_id(self, send_id: int) -> LineNewsSend | None:
        return await self.db.get(LineNewsSend, send_id)

    async def retry_news_send(self, send_id: int) -> None:
        await self.db.execute(
            update(LineNewsSend)
            .where(LineNewsSend.id == send_id, LineNewsSend.status == "failed")
            .values(status="sending", attempts=LineNewsSend.attempts + 1, last_error=None)
        )

    async def finish_news_send(self, send_id: int, *, sent: bool, error: str | None) -> None:
        await self.db.execute(
            update(LineNewsSend)
            .where(LineNewsSend.id == send_id)
            .values(
                status="sent" if sent else "failed",
                last_error=error,
                sent_at=func.now() if sent else None,
            )
        )
