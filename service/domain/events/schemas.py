"""What the events read side returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.domain.events.reminders import DEFAULT_REMINDER_DAYS


@dataclass(frozen=True, slots=True)
class OrgView:
    id: int
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class VenueView:
    id: int
    name: str
    address: str
    ward: str
    access_notes: str
    barrier_free_notes: str


@dataclass(frozen=True, slots=True)
class SessionView:
    id: int
    starts_at: datetime
    ends_at: datetime
    venue: VenueView
    capacity: int
    confirmed: int
    seats_left: int
    waitlist_length: int
    waitlist_limit: int
    booking_opens_at: datetime
    booking_closes_at: datetime
    status: str
    # open | waitlist | full | not_yet_open | closed | cancelled | past
    state: str
    # Held online (the flag, or an online venue): no address, access or barrier-free notes.
    is_online: bool = False

    @property
    def bookable(self) -> bool:
        return self.state in ("open", "waitlist")

    @property
    def waitlist_left(self) -> int:
        return max(self.waitlist_limit - self.waitlist_length, 0)


@dataclass(frozen=True, slots=True)
class EventView:
    id: int
    title: str
    description: str
    kind: str
    sector: str
    tags: list[str]
    status: str
    organizer: OrgView
    cohosts: list[OrgView]
    employers: list[OrgView]
    contact: str
    what_to_bring: str
    sessions: list[SessionView]
    fee_yen: int = 0
    audience: str = ""
    arrival_note: str = ""
    sub_kind: str | None = None
    alarm_day_before: bool = True
    alarm_minutes_before: int | None = 120
    # Companions (同伴者) one booking may bring; 0: none.
    max_companions: int = 1
    reminder_days: tuple[int, ...] = DEFAULT_REMINDER_DAYS
    call_reminders: bool = False


@dataclass(frozen=True, slots=True)
class EventPage:
    items: list[EventView]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)


@dataclass(frozen=True, slots=True)
class EventRow:
    """One line of the console's event list."""

    id: int
    title: str
    kind: str
    sector: str
    status: str
    first_start: datetime | None
    last_end: datetime | None
    # The next session still to come (None when all are over or cancelled).
    next_start: datetime | None
    sessions: int
    scheduled_sessions: int
    # capacity, confirmed and waitlisted count these only: sessions still to come.
    upcoming_sessions: int
    capacity: int
    confirmed: int
    waitlisted: int
