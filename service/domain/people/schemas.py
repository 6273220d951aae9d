"""The shapes of the people area: what a valid person is, and what staff see of one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Consent:
    privacy: bool
    news: bool
    version: str | None
    agreed_at: datetime | None
    withdrawn_at: datetime | None


@dataclass(frozen=True, slots=True)
class PersonInput:
    """Checked values (service.domain.people.validation), ready to store."""

    name: str
    name_kana: str
    phone: str | None = None
    phone_alt: str | None = None
    email: str | None = None
    postal_code: str | None = None
    address: str | None = None
    age_band: str | None = None
    birth_year: int | None = None
    ward: str | None = None
    interests: tuple[str, ...] = ()
    contact_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PersonView:
    id: int
    name: str
    name_kana: str
    phone: str | None
    phone_alt: str | None
    email: str | None
    postal_code: str | None
    address: str | None
    age_band: str | None
    birth_year: int | None
    ward: str | None
    interests: tuple[str, ...]
    contact_by: tuple[str, ...]
    consent: Consent
    registered_via: str
    created_at: datetime
    last_active_at: datetime

    @property
    def withdrawn(self) -> bool:
        return self.consent.withdrawn_at is not None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of a person's history: a booking, a follow-up answer, a placement, a mail or a
    call, newest first."""

    at: datetime
    kind: str
    title: str
    detail: str = ""
    ref: str = ""


@dataclass(frozen=True, slots=True)
class BookingLine:
    """A booking of the person (the public 予約の確認 and the staff page)."""

    id: int
    code: str
    status: str
    waitlist_position: int | None
    event_title: str
    starts_at: datetime
    ends_at: datetime
    venue_name: str
    checked_in: bool
    no_show: bool
    party_size: int


@dataclass(frozen=True, slots=True)
class PersonDetail:
    person: PersonView
    bookings: tuple[BookingLine, ...]
    history: tuple[HistoryEntry, ...]
    duplicates: tuple[PersonView, ...] = ()


@dataclass(frozen=True, slots=True)
class MergeOutcome:
    kept_id: int
    duplicate_id: int
    moved: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Placement:
    """Placement facts as a follow-up answer gives them."""

    person_id: int
    employer: str
    started_on: date | None
    senior: bool
