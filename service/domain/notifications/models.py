"""The outbox: notices written in the booking's transaction, sent later by the workers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.platform.db import Base, Timestamped, one_of

NOTIFICATION_KINDS = (
    "booking_confirmed",
    "booking_waitlisted",
    "booking_promoted",
    "booking_cancelled",
    "session_cancelled",
    "reminder",
    "survey",
    "session_changed",
    "booking_changed",
    # Matching days (service/domain/matching): the participant's timetable (or its change
    # notice), and a company's match.
    "matching_timetable",
    "matching_matched",
)
# sending: a worker holds a lease on it and is talking to the SMTP server (see service.py).
NOTIFICATION_STATUSES = ("pending", "sending", "sent", "skipped", "failed")


class Notification(Timestamped, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        one_of("kind", NOTIFICATION_KINDS),
        one_of("status", NOTIFICATION_STATUSES),
        Index("ix_notifications_pending", "id", postgresql_where=text("status = 'pending'")),
        Index("ix_notifications_booking_id", "booking_id"),
        CheckConstraint("status <> 'sending' OR lease_until IS NOT NULL", name="sending_has_lease"),
        Index(
            "ix_notifications_sending", "lease_until", postgresql_where=text("status = 'sending'")
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    # A deterministic key, so a notice is written (and a mail sent) at most once.
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    send_after: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # While "sending": until when the worker that took it may still be talking to the server.
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Chosen at the first attempt and kept: a resend after a crash carries the same one, so the
    # receiving side can drop the copy.
    message_id: Mapped[str | None] = mapped_column(String(250))
    # How many times a worker took it (the lease's generation): only the current holder marks it.
    claims: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


# superseded: a later change notice was told in its place (the first before → the last after).
CALL_STATES = ("open", "done", "declined", "superseded")
CALL_REASONS = ("no_email", "mail_failed")


class CallTask(Timestamped, Base):
    """A notice that has to be told by phone (電話連絡リスト): the person has no e-mail address,
    or the mail failed for good. One task per notice; staff record the outcome of the call."""

    __tablename__ = "call_tasks"
    __table_args__ = (
        one_of("state", CALL_STATES),
        one_of("reason", CALL_REASONS),
        CheckConstraint("(state = 'open') = (closed_at IS NULL)", name="closed_iff_not_open"),
        Index("ix_call_tasks_booking_id", "booking_id"),
        Index("ix_call_tasks_open_due", "due_at", postgresql_where=text("state = 'open'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications.id", ondelete="SET NULL"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(String(20))
    # What to tell them, in plain Japanese, written when the task is made.
    script: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(20), default="open", server_default="open")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
