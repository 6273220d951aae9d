"""Indicator definitions, targets, fiscal years, the desk's records, hand figures, survey
answers, and the compiled figures the pages read."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from service.domain.events.enums import SECTORS
from service.domain.indicators.enums import (
    CONSULTATION_CHANNELS,
    MEASURES,
    NARRATIVE_PARTS,
    RECORD_KINDS,
    SECTIONS,
    SURVEY_SOURCES,
    SURVEY_SUBJECTS,
    UNITS,
)
from service.platform.db import Base, Timestamped, one_of


class IndicatorDefinition(Timestamped, Base):
    """One row of the report's tables and how it is counted. Empty match lists match all."""

    __tablename__ = "indicator_definitions"
    __table_args__ = (
        one_of("section", SECTIONS),
        one_of("unit", UNITS),
        one_of("measure", MEASURES),
        one_of("record_kind", RECORD_KINDS),
        CheckConstraint("(measure = 'record') = (record_kind IS NOT NULL)", name="record_kind_iff"),
        CheckConstraint("length(btrim(name)) > 0", name="name_not_blank"),
        CheckConstraint("code ~ '^[a-z][a-z0-9_]{1,59}$'", name="code_format"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(20))
    section: Mapped[str] = mapped_column(String(20))
    # The report's 各種施策 column (e.g. 重点業種 (介護)).
    policy: Mapped[str] = mapped_column(String(100), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    measure: Mapped[str] = mapped_column(String(20))
    kinds: Mapped[list[str]] = mapped_column(ARRAY(String(20)), server_default=text("'{}'"))
    sectors: Mapped[list[str]] = mapped_column(ARRAY(String(20)), server_default=text("'{}'"))
    sub_kinds: Mapped[list[str]] = mapped_column(ARRAY(String(20)), server_default=text("'{}'"))
    # Events of these sub-kinds are left to the definitions that name them (a ミドルシニア
    # seminar in the security sector then counts in IV only, not in III as well).
    exclude_sub_kinds: Mapped[list[str]] = mapped_column(
        ARRAY(String(20)), server_default=text("'{}'")
    )
    # Satisfaction: whose answers count ('desk', 'event'); empty counts every answer.
    survey_subjects: Mapped[list[str]] = mapped_column(
        ARRAY(String(10)), server_default=text("'{}'")
    )
    record_kind: Mapped[str | None] = mapped_column(String(30))
    channels: Mapped[list[str]] = mapped_column(ARRAY(String(20)), server_default=text("'{}'"))
    # Placements: True counts seniors only, False the others, None both.
    senior: Mapped[bool | None] = mapped_column(Boolean)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class IndicatorTarget(Base):
    __tablename__ = "indicator_targets"
    __table_args__ = (CheckConstraint("target >= 0", name="target_not_negative"),)

    definition_id: Mapped[int] = mapped_column(
        ForeignKey("indicator_definitions.id", ondelete="CASCADE"), primary_key=True
    )
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    target: Mapped[Decimal] = mapped_column(Numeric(12, 1))


class FiscalYearSetting(Base):
    """A year's reporting window, when its report starts later than April."""

    __tablename__ = "fiscal_years"
    __table_args__ = (
        CheckConstraint(
            "window_starts_on >= make_date(fiscal_year, 4, 1) "
            "AND window_starts_on <= make_date(fiscal_year + 1, 3, 31)",
            name="window_in_year",
        ),
    )

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    window_starts_on: Mapped[date] = mapped_column(Date)


class DeskRecord(Timestamped, Base):
    """Work the desk records itself: consultations, supported companies, placements, job
    openings obtained and Silver Center registrations."""

    __tablename__ = "desk_records"
    __table_args__ = (
        one_of("kind", RECORD_KINDS),
        one_of("sector", SECTORS),
        one_of("channel", CONSULTATION_CHANNELS),
        CheckConstraint("quantity >= 1 AND quantity <= 500", name="quantity_range"),
        CheckConstraint(
            "NOT survey_consent OR contact_phone IS NOT NULL OR contact_email IS NOT NULL",
            name="consent_needs_contact",
        ),
        CheckConstraint("(kind = 'consultation') = (channel IS NOT NULL)", name="channel_iff"),
        CheckConstraint("(kind = 'placement') = (senior IS NOT NULL)", name="senior_iff"),
        CheckConstraint(
            "kind NOT IN ('supported_company', 'placement', 'job_opening') "
            "OR (company_key IS NOT NULL AND length(company_key) > 0)",
            name="company_required",
        ),
        Index("ix_desk_records_occurred_on", "occurred_on"),
        Index("ix_desk_records_person_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    occurred_on: Mapped[date] = mapped_column(Date)
    sector: Mapped[str] = mapped_column(String(20), default="general")
    channel: Mapped[str | None] = mapped_column(String(20))
    person_name: Mapped[str | None] = mapped_column(String(100))
    company: Mapped[str | None] = mapped_column(String(200))
    # The company as it is compared (NFKC, no spaces): one company counts once a year.
    company_key: Mapped[str | None] = mapped_column(String(200))
    senior: Mapped[bool | None] = mapped_column(Boolean)
    # A day's tally by channel (窓口, 電話, 出張) is one record with its count.
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    note: Mapped[str] = mapped_column(String(200), default="")
    # A consultation's contact for the satisfaction survey, kept only with consent.
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    survey_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # The person (登録者) a placement or consultation was of, when known: a placement is then
    # counted once however it was learnt (the desk, a follow-up answer).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class YearHandFigure(Base):
    """A figure known only as the year's total (the R4 report's own actuals): it has no months,
    and the months of a definition that has one are shown as unknown."""

    __tablename__ = "indicator_year_figures"
    __table_args__ = (
        CheckConstraint("value >= 0", name="value_not_negative"),
        CheckConstraint("answers IS NULL OR answers >= 1", name="answers_positive"),
    )

    definition_id: Mapped[int] = mapped_column(
        ForeignKey("indicator_definitions.id", ondelete="CASCADE"), primary_key=True
    )
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[Decimal] = mapped_column(Numeric(12, 1))
    answers: Mapped[int | None] = mapped_column(Integer)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class PlanPeriod(Base):
    """The programme's plan years (R4-R6): the report's 実績（目標） columns."""

    __tablename__ = "indicator_plan_periods"
    __table_args__ = (
        CheckConstraint(
            "last_year >= first_year AND last_year - first_year < 10", name="years_in_order"
        ),
    )

    first_year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_year: Mapped[int] = mapped_column(Integer)


class Narrative(Base):
    """The report's 【評価】 and 【取組】 per section and year, written by staff."""

    __tablename__ = "indicator_narratives"
    __table_args__ = (one_of("section", SECTIONS), one_of("part", NARRATIVE_PARTS))

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    section: Mapped[str] = mapped_column(String(20), primary_key=True)
    part: Mapped[str] = mapped_column(String(20), primary_key=True)
    body: Mapped[str] = mapped_column(String(2000))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ExchangeYear(Base):
    """新現役交流会 of one fiscal year as entered: past years' results (R3 60%, ...) and what the
    data cannot know (matches). Figures left empty come from the compiled year."""

    __tablename__ = "exchange_years"
    __table_args__ = (
        CheckConstraint("rate IS NULL OR (rate >= 0 AND rate <= 100)", name="rate_range"),
        CheckConstraint(
            "matches IS NULL OR companies IS NULL OR matches <= companies",
            name="matches_within_companies",
        ),
    )

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    held_on: Mapped[date | None] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(100), default="", server_default="")
    companies: Mapped[int | None] = mapped_column(Integer)
    participants: Mapped[int | None] = mapped_column(Integer)
    matches: Mapped[int | None] = mapped_column(Integer)
    rate: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class HandFigure(Base):
    """A figure staff enter for a month where the service cannot know it (公式LINE新規登録者数),
    or for work done before the service kept records. Added to what the service counts; for a
    percentage, `answers` is how many answers it stands for."""

    __tablename__ = "indicator_hand_figures"
    __table_args__ = (
        CheckConstraint("value >= 0", name="value_not_negative"),
        CheckConstraint("answers IS NULL OR answers >= 1", name="answers_positive"),
        CheckConstraint("extract(day from month) = 1", name="first_of_month"),
    )

    definition_id: Mapped[int] = mapped_column(
        ForeignKey("indicator_definitions.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[Decimal] = mapped_column(Numeric(12, 1))
    answers: Mapped[int | None] = mapped_column(Integer)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class SurveyAnswer(Timestamped, Base):
    """One answer to 「ご利用にどのくらい満足しましたか」(1-5): one per booking from the web
    page, or a paper answer staff entered."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        one_of("source", SURVEY_SOURCES),
        one_of("subject", SURVEY_SUBJECTS),
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        Index("ix_survey_answers_answered_on", "answered_on"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("bookings.id", ondelete="SET NULL"), unique=True
    )
    desk_record_id: Mapped[int | None] = mapped_column(
        ForeignKey("desk_records.id", ondelete="SET NULL"), unique=True
    )
    # Who is asked about what: the desk ('desk') or an event's session ('event').
    subject: Mapped[str] = mapped_column(String(10), server_default="event")
    # The day of the consultation or seminar answered about (Tokyo).
    answered_on: Mapped[date] = mapped_column(Date)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(10))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class IndicatorFigure(Base):
    """A compiled figure: per fiscal year, scope (0 = all events, else a co-host's id),
    indicator and period ('total' or 'YYYY-MM')."""

    __tablename__ = "indicator_figures"

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope_org_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    definition_id: Mapped[int] = mapped_column(
        ForeignKey("indicator_definitions.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    # NULL: not known for this month (part of the year's figure was entered as a yearly total).
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 1))
    answers: Mapped[int | None] = mapped_column(Integer)


class EventFigure(Base):
    """A compiled count per event and month of the whole fiscal year (not only the reporting
    window): the people who came, as attendance counts them. The report's 【実施状況】 reads it,
    so the document never scans the year's bookings."""

    __tablename__ = "indicator_event_figures"

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    people: Mapped[int] = mapped_column(BigInteger)


class HeardFromFigure(Base):
    """How attendees heard of the events (DM, LINE, 求人情報誌…), per year and scope."""

    __tablename__ = "indicator_heard_from"

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope_org_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    heard_from: Mapped[str] = mapped_column(String(20), primary_key=True)
    people: Mapped[int] = mapped_column(Integer)


class IndicatorCompilation(Base):
    """Per fiscal year: changes bump dirty_version (triggers on bookings, sessions, events and
    the desk's records); a compile records the version it read. Stale while they differ."""

    __tablename__ = "indicator_compilations"

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    dirty_version: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")
    compiled_version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    compiled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stale_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
