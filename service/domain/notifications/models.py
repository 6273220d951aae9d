"""The outbox: notices written in the booking's transaction, sent later by the workers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, Timestamped, one_of

NOTIFICATION_KINDS = (
    "booking_confirmed",
    "booking_waitlisted",
    "booking_promoted",
    "booking_cancelled",
    "session_cancelled",
    "reminder",
    "survey",
)
NOTIFICATION_STATUSES = ("pending", "sent", "skipped", "failed")


class Notification(Timestamped, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        one_of("kind", NOTIFICATION_KINDS),
        one_of("status", NOTIFICATION_STATUSES),
        Index("ix_notifications_pending", "id", postgresql_where=text("status = 'pending'")),
        Index("ix_notifications_booking_id", "booking_id"),
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
