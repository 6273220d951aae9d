"""The installation's own id (in every UID) and the staff members' stored feed links."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.platform.db import Base, Timestamped


class Installation(Timestamped, Base):
    """One row, made by the first migration: calendar UIDs carry it, so two installations
    (a test copy and production, two cities) never produce the same UID."""

    __tablename__ = "installation"
    __table_args__ = (CheckConstraint("singleton", name="singleton"),)

    id: Mapped[uuid.UUID] = mapped_column(
        Uuid, primary_key=True, server_default=text("gen_random_uuid()")
    )
    singleton: Mapped[bool] = mapped_column(Boolean, server_default="true", unique=True)


class StaffFeedLink(Timestamped, Base):
    """A calendar subscription URL of one staff member (one per device, say): only the SHA-256
    of its token is stored. Revoked by the owner or an admin, and by the database when the
    user is disabled or their role or organization changes."""

    __tablename__ = "staff_feed_links"
    __table_args__ = (
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        Index("ix_staff_feed_links_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sector: Mapped[str | None] = mapped_column(String(20))
    kind: Mapped[str | None] = mapped_column(String(20))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    last_fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_fetched_from: Mapped[str | None] = mapped_column(String(64))


class CalendarChanges(Base):
    """One row whose generation rises (by triggers) whenever a session, event or venue changes
    in a way a public feed could show: the public feed's version without reading the feed."""

    __tablename__ = "calendar_changes"
    __table_args__ = (CheckConstraint("singleton", name="singleton"),)

    singleton: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default="true")
    generation: Mapped[int] = mapped_column(BigInteger, server_default="0")
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
