"""What the roster services return: a session's header and its booked people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.domain.bookings.normalize import format_code, format_phone
from service.domain.bookings.schemas import CompanionView
from service.platform.local_time import TOKYO


@dataclass(frozen=True, slots=True)
class RosterEntry:
    id: int
    code: str
    status: str
    waitlist_position: int | None
    channel: str
    name: str
    name_kana: str
    phone: str
    email: str | None
    age_band: str | None
    ward: str | None
    heard_from: str | None
    created_at: datetime
    confirmed_at: datetime | None
    waitlisted_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    checked_in_at: datetime | None
    no_show_at: datetime | None
    capacity_override: bool
    party_size: int = 1
    needs: str | None = None
    # Open tasks on the call list (要連絡): the person still has to be phoned.
    open_calls: int = 0
    companions: tuple[CompanionView, ...] = ()

    @property
    def live_companions(self) -> tuple[CompanionView, ...]:
        return tuple(c for c in self.companions if c.cancelled_at is None)

    @property
    def display_code(self) -> str:
        return format_code(self.code)

    @property
    def display_phone(self) -> str:
        return format_phone(self.phone)


@dataclass(frozen=True, slots=True)
class SessionHeader:
    id: int
    event_id: int
    event_title: str
    event_kind: str
    event_status: str
    starts_at: datetime
    ends_at: datetime
    venue_name: str
    ward: str
    capacity: int
    status: str
    waitlist_count: int
    waitlist_limit: int
    booking_opens_at: datetime
    booking_closes_at: datetime
    max_companions: int
    free_seats: int
    now: datetime

    @property
    def is_day_of_or_later(self) -> bool:
        """From the session's day (Japan time) on: check-in and walk-ins are open."""
        return self.now.astimezone(TOKYO).date() >= self.starts_at.astimezone(TOKYO).date()

    @property
    def has_ended(self) -> bool:
        return self.now >= self.ends_at

    @property
    def accepts_walk_ins(self) -> bool:
        return (
            self.status == "scheduled"
            and self.event_status == "published"
            and self.is_day_of_or_later
            and not self.has_ended
        )


@dataclass(frozen=True, slots=True)
class Roster:
    session: SessionHeader
    confirmed: list[RosterEntry]
    waitlisted: list[RosterEntry]
    cancelled: list[RosterEntry]
    query: str

    # Counts are of people: a party of three checked in is three people at the door.
    @property
    def confirmed_people(self) -> int:
        return sum(e.party_size for e in self.confirmed)

    @property
    def waitlisted_people(self) -> int:
        return sum(e.party_size for e in self.waitlisted)

    @property
    def checked_in(self) -> int:
        return sum(e.party_size for e in self.confirmed if e.checked_in_at)

    @property
    def walk_ins(self) -> int:
        return sum(e.party_size for e in self.confirmed if e.channel == "walk_in")

    @property
    def with_needs(self) -> int:
        """Live bookings that told us what they need at the door (配慮事項)."""
        return sum(1 for e in (*self.confirmed, *self.waitlisted) if e.needs)


@dataclass(frozen=True, slots=True)
class FoundBooking:
    """One booking found by /manage/search: who, which session, in what state."""

    id: int
    code: str
    status: str
    waitlist_position: int | None
    name: str
    name_kana: str
    phone: str
    party_size: int
    checked_in_at: datetime | None
    session_id: int
    starts_at: datetime
    session_status: str
    event_id: int
    event_title: str
    venue_name: str

    @property
    def display_code(self) -> str:
        return format_code(self.code)

    @property
    def display_phone(self) -> str:
        return format_phone(self.phone)


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    found: list[FoundBooking]
    # More matched than are shown: the caller should type more.
    more: bool
