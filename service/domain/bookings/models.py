"""Bookings and the idempotency record of booking requests (the person a booking belongs to
is service.domain.people.models.Person, table `persons`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.domain.bookings.enums import (
    BOOKING_STATUSES,
    CHANNELS,
    HEARD_FROM,
)
from service.platform.db import Base, Timestamped, one_of

LIVE = text("status IN ('confirmed', 'waitlisted')")


class Booking(Timestamped, Base):
    __tablename__ = "bookings"
    __table_args__ = (
        one_of("status", BOOKING_STATUSES),
        one_of("channel", CHANNELS),
        one_of("heard_from", HEARD_FROM),
        CheckConstraint(
            "(status = 'waitlisted') = (waitlist_position IS NOT NULL)",
            name="waitlist_position_iff_waitlisted",
        ),
        CheckConstraint(
            "waitlist_position IS NULL OR waitlist_position <> 0", name="position_nonzero"
        ),
        CheckConstraint(
            "(status = 'cancelled') = (cancelled_at IS NOT NULL)", name="cancelled_at_iff_cancelled"
        ),
        # A cancelled booking keeps its check-in as history (a session cancelled on its day).
        CheckConstraint(
            "checked_in_at IS NULL OR status <> 'waitlisted'", name="checked_in_not_waitlisted"
        ),
        CheckConstraint(
            "NOT (checked_in_at IS NOT NULL AND no_show_at IS NOT NULL)",
            name="checked_in_or_no_show",
        ),
        # 12 digits; codes issued before digits-only keep their 10 letters and digits.
        CheckConstraint(
            "code ~ '^[0-9]{12}$' OR code ~ '^[2-9A-HJKMNP-Z]{10}$'", name="code_shape"
        ),
        CheckConstraint("party_size >= 1", name="party_size_positive"),
        CheckConstraint(
            "calendar_sequence_offset >= 0", name="calendar_sequence_offset_not_negative"
        ),
        CheckConstraint("person_id IS NOT NULL OR purged_at IS NOT NULL", name="person_or_purged"),
        # One live booking per person, per phone and per e-mail address in a session.
        Index(
            "uq_bookings_live_person", "session_id", "person_id", unique=True, postgresql_where=LIVE
        ),
        Index("uq_bookings_live_phone", "session_id", "phone", unique=True, postgresql_where=LIVE),
        Index(
            "uq_bookings_live_email",
            "session_id",
            text("lower(email)"),
            unique=True,
            postgresql_where=text("status IN ('confirmed', 'waitlisted') AND email IS NOT NULL"),
        ),
        Index(
            "uq_bookings_waitlist_position",
            "session_id",
            "waitlist_position",
            unique=True,
            postgresql_where=text("status = 'waitlisted'"),
        ),
        Index("ix_bookings_session_status", "session_id", "status"),
        Index("ix_bookings_person_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    # None once the retention purge has removed the person (purged_at is then set).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    status: Mapped[str] = mapped_column(String(20))
    waitlist_position: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20), default="web")
    # The contact given for this booking: the second factor for look-up and cancel.
    phone: Mapped[str] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    heard_from: Mapped[str | None] = mapped_column(String(20))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    waitlisted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    no_show_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    capacity_override: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    # The holder plus live companions: the seats held and the people counted.
    party_size: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # 配慮事項 (車いす, 筆談, ...): for staff only, never shown publicly.
    needs: Mapped[str | None] = mapped_column(Text)
    purged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The `t` of the booking's calendar link: random, stored, so rotating SECRET_KEY keeps
    # links already mailed working. Kept readable because reminder mails repeat the link.
    calendar_token: Mapped[str] = mapped_column(
        String(64), server_default=text("md5(gen_random_uuid()::text || gen_random_uuid()::text)")
    )
    # Added to the session's revision for the SEQUENCE of the booking's own .ics: each staff
    # change raises it, and a move carries the number over to the new session (whose revision
    # may be lower), so a calendar never sees it go down (calendars.service.booking_sequence).
    calendar_sequence_offset: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class BookingCompanion(Timestamped, Base):
    """A person who comes with the booking's holder (同伴者); cancelled one by one."""

    __tablename__ = "booking_companions"
    __table_args__ = (
        UniqueConstraint("booking_id", "position", name="uq_booking_companions_booking_position"),
        CheckConstraint("position >= 1", name="position_positive"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    name_kana: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(SmallInteger)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotencyRecord(Base):
    """The first response to a POST carrying an Idempotency-Key, replayed for retries."""

    __tablename__ = "idempotency_records"
    __table_args__ = (Index("ix_idempotency_records_created_at", "created_at"),)

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
