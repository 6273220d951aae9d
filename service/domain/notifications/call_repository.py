"""Every query on the call list (call_tasks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.models import Booking
from service.domain.events.models import Event, EventSession, event_cohosts
from service.domain.notifications.call_schemas import KINDS_BY_URGENCY, CallTaskView
from service.domain.notifications.models import CallTask, Notification
from service.domain.people.models import Person

# The order of kinds within a day, as a CASE on bound values (unknown kinds last).
_URGENCY = case(
    {kind: rank for rank, kind in enumerate(KINDS_BY_URGENCY, start=1)},
    value=CallTask.kind,
    else_=1000,
)


def _cohosted_by(org_id: int, event_id: Any) -> Any:
    return exists().where(
        event_cohosts.c.event_id == event_id, event_cohosts.c.organization_id == org_id
    )


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
            insert(CallTask)
            .values(
                booking_id=booking_id,
                notification_id=notification_id,
                kind=kind,
                reason=reason,
                script=script,
                due_at=due_at,
            )
            .on_conflict_do_nothing(index_elements=[CallTask.notification_id])
            .returning(CallTask.id)
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
        t = CallTask
        query = (
            select(
                t.id,
                t.booking_id,
                t.kind,
                t.reason,
                t.script,
                t.due_at,
                t.state,
                t.attempts,
                t.last_attempt_at,
                t.closed_at,
                t.created_at,
                Booking.code,
                Booking.status.label("booking_status"),
                Booking.party_size,
                Booking.phone,
                Booking.email,
                Person.name,
                Person.name_kana,
                EventSession.id.label("session_id"),
                EventSession.starts_at,
                Event.id.label("event_id"),
                Event.title.label("event_title"),
            )
            .join(Booking, Booking.id == t.booking_id)
            .join(Person, Person.id == Booking.person_id)
            .join(EventSession, EventSession.id == Booking.session_id)
            .join(Event, Event.id == EventSession.event_id)
            .order_by(
                t.state != "open",
                t.due_at >= today_end,
                EventSession.starts_at,
                _URGENCY,
                t.due_at,
                t.id,
            )
            .limit(limit)
        )
        if org_id is not None:
            query = query.where(_cohosted_by(org_id, Event.id))
        if state is not None:
            query = query.where(t.state == state)
        if day_end is not None:
            # Open tasks due by the day's end; closed ones closed during that day.
            query = query.where(
                or_(
                    and_(t.state == "open", t.due_at < day_end),
                    and_(t.state != "open", t.closed_at >= day_start, t.closed_at < day_end),
                )
            )
        if booking_id is not None:
            query = query.where(t.booking_id == booking_id)
        rows = await self.db.execute(query)
        return [CallTaskView(**r._mapping, due_today=r.due_at < today_end) for r in rows]

    async def has_task_for(self, notification_id: int) -> bool:
        found = await self.db.scalar(
            select(exists().where(CallTask.notification_id == notification_id))
        )
        return bool(found)

    async def untold_changes(
        self, booking_id: int, notification_id: int
    ) -> list[tuple[int, dict[str, Any] | None, str]]:
        """(task id, its notice's payload, state) of the booking's change tasks since the desk
        last spoke to the person (a call closed as done or declined), open or superseded, oldest
        first, other than this notice's; the open ones locked."""
        t = CallTask
        spoken = (
            select(func.coalesce(func.max(t.id), 0))
            .where(t.booking_id == booking_id, t.state.in_(("done", "declined")))
            .scalar_subquery()
        )
        rows = await self.db.execute(
            select(t.id, Notification.payload, t.state)
            .outerjoin(Notification, Notification.id == t.notification_id)
            .where(
                t.booking_id == booking_id,
                t.kind == "session_changed",
                t.state.in_(("open", "superseded")),
                t.id > spoken,
                t.notification_id != notification_id,
            )
            .order_by(t.id)
            .with_for_update(of=t)
        )
        return [(int(r[0]), r[1], str(r[2])) for r in rows]

    async def supersede(self, ids: list[int]) -> None:
        if ids:
            await self.db.execute(
                update(CallTask)
                .where(CallTask.id.in_(ids), CallTask.state == "open")
                .values(state="superseded", closed_at=func.now())
                .execution_options(synchronize_session=False)
            )

    async def lock_open(self, booking_id: int) -> list[int]:
        rows = await self.db.scalars(
            select(CallTask.id)
            .where(CallTask.booking_id == booking_id, CallTask.state == "open")
            .order_by(CallTask.id)
            .with_for_update()
        )
        return [int(r) for r in rows]

    async def close(self, ids: list[int], state: str, staff_id: int | None) -> None:
        await self.db.execute(
            update(CallTask)
            .where(CallTask.id.in_(ids))
            .values(
                state=state,
                closed_at=func.now(),
                closed_by_id=staff_id,
                attempts=CallTask.attempts + 1,
                last_attempt_at=func.now(),
            )
            .execution_options(synchronize_session=False)
        )

    async def try_later(self, ids: list[int], due_at: datetime) -> None:
        await self.db.execute(
            update(CallTask)
            .where(CallTask.id.in_(ids))
            .values(attempts=CallTask.attempts + 1, last_attempt_at=func.now(), due_at=due_at)
            .execution_options(synchronize_session=False)
        )

    async def open_counts(self, org_id: int | None, today_end: datetime) -> tuple[int, int]:
        """(open tasks due by the end of today, all open tasks)."""
        query = (
            select(
                func.count().filter(CallTask.due_at < today_end).label("today"),
                func.count().label("total"),
            )
            .select_from(CallTask)
            .join(Booking, Booking.id == CallTask.booking_id)
            .join(EventSession, EventSession.id == Booking.session_id)
            .where(CallTask.state == "open")
        )
        if org_id is not None:
            query = query.where(_cohosted_by(org_id, EventSession.event_id))
        row = (await self.db.execute(query)).one()
        return int(row.today), int(row.total)
