"""What the LINE channel keeps: the webhook's events (the inbox the workers process), follows
(hashed, for counting), links between a LINE user and a person, and what was pushed."""

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
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from service.platform.db import Base, Timestamped, one_of

FOLLOW_KINDS = ("follow", "unfollow")
DELIVERY_STATUSES = ("sending", "sent", "failed")
NEWS_AUDIENCES = ("subscribers", "broadcast")


class LineWebhookEvent(Base):
    """One webhook event as LINE sent it. The webhookEventId is unique, so a redelivery adds
    nothing; the workers process each row once (processed_at)."""

    __tablename__ = "line_webhook_events"
    __table_args__ = (
        Index(
            "ix_line_webhook_events_unprocessed",
            "id",
            postgresql_where=text("processed_at IS NULL"),
        ),
        Index("ix_line_webhook_events_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    webhook_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    is_redelivery: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)


class LineFollow(Base):
    """A follow or unfollow, with the user id hashed (HMAC with SECRET_KEY): enough to count
    new followers once a fiscal year, nothing to reach or recognise anyone by."""

    __tablename__ = "line_follows"
    __table_args__ = (
        one_of("kind", FOLLOW_KINDS),
        Index("ix_line_follows_occurred_at", "occurred_at"),
        Index("ix_line_follows_user_hash", "user_hash"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    webhook_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    user_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LineLink(Timestamped, Base):
    """A LINE user linked to a person through LINE's account-link flow. Only a linked person
    receives anything personal; `following` goes false on unfollow (nothing is pushed then)."""

    __tablename__ = "line_links"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), unique=True
    )
    following: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # Notices about the person's bookings by LINE rather than mail.
    prefers_line: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # News of new events: consent, and the sectors and kinds asked for (empty: all).
    news_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    news_sectors: Mapped[list[str]] = mapped_column(
        ARRAY(String(20)), default=list, server_default=text("'{}'")
    )
    news_kinds: Mapped[list[str]] = mapped_column(
        ARRAY(String(20)), default=list, server_default=text("'{}'")
    )


class LineLinkNonce(Timestamped, Base):
    """Issued once the person has proved who they are on our page; LINE's accountLink event
    brings it back with the user id. Used once, short-lived."""

    __tablename__ = "line_link_nonces"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    news_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    news_sectors: Mapped[list[str]] = mapped_column(
        ARRAY(String(20)), default=list, server_default=text("'{}'")
    )
    news_kinds: Mapped[list[str]] = mapped_column(
        ARRAY(String(20)), default=list, server_default=text("'{}'")
    )


class LineDeskCode(Timestamped, Base):
    """A one-time code the desk reads out on the phone, for a person with no booking code at
    hand. Only its hash is kept."""

    __tablename__ = "line_desk_codes"
    __table_args__ = (Index("ix_line_desk_codes_person_id", "person_id"),)

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class LineDelivery(Timestamped, Base):
    """A notice pushed by LINE: its X-Line-Retry-Key is chosen once, so a push repeated after a
    crash is one message (LINE answers 409 for the copy)."""

    __tablename__ = "line_deliveries"
    __table_args__ = (one_of("status", DELIVERY_STATUSES),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), unique=True
    )
    retry_key: Mapped[str] = mapped_column(UUID(as_uuid=False))
    status: Mapped[str] = mapped_column(String(10), default="sending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LineNewsSend(Timestamped, Base):
    """News of one event sent by staff: once per event and audience."""

    __tablename__ = "line_news_sends"
    __table_args__ = (
        one_of("audience", NEWS_AUDIENCES),
        one_of("status", DELIVERY_STATUSES),
        UniqueConstraint("event_id", "audience", name="uq_line_news_sends_event_audience"),
        CheckConstraint("recipients >= 0", name="recipients_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    audience: Mapped[str] = mapped_column(String(20))
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retry_key: Mapped[str] = mapped_column(UUID(as_uuid=False))
    status: Mapped[str] = mapped_column(String(10), default="sending")
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
