"""Organizations, venues, events (what is announced) and sessions (what is booked)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.domain.events.enums import (
    EVENT_KINDS,
    EVENT_STATUSES,
    ORGANIZATION_KINDS,
    SECTORS,
    SESSION_STATUSES,
    SUB_KINDS,
    WARDS,
)
from service.domain.events.reminders import DEFAULT_REMINDER_DAYS, REMINDER_DAYS_MAX
from service.platform.db import Base, Timestamped, one_of


class Organization(Timestamped, Base):
    __tablename__ = "organizations"
    __table_args__ = (one_of("kind", ORGANIZATION_KINDS),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))


class Venue(Timestamped, Base):
    __tablename__ = "venues"
    __table_args__ = (
        one_of("ward", WARDS),
        CheckConstraint(
            "(latitude IS NULL AND longitude IS NULL) OR (latitude BETWEEN -90 AND 90"
            " AND longitude BETWEEN -180 AND 180)",
            name="coordinates_valid",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    ward: Mapped[str] = mapped_column(String(20))
    access_notes: Mapped[str] = mapped_column(Text, default="")
    barrier_free_notes: Mapped[str] = mapped_column(Text, default="")
    # WGS 84, written as GEO in calendar files so phones can show the place on a map.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


event_cohosts = Table(
    "event_cohosts",
    Base.metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("organization_id", ForeignKey("organizations.id"), primary_key=True),
)

event_employers = Table(
    "event_employers",
    Base.metadata,
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("organization_id", ForeignKey("organizations.id"), primary_key=True),
)


class Event(Timestamped, Base):
    __tablename__ = "events"
    __table_args__ = (
        one_of("kind", EVENT_KINDS),
        one_of("sector", SECTORS),
        one_of("status", EVENT_STATUSES),
        one_of("sub_kind", SUB_KINDS),
        CheckConstraint("length(btrim(title)) > 0", name="title_not_blank"),
        CheckConstraint("max_companions BETWEEN 0 AND 5", name="max_companions_range"),
        CheckConstraint("fee_yen >= 0", name="fee_not_negative"),
        CheckConstraint(
            "reminder_days <@ ARRAY["
            + ",".join(str(day) for day in range(1, REMINDER_DAYS_MAX + 1))
            + "]::smallint[]",
            name="reminder_days_range",
        ),
        Index("ix_events_status_sector_kind", "status", "sector", "kind"),
        CheckConstraint(
            "alarm_minutes_before IS NULL OR alarm_minutes_before BETWEEN 5 AND 10080",
            name="alarm_minutes_before_range",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20))
    sector: Mapped[str] = mapped_column(String(20))
    # The report's sub-kinds (middle_senior, side_job seminars): data the indicators match.
    sub_kind: Mapped[str | None] = mapped_column(String(20))
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(50)), default=list, server_default=text("'{}'")
    )
    status: Mapped[str] = mapped_column(String(20), default="draft", server_default="draft")
    organizer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    contact: Mapped[str] = mapped_column(String(300), default="")
    what_to_bring: Mapped[str] = mapped_column(Text, default="")
    # 参加費 in yen (0: 無料), who the event is for (対象), and when to come on a long day.
    fee_yen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    audience: Mapped[str] = mapped_column(String(300), default="", server_default="")
    arrival_note: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # How many companions (同伴者) one booking may bring; 0 turns companions off.
    max_companions: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    # Reminders go out this many days before a session (events/reminders.py: at 9:00 Japan time).
    reminder_days: Mapped[list[int]] = mapped_column(
        ARRAY(SmallInteger),
        default=lambda: list(DEFAULT_REMINDER_DAYS),
        server_default=text("'{" + ",".join(map(str, DEFAULT_REMINDER_DAYS)) + "}'"),
    )
    # People without e-mail get a call (電話連絡リスト) for the day-before reminder.
    call_reminders: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    # Set by the database on first publication: a cancelled draft never reaches public feeds.
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Reminders in the attendee's calendar file: the day before at 9:00 Japan time, and
    # this many minutes before the start (None: no such alarm).
    alarm_day_before: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    alarm_minutes_before: Mapped[int | None] = mapped_column(
        Integer, default=120, server_default="120"
    )

    organizer: Mapped[Organization] = relationship(lazy="raise")
    cohosts: Mapped[list[Organization]] = relationship(secondary=event_cohosts, lazy="raise")
    employers: Mapped[list[Organization]] = relationship(secondary=event_employers, lazy="raise")
    sessions: Mapped[list[EventSession]] = relationship(
        back_populates="event", lazy="raise", order_by="EventSession.starts_at"
    )


class EventSession(Timestamped, Base):
    """One bookable occurrence of an event (table `sessions`)."""

    __tablename__ = "sessions"
    __table_args__ = (
        one_of("status", SESSION_STATUSES),
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        CheckConstraint("waitlist_limit >= 0", name="waitlist_limit_not_negative"),
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        CheckConstraint("booking_closes_at > booking_opens_at", name="closes_after_opens"),
        CheckConstraint(
            "waitlist_count >= 0 AND waitlist_count <= waitlist_limit", name="waitlist_within_limit"
        ),
        Index("ix_sessions_starts_at", "starts_at"),
        Index("ix_sessions_event_id", "event_id"),
        CheckConstraint("revision >= 0", name="revision_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    venue_id: Mapped[int] = mapped_column(ForeignKey("venues.id"))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    capacity: Mapped[int] = mapped_column(Integer)
    waitlist_limit: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Live waitlisted bookings; the session row is the lock that keeps positions 1..n.
    waitlist_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    booking_opens_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    booking_closes_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(20), default="scheduled", server_default="scheduled")
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # Raised by a trigger (migration calendars_01) when the time, place, online mode or status
    # changes: the SEQUENCE calendar apps compare. updated_at moves with it.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Online: how to join, told only to confirmed people (done page, look-up, mails, calls),
    # never on public pages, feeds or .ics files.
    is_online: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # A matching day's session, kept by a trigger on matching_days (migration 0021): the booking
    # statement reads it, so a booking learns it is a matching day's without a round trip.
    matching_day: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    join_url: Mapped[str | None] = mapped_column(String(500))
    join_instructions: Mapped[str | None] = mapped_column(Text)

    event: Mapped[Event] = relationship(back_populates="sessions", lazy="raise")
    venue: Mapped[Venue] = relationship(lazy="raise")


class SessionSeat(Base):
    """One row per seat: bookers claim free seats with SKIP LOCKED, so a big rush does not
    queue behind a single counter row."""

    __tablename__ = "session_seats"
    __table_args__ = (
        UniqueConstraint("session_id", "seat_no", name="uq_session_seats_session_seat"),
        CheckConstraint("seat_no >= 1", name="seat_no_positive"),
        Index(
            "ix_session_seats_free",
            "session_id",
            "seat_no",
            postgresql_where=text("booking_id IS NULL"),
        ),
        Index("ix_session_seats_booking_id", "booking_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    seat_no: Mapped[int] = mapped_column(Integer)
    booking_id: Mapped[int | None] = mapped_column(
        # A party holds one seat per person (bookings.party_size seats).
        ForeignKey("bookings.id", ondelete="SET NULL", use_alter=True)
    )
