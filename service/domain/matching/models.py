"""A matching day's settings, companies and their tables, participants' profiles, choices both
ways, and the meetings of the timetable.

The hard rules of the timetable that one row cannot break on its own are unique constraints
(one meeting per person per slot, one per table per slot, a pair meets once); the maxima are
checked under the day's row lock (FOR UPDATE on matching_days) by every writer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.domain.matching.enums import MEETING_SOURCES, OUTCOMES, SCHEDULE_STATUSES
from service.domain.people.enums import EMPLOYMENT_TYPES
from service.platform.db import Base, Timestamped, one_of


class MatchingDay(Timestamped, Base):
    """An event run as a matching day, with the schedule's state."""

    __tablename__ = "matching_days"
    __table_args__ = (
        one_of("schedule_status", SCHEDULE_STATUSES),
        CheckConstraint("slot_minutes BETWEEN 5 AND 180", name="slot_minutes_range"),
        CheckConstraint("break_minutes BETWEEN 0 AND 120", name="break_minutes_range"),
        CheckConstraint("max_per_company BETWEEN 1 AND 50", name="max_per_company_range"),
        CheckConstraint("max_per_person BETWEEN 1 AND 50", name="max_per_person_range"),
    )

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    # The session whose time window is cut into slots (and whose bookings are the participants).
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    slot_minutes: Mapped[int] = mapped_column(SmallInteger)
    break_minutes: Mapped[int] = mapped_column(SmallInteger)
    max_per_company: Mapped[int] = mapped_column(SmallInteger)
    max_per_person: Mapped[int] = mapped_column(SmallInteger)
    online: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    schedule_status: Mapped[str] = mapped_column(String(20), default="none", server_default="none")
    # Raised on every request to build: the job id carries it, so a second press builds again.
    schedule_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    built_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the solver reported: its status, the objective reached and the bound it proved.
    solver_status: Mapped[str | None] = mapped_column(String(20))
    objective: Mapped[int | None] = mapped_column(BigInteger)
    bound: Mapped[int | None] = mapped_column(BigInteger)
    solve_seconds: Mapped[float | None] = mapped_column()
    unmet: Mapped[list[Any]] = mapped_column(JSONB, default=list, server_default="[]")
    schedule_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class MatchingCompany(Timestamped, Base):
    """A company (organization of kind employer) taking part, with what it brings:
    求人の内容 for a 面談会, 経営課題 for a 交流会."""

    __tablename__ = "matching_companies"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("matching_days.event_id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    brings: Mapped[str] = mapped_column(Text, default="", server_default="")


class MatchingTable(Timestamped, Base):
    """A table in the hall, or a terminal hosting online meetings (with its place, e.g. a bank
    branch, and its join link)."""

    __tablename__ = "matching_tables"
    __table_args__ = (
        ForeignKeyConstraint(
            ["event_id", "organization_id"],
            ["matching_companies.event_id", "matching_companies.organization_id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("event_id", "organization_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger)
    organization_id: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[int] = mapped_column(SmallInteger)
    place: Mapped[str] = mapped_column(String(200), default="", server_default="")
    join_url: Mapped[str | None] = mapped_column(String(500))


class MatchingProfile(Timestamped, Base):
    """A participant's short profile (経歴・得意分野・希望) and the consent that the day's
    companies may read it (name, age band, profile; never phone, e-mail or address before a
    match). Keyed by booking: the person is the booking of the day's session."""

    __tablename__ = "matching_profiles"

    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True
    )
    profile: Mapped[str] = mapped_column(Text)
    consented_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CompanyChoice(Base):
    """Whom a company wants to meet, ranked 1, 2, ..."""

    __tablename__ = "matching_company_choices"
    __table_args__ = (
        ForeignKeyConstraint(
            ["event_id", "organization_id"],
            ["matching_companies.event_id", "matching_companies.organization_id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("event_id", "organization_id", "rank"),
        CheckConstraint("rank >= 1", name="rank_positive"),
    )

    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True
    )
    rank: Mapped[int] = mapped_column(SmallInteger)


class ParticipantChoice(Base):
    """Which companies a participant most wants to meet, ranked 1, 2, ..."""

    __tablename__ = "matching_participant_choices"
    __table_args__ = (
        ForeignKeyConstraint(
            ["event_id", "organization_id"],
            ["matching_companies.event_id", "matching_companies.organization_id"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("booking_id", "rank"),
        CheckConstraint("rank >= 1", name="rank_positive"),
    )

    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger)
    rank: Mapped[int] = mapped_column(SmallInteger)


class Meeting(Timestamped, Base):
    """One meeting of the timetable: a company and a participant at a table in a slot."""

    __tablename__ = "matching_meetings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["event_id", "organization_id"],
            ["matching_companies.event_id", "matching_companies.organization_id"],
            ondelete="CASCADE",
        ),
        one_of("source", MEETING_SOURCES),
        one_of("outcome", OUTCOMES),
        one_of("employment_type", EMPLOYMENT_TYPES),
        CheckConstraint("slot >= 0", name="slot_not_negative"),
        # A hire is recorded from a match only, with its start month and how the person works.
        CheckConstraint(
            "hired_on IS NULL OR (outcome = 'matched' AND employment_type IS NOT NULL)",
            name="hire_follows_match",
        ),
        # The hard rules one row can be checked against.
        UniqueConstraint("booking_id", "slot", name="uq_matching_meetings_person_slot"),
        UniqueConstraint("table_id", "slot", name="uq_matching_meetings_table_slot"),
        UniqueConstraint("organization_id", "booking_id", name="uq_matching_meetings_pair"),
        Index("ix_matching_meetings_event_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger)
    organization_id: Mapped[int] = mapped_column(BigInteger)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"))
    table_id: Mapped[int] = mapped_column(ForeignKey("matching_tables.id", ondelete="CASCADE"))
    slot: Mapped[int] = mapped_column(SmallInteger)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(10), default="solver", server_default="solver")
    # When the participant was told this meeting (timetable or change notice): a rebuild keeps
    # told meetings where it can.
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    outcome_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    # The participant was taken on by the company after the match (point 7 of issue 23): the
    # start month's first day, how they work, and the placement record counted in 雇用・就業数
    # (desk_records; shared with what a follow-up answer learns about the same person).
    hired_on: Mapped[date | None] = mapped_column(Date)
    employment_type: Mapped[str | None] = mapped_column(String(20))
    placement_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("desk_records.id", ondelete="SET NULL")
    )
