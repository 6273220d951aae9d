"""Campaigns, whom each reaches by which channel, and the answers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
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
from sqlalchemy.orm import Mapped, mapped_column

from service.domain.events.enums import SECTORS
from service.domain.followups.enums import (
    ANSWER_STATUSES,
    ANSWER_VIA,
    CAMPAIGN_STATUSES,
    EMPLOYMENT_TYPES,
    TARGET_CHANNELS,
    TARGET_STATUSES,
)
from service.platform.db import Base, Timestamped, one_of


class FollowUpCampaign(Timestamped, Base):
    __tablename__ = "follow_up_campaigns"
    __table_args__ = (
        one_of("status", CAMPAIGN_STATUSES),
        CheckConstraint("attended_from <= attended_to", name="period_order"),
        CheckConstraint("length(btrim(title)) > 0", name="title_not_blank"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    # Who: attended (checked in) or consulted between these Tokyo days, inclusive.
    attended_from: Mapped[date] = mapped_column(Date)
    attended_to: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="draft", server_default="draft")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Answers are taken (and changed) until then: the mailed link's 60 days.
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )


class FollowUpTarget(Timestamped, Base):
    """One person of a campaign and the channel that reaches them."""

    __tablename__ = "follow_up_targets"
    __table_args__ = (
        one_of("channel", TARGET_CHANNELS),
        one_of("status", TARGET_STATUSES),
        UniqueConstraint("campaign_id", "person_id", name="uq_follow_up_targets_campaign_person"),
        CheckConstraint("(status = 'leased') = (leased_until IS NOT NULL)", name="lease_iff"),
        Index(
            "ix_follow_up_targets_due",
            "campaign_id",
            "id",
            postgresql_where=text("channel = 'mail' AND status IN ('pending', 'leased')"),
        ),
        Index("ix_follow_up_targets_person_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("follow_up_campaigns.id", ondelete="CASCADE")
    )
    # None once the retention purge removed the person (the counts stay).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending")
    leased_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    # The short code of the printed letter's URL (/f/{short_code}): 10 characters, random.
    short_code: Mapped[str] = mapped_column(
        String(16),
        unique=True,
        server_default=text("substr(md5(gen_random_uuid()::text), 1, 10)"),
    )


class FollowUpAnswer(Timestamped, Base):
    """One answer per person per campaign; changed (not added) until the campaign closes."""

    __tablename__ = "follow_up_answers"
    __table_args__ = (
        one_of("status", ANSWER_STATUSES),
        one_of("employment_type", EMPLOYMENT_TYPES),
        one_of("sector", SECTORS),
        one_of("via", ANSWER_VIA),
        UniqueConstraint("campaign_id", "person_id", name="uq_follow_up_answers_campaign_person"),
        CheckConstraint(
            "status = 'employed' OR (employer IS NULL AND started_on IS NULL "
            "AND employment_type IS NULL AND sector IS NULL)",
            name="work_iff_employed",
        ),
        Index("ix_follow_up_answers_person_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("follow_up_campaigns.id", ondelete="CASCADE")
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20))
    employer: Mapped[str | None] = mapped_column(String(200))
    # The first of the month work started.
    started_on: Mapped[date | None] = mapped_column(Date)
    employment_type: Mapped[str | None] = mapped_column(String(20))
    sector: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(String(500), default="", server_default="")
    via: Mapped[str] = mapped_column(String(10))
    entered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    # The placement (desk_records, kind placement) this answer counts as, or the desk's own
    # record of the same placement: counted once either way.
    placement_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("desk_records.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
