"""Every query on the notification outbox, and the booking facts a mail needs."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    DateTime,
    Interval,
    String,
    Time,
    and_,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.bookings.models import Booking
from service.domain.events.models import Event, EventSession, Venue, event_cohosts
from service.domain.events.reminders import REMINDER_HORIZON, REMINDER_SEND_TIME
from service.domain.line.models import LineLink
from service.domain.notifications.models import Notification
from service.domain.people.models import Person


@dataclass(frozen=True)
class MailFacts:
    """What a notice says: the booking as it is when the mail is sent."""

    booking_id: int
    code: str
    booking_status: str
    waitlist_position: int | None
    email: str | None
    name: str
    event_title: str
    event_kind: str
    contact: str
    what_to_bring: str
    starts_at: datetime
    ends_at: datetime
    session_status: str
    session_cancel_reason: str | None
    venue_name: str
    venue_address: str
    venue_ward: str
    access_notes: str
    calendar_token: str
    party_size: int = 1
    call_reminders: bool = False
    phone: str = ""
    is_online: bool = False
    join_url: str | None = None
    join_instructions: str | None = None


# Put off by a failed SMTP attempt (a failure that may pass: 4xx, no answer), not yet due again.
_WAITING_FOR_RETRY = and_(
    Notification.status == "pending",
    Notification.attempts > 0,
    Notification.send_after > func.now(),
    Notification.last_error.like("smtp:%"),
)
# The reminders' days count in Tokyo's calendar.
_TOKYO = "Asia/Tokyo"


def _add_notices(rows: Any) -> Any:
    """INSERT of (booking_id, kind, dedup_key, payload) rows; a dedup key already there adds
    nothing (a second run, or a second worker). RETURNING the new ids."""
    return (
        insert(Notification)
        .from_select(["booking_id", "kind", "dedup_key", "payload"], rows)
        .on_conflict_do_nothing(index_elements=[Notification.dedup_key])
        .returning(Notification.id)
    )


def _takeable() -> Any:
    """A notice a worker may take now: pending and due, or "sending" with a lease that ran out
    (the worker holding it died)."""
    return or_(
        and_(Notification.status == "pending", Notification.send_after <= clock.now()),
        and_(Notification.status == "sending", Notification.lease_until < func.now()),
    )


def _mail_facts() -> Any:
    """The booking as a notice tells it (MailFacts' columns)."""
    return (
        select(
            Booking.id.label("booking_id"),
            Booking.code,
            Booking.status.label("booking_status"),
            Booking.waitlist_position,
            Booking.email,
            Person.name,
            Event.title.label("event_title"),
            Event.kind.label("event_kind"),
            Event.contact,
            Event.what_to_bring,
            EventSession.starts_at,
            EventSession.ends_at,
            EventSession.status.label("session_status"),
            EventSession.cancel_reason.label("session_cancel_reason"),
            Venue.name.label("venue_name"),
            Venue.address.label("venue_address"),
            Venue.ward.label("venue_ward"),
            Venue.access_notes,
            Booking.calendar_token,
            Booking.party_size,
            Event.call_reminders,
            Booking.phone,
            EventSession.is_online,
            EventSession.join_url,
            EventSession.join_instructions,
        )
        .join(Person, Person.id == Booking.person_id)
        .join(EventSession, EventSession.id == Booking.session_id)
        .join(Event, Event.id == EventSession.event_id)
        .join(Venue, Venue.id == EventSession.venue_id)
    )


class NotificationRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def take_lease(
        self, notification_id: int, lease: timedelta, message_id: str
    ) -> Notification | None:
        """Mark the notice "sending" until now + lease, if it is pending and due or its last
        lease ran out (the worker holding it died). None when it is not to be sent now (sent,
        skipped, or another worker holds a live lease). The Message-ID is stored on the first
        lease and kept for every later one."""
        # SKIP LOCKED: a worker taking the same notice this instant gets it; this one moves on.
        takeable = (
            select(Notification.id)
            .where(
                Notification.id == notification_id,
                _takeable(),
            )
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            update(Notification)
            .where(Notification.id == takeable)
            .values(
                status="sending",
                lease_until=func.now() + lease,
                claims=Notification.claims + 1,
                message_id=func.coalesce(Notification.message_id, message_id),
            )
            .returning(Notification)
            .execution_options(populate_existing=True)
        )
        return (await self.db.scalars(stmt)).one_or_none()

    async def take_due_leases(
        self, kinds: Sequence[str], limit: int, lease: timedelta, message_id_domain: str
    ) -> list[Notification]:
        """take_lease for up to `limit` due notices of these kinds in one statement, oldest
        first; another worker's batch skips the rows this one holds. New Message-IDs are made
        in the database, in the form of mail.new_message_id."""
        takeable = (
            select(Notification.id)
            .where(Notification.kind.in_(kinds), _takeable())
            .order_by(Notification.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        random_part = func.substr(func.md5(cast(func.gen_random_uuid(), String)), 1, 12)
        new_id = func.concat(
            "<notification-", Notification.id, ".", random_part, "@", message_id_domain, ">"
        )
        stmt = (
            update(Notification)
            .where(Notification.id.in_(takeable.scalar_subquery()))
            .values(
                status="sending",
                lease_until=func.now() + lease,
                claims=Notification.claims + 1,
                message_id=func.coalesce(Notification.message_id, new_id),
            )
            .returning(Notification)
            .execution_options(populate_existing=True)
        )
        return sorted((await self.db.scalars(stmt)).all(), key=lambda n: n.id)

    async def get(self, notification_id: int) -> Notification | None:
        return await self.db.get(Notification, notification_id)

    async def mail_facts(self, booking_id: int) -> MailFacts | None:
        stmt = _mail_facts().where(Booking.id == booking_id)
        row = (await self.db.execute(stmt)).one_or_none()
        return None if row is None else MailFacts(**row._asdict())

    async def mail_facts_of(self, booking_ids: Collection[int]) -> dict[int, MailFacts]:
        """mail_facts for many bookings in one statement, by booking id."""
        rows = await self.db.execute(_mail_facts().where(Booking.id.in_(list(booking_ids))))
        return {row.booking_id: MailFacts(**row._asdict()) for row in rows.all()}

    async def mark_sent(self, notice: Notification) -> bool:
        """Sent, if this worker's lease is still the current one (False: the lease ran out and
        another worker took the notice over, so the receiver may get a copy)."""
        return await self._update_leased(
            notice,
            status="sent",
            attempts=notice.attempts + 1,
            sent_at=func.now(),
            last_error=None,
            lease_until=None,
        )

    async def mark_sent_many(self, notices: Sequence[Notification]) -> set[int]:
        """mark_sent for a batch in one statement; the ids marked (a notice whose lease another
        worker took over meanwhile is left to it)."""
        if not notices:
            return set()
        held = [(n.id, n.claims) for n in notices]
        rows = await self.db.scalars(
            update(Notification)
            .where(
                tuple_(Notification.id, Notification.claims).in_(held),
                Notification.status == "sending",
            )
            .values(
                status="sent",
                attempts=Notification.attempts + 1,
                sent_at=func.now(),
                last_error=None,
                lease_until=None,
            )
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
        return set(rows.all())

    async def mark_skipped(self, notice: Notification, reason: str) -> None:
        await self._update_leased(notice, status="skipped", last_error=reason, lease_until=None)

    async def mark_failed_attempt(
        self, notice: Notification, error: str, retry_in: timedelta | None
    ) -> None:
        """One more failed attempt; pending again after `retry_in`, or failed for good."""
        values: dict[str, Any] = {
            "attempts": notice.attempts + 1,
            "last_error": error[:2000],
            "lease_until": None,
            "status": "failed" if retry_in is None else "pending",
        }
        if retry_in is not None:
            values["send_after"] = clock.now() + retry_in
        await self._update_leased(notice, **values)

    async def extend_lease(self, notice: Notification, lease: timedelta) -> bool:
        """A fresh lease for the holder (after a LINE push that failed, before the mail)."""
        return await self._update_leased(notice, lease_until=func.now() + lease)

    async def _update_leased(self, notice: Notification, **values: Any) -> bool:
        result = await self.db.execute(
            update(Notification)
            .where(
                Notification.id == notice.id,
                Notification.status == "sending",
                Notification.claims == notice.claims,
            )
            .values(**values)
            .returning(Notification.id)
        )
        return result.scalar_one_or_none() is not None

    async def any_waiting_for_smtp(self) -> bool:
        """Whether some mail waits for a retry after an SMTP failure."""
        found = await self.db.scalar(select(exists().where(_WAITING_FOR_RETRY)))
        return bool(found)

    async def bring_forward_smtp_retries(self) -> list[int]:
        """Every mail waiting for a retry after an SMTP failure, due now."""
        rows = await self.db.scalars(
            update(Notification)
            .where(_WAITING_FOR_RETRY)
            .values(send_after=func.now())
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(int(r) for r in rows)

    async def due_ids(self, limit: int, settle: timedelta) -> list[tuple[int, bool]]:
        """Notices a worker should take now (pending and due, or "sending" with a lease that ran
        out), each with whether it is fresh: pending and written less than `settle` ago, so its
        job from the commit is most likely still on its way."""
        fresh = and_(
            Notification.status == "pending", Notification.created_at > func.now() - settle
        )
        stmt = (
            select(Notification.id, fresh).where(_takeable()).order_by(Notification.id).limit(limit)
        )
        return [(int(i), bool(f)) for i, f in (await self.db.execute(stmt)).all()]

    async def add_survey_invitations(
        self, ended_from: datetime, ended_before: datetime, kinds: tuple[str, ...]
    ) -> list[int]:
        """A survey invitation for every attended booking with an address (or a linked LINE)
        of a session of these kinds that ended in the window; at most one per booking, ever."""
        b, se = Booking, EventSession
        # Reached by the desk's LINE instead (service/domain/line).
        on_line = exists().where(
            LineLink.person_id == b.person_id, LineLink.following, LineLink.prefers_line
        )
        invited = (
            select(
                b.id,
                literal("survey"),
                func.concat("survey:", b.id),
                func.jsonb_build_object("session_id", se.id),
            )
            .join(se, se.id == b.session_id)
            .join(Event, Event.id == se.event_id)
            .where(
                b.status == "confirmed",
                b.checked_in_at.is_not(None),
                or_(b.email.is_not(None), on_line),
                se.status == "scheduled",
                Event.kind.in_(kinds),
                se.ends_at >= ended_from,
                se.ends_at < ended_before,
            )
            .order_by(b.id)
        )
        result = await self.db.execute(_add_notices(invited))
        return sorted(int(row[0]) for row in result)

    async def add_reminders(self, now: datetime) -> list[int]:
        """Every due reminder: for each of the event's reminder days, due at 9:00 Tokyo that
        many days before the session's day. The dedup key (booking, days) makes a second run,
        or a second worker, add nothing."""
        b, se = Booking, EventSession
        days = func.unnest(Event.reminder_days).table_valued("days").render_derived().lateral("d")
        at = literal(now, DateTime(timezone=True))
        # 9:00 Tokyo, that many days before the session's day in Tokyo.
        day = cast(func.timezone(_TOKYO, se.starts_at), Date) - days.c.days
        due_at = func.timezone(_TOKYO, day + literal(REMINDER_SEND_TIME, Time))
        due = (
            select(
                b.id.label("booking_id"),
                se.id.label("session_id"),
                days.c.days,
                b.confirmed_at,
                due_at.label("due_at"),
            )
            .join(se, se.id == b.session_id)
            .join(Event, Event.id == se.event_id)
            .join(days, true())
            .where(
                b.status == "confirmed",
                se.status == "scheduled",
                Event.status == "published",
                se.starts_at > at,
                se.starts_at < at + literal(REMINDER_HORIZON, Interval),
            )
            .cte("due")
        )
        # The latest reminder due (the fewest days before); a booking made after it is due
        # gets none.
        latest = (
            select(due)
            .where(due.c.due_at <= at)
            .ext(distinct_on(due.c.booking_id))
            .order_by(due.c.booking_id, due.c.days)
            .cte("latest")
        )
        reminders = (
            select(
                latest.c.booking_id,
                literal("reminder"),
                func.concat("reminder:", latest.c.booking_id, ":", latest.c.days),
                func.jsonb_build_object(
                    "session_id", latest.c.session_id, "days_before", latest.c.days
                ),
            )
            .where(latest.c.confirmed_at < latest.c.due_at)
            .order_by(latest.c.booking_id)
        )
        result = await self.db.execute(_add_notices(reminders))
        return sorted(int(row[0]) for row in result)

    async def outbox_backlog(self) -> tuple[int, float]:
        """(pending notices, age in seconds of the oldest one; 0 when none): the operators'
        signal that mail is not going out."""
        age = func.extract("epoch", func.now() - func.min(Notification.created_at))
        row = (
            await self.db.execute(
                select(func.count().label("n"), func.coalesce(age, 0).label("age")).where(
                    Notification.status == "pending"
                )
            )
        ).one()
        return int(row.n), float(row.age)


@dataclass(frozen=True, slots=True)
class MailRecord:
    """One notice of a booking as staff see it: what, when, and what went wrong."""

    id: int
    booking_id: int
    kind: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    send_after: datetime
    code: str = ""
    name: str = ""
    email: str | None = None
    event_title: str = ""
    session_id: int = 0


def _records() -> Any:
    n = Notification
    return (
        select(
            n.id,
            n.booking_id,
            n.kind,
            n.status,
            n.attempts,
            n.last_error,
            n.created_at,
            n.sent_at,
            n.send_after,
            Booking.code,
            func.coalesce(Person.name, "（削除済み）").label("name"),
            Booking.email,
            Event.title.label("event_title"),
            Booking.session_id,
        )
        .join(Booking, Booking.id == n.booking_id)
        .outerjoin(Person, Person.id == Booking.person_id)
        .join(EventSession, EventSession.id == Booking.session_id)
        .join(Event, Event.id == EventSession.event_id)
    )


def _cohosted_by(org_id: int) -> Any:
    return exists().where(
        event_cohosts.c.event_id == Event.id, event_cohosts.c.organization_id == org_id
    )


class MailHistoryRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def of_booking(self, booking_id: int) -> list[MailRecord]:
        rows = await self.db.execute(
            _records()
            .where(Notification.booking_id == booking_id)
            .order_by(Notification.created_at, Notification.id)
        )
        return [MailRecord(**r._mapping) for r in rows]

    async def failed(self, org_id: int | None, limit: int = 500) -> list[MailRecord]:
        return await self._listed(Notification.status == "failed", org_id, limit)

    async def waiting_for_retry(self, org_id: int | None, limit: int = 500) -> list[MailRecord]:
        """Mails an SMTP failure put off until a later attempt (still pending)."""
        return await self._listed(_WAITING_FOR_RETRY, org_id, limit)

    async def send_waiting_now(self, org_id: int | None) -> list[int]:
        """The mails waiting for a retry, due now (their count of attempts is kept)."""
        query = (
            update(Notification)
            .where(
                Booking.id == Notification.booking_id,
                EventSession.id == Booking.session_id,
                Event.id == EventSession.event_id,
                _WAITING_FOR_RETRY,
            )
            .values(send_after=func.now())
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
        if org_id is not None:
            query = query.where(_cohosted_by(org_id))
        rows = await self.db.scalars(query)
        return sorted(int(r) for r in rows)

    async def _listed(self, condition: Any, org_id: int | None, limit: int) -> list[MailRecord]:
        query = (
            _records()
            .where(condition)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
        if org_id is not None:
            query = query.where(_cohosted_by(org_id))
        rows = await self.db.execute(query)
        return [MailRecord(**r._mapping) for r in rows]

    async def booking_of(self, notification_id: int) -> int | None:
        value = await self.db.scalar(
            select(Notification.booking_id).where(Notification.id == notification_id)
        )
        return int(value) if value is not None else None

    async def retry(self, notification_ids: list[int]) -> list[int]:
        """Failed notices pending again, due now, with a fresh count of attempts."""
        rows = await self.db.scalars(
            update(Notification)
            .where(Notification.id.in_(notification_ids), Notification.status == "failed")
            .values(status="pending", attempts=0, send_after=func.now())
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(int(r) for r in rows)
