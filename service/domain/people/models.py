"""The person (登録者) and the audit of merged duplicates.

The table keeps the name `persons` (bookings have pointed at it since the first migration)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.domain.people.enums import (
    AGE_BANDS,
    CONTACT_METHODS,
    PERSON_WARDS,
    REGISTERED_VIA,
)
from service.platform.db import Base, Timestamped, one_of

# The kana as compared: without the spaces and middle dots people put in (or leave out).
KANA_KEY_SQL = "translate(name_kana, ' ・', '')"


def _contact_methods_check() -> CheckConstraint:
    allowed = ",".join(CONTACT_METHODS)
    return CheckConstraint(
        f"contact_by <@ CAST('{{{allowed}}}' AS varchar[])", name="contact_by_valid"
    )


class Person(Timestamped, Base):
    __tablename__ = "persons"
    __table_args__ = (
        UniqueConstraint("phone", "kana_key", name="uq_persons_phone_kana_key"),
        one_of("age_band", AGE_BANDS),
        one_of("ward", PERSON_WARDS),
        one_of("registered_via", REGISTERED_VIA),
        _contact_methods_check(),
        CheckConstraint("postal_code ~ '^[0-9]{7}$'", name="postal_code_shape"),
        CheckConstraint("birth_year BETWEEN 1900 AND 2100", name="birth_year_range"),
        CheckConstraint(
            "NOT consent_privacy "
            "OR (consent_version IS NOT NULL AND consent_agreed_at IS NOT NULL)",
            name="consent_recorded",
        ),
        # Withdrawn: the contact details are gone (never contacted again).
        CheckConstraint(
            "withdrawn_at IS NULL OR (phone IS NULL AND phone_alt IS NULL AND email IS NULL "
            "AND postal_code IS NULL AND address IS NULL AND NOT consent_news)",
            name="withdrawn_no_contact",
        ),
        Index("ix_persons_name_kana", "name_kana"),
        Index("ix_persons_kana_key", "kana_key"),
        Index("ix_persons_phone_alt", "phone_alt"),
        Index("ix_persons_email", text("lower(email)")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_kana: Mapped[str] = mapped_column(String(100))
    kana_key: Mapped[str] = mapped_column(String(100), Computed(KANA_KEY_SQL, persisted=True))
    # Digits only (service.domain.bookings.normalize); None once withdrawn.
    phone: Mapped[str | None] = mapped_column(String(20))
    phone_alt: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    postal_code: Mapped[str | None] = mapped_column(String(7))
    address: Mapped[str | None] = mapped_column(String(200))
    age_band: Mapped[str | None] = mapped_column(String(20))
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    ward: Mapped[str | None] = mapped_column(String(20))
    interests: Mapped[list[str]] = mapped_column(
        ARRAY(String(20)), server_default=text("'{}'"), default=list
    )
    # Preferred first: ['mail', 'post'] means mail, else post; never by phone.
    contact_by: Mapped[list[str]] = mapped_column(
        ARRAY(String(10)), server_default=text("'{}'"), default=list
    )
    consent_privacy: Mapped[bool] = mapped_column(Boolean, server_default="false", default=False)
    consent_version: Mapped[str | None] = mapped_column(String(20))
    consent_agreed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    consent_news: Mapped[bool] = mapped_column(Boolean, server_default="false", default=False)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    registered_via: Mapped[str] = mapped_column(
        String(20), server_default="booking", default="booking"
    )
    # Bookings, registrations, answers: what the retention period counts from.
    last_active_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class PersonMerge(Base):
    """A duplicate merged into the person kept: what was moved, by whom (the duplicate's row is
    gone; its id stays here so that an old reference can be followed)."""

    __tablename__ = "person_merges"
    __table_args__ = (Index("ix_person_merges_kept_id", "kept_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kept_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    duplicate_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    moved: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    merged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
