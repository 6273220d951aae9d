"""The queries of the retention purge: old bookings lose their personal data, keep their
counts (status, check-in, channel, how they heard)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Text,
    case,
    cast,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from service.domain.bookings.models import Booking, BookingCompanion
from service.domain.events.models import EventSession
from service.domain.indicators.models import SurveyAnswer
from service.domain.outbox_repository import notifications
from service.domain.people.models import Person

PURGED_TEXT = "（削除済み）"


def _removable(p: type[Person], cutoff: datetime) -> tuple[ColumnElement[bool], ...]:
    """A person the purge may remove: inactive since the cutoff, and not kept by their consent
    to news (a withdrawn person's consent keeps nothing); no booking points at them."""
    return (
        p.last_active_at < cutoff,
        or_(~p.consent_news, p.withdrawn_at.is_not(None)),
        ~exists().where(Booking.person_id == p.id),
    )


def _purged(value: InstrumentedAttribute[str | None]) -> ColumnElement[str | None]:
    """The purged text where there was one; NULL stays NULL."""
    return case((value.is_(None), None), else_=PURGED_TEXT)


class RetentionRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def due_bookings(self, ended_before: datetime, limit: int) -> list[int]:
        b, s = Booking, EventSession
        rows = await self.db.scalars(
            select(b.id)
            .join(s, s.id == b.session_id)
            .where(s.ends_at < ended_before, b.purged_at.is_(None))
            .order_by(b.id)
            .limit(limit)
            .with_for_update(of=b, skip_locked=True)
        )
        return [int(i) for i in rows.all()]

    async def purge_bookings(self, ids: list[int]) -> list[int]:
        """Replaces the bookings' contact details and comments; the persons they pointed at."""
        b = Booking
        # The row as it was (UPDATE ... FROM itself), for the person_id the update clears.
        old = aliased(Booking, name="old")
        rows = await self.db.execute(
            update(b)
            .where(b.id == old.id, b.id.in_(ids))
            .values(
                phone="-" + cast(b.id, Text),
                email=None,
                cancel_reason=_purged(b.cancel_reason),
                note=_purged(b.note),
                needs=_purged(b.needs),
                person_id=None,
                purged_at=func.now(),
            )
            .returning(old.person_id)
            .execution_options(synchronize_session=False)
        )
        return sorted({int(p) for (p,) in rows.all() if p is not None})

    async def remove_unreferenced_persons(self, person_ids: list[int], cutoff: datetime) -> int:
        """Persons with no booking left, no activity since the cutoff and no consent to be
        kept (news): someone who booked or registered recently, or asked for news, stays."""
        p = Person
        result = await self.db.execute(
            delete(p)
            .where(p.id.in_(person_ids), *_removable(p, cutoff))
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def remove_inactive_persons(self, cutoff: datetime, limit: int) -> int:
        """Registered persons without bookings, inactive since the cutoff, not kept by consent."""
        p = aliased(Person, name="p")
        due = (
            select(p.id)
            .where(*_removable(p, cutoff))
            .order_by(p.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        result = await self.db.execute(
            delete(Person)
            .where(Person.id.in_(due.scalar_subquery()))
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def clear_related(self, ids: list[int]) -> None:
        """Companions' names, mail payloads (names, addresses) and survey comments of the
        purged bookings."""
        await self.db.execute(
            update(BookingCompanion)
            .where(BookingCompanion.booking_id.in_(ids))
            .values(name=PURGED_TEXT, name_kana="")
            .execution_options(synchronize_session=False)
        )
        await self.db.execute(
            update(notifications)
            .where(notifications.c.booking_id.in_(ids))
            .values(payload={}, last_error=None)
        )
        await self.db.execute(
            update(SurveyAnswer)
            .where(SurveyAnswer.booking_id.in_(ids))
            .values(comment="")
            .execution_options(synchronize_session=False)
        )
