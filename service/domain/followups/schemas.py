"""The shapes of the follow-up area."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class CampaignInput:
    title: str
    attended_from: date
    attended_to: date


@dataclass(frozen=True, slots=True)
class Candidate:
    """A person the selection found, with what can reach them."""

    person_id: int
    email: str | None
    phone: str | None
    postal_code: str | None
    address: str | None
    contact_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChannelCounts:
    mail: int = 0
    post: int = 0
    phone: int = 0

    @property
    def total(self) -> int:
        return self.mail + self.post + self.phone


@dataclass(frozen=True, slots=True)
class ChannelRate:
    channel: str
    reached: int
    answered: int

    @property
    def rate(self) -> float | None:
        return self.answered / self.reached if self.reached else None


@dataclass(frozen=True, slots=True)
class AnswerView:
    id: int
    person_id: int | None
    name: str | None
    status: str
    employer: str | None
    started_on: date | None
    employment_type: str | None
    sector: str | None
    comment: str
    via: str
    channel: str | None
    placement_record_id: int | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CampaignView:
    id: int
    title: str
    attended_from: date
    attended_to: date
    status: str
    sent_at: datetime | None
    closes_at: datetime | None
    counts: ChannelCounts
    sent: ChannelCounts
    rates: tuple[ChannelRate, ...] = ()
    answers: tuple[AnswerView, ...] = ()
    placements: int = 0

    @property
    def is_open(self) -> bool:
        return self.status in ("sending", "sent")


@dataclass(frozen=True, slots=True)
class TargetLine:
    """A target as the letters, labels and the call list need it."""

    id: int
    person_id: int
    channel: str
    status: str
    name: str
    name_kana: str
    phone: str | None
    postal_code: str | None
    address: str | None
    short_code: str
    answered: bool = False


@dataclass(frozen=True, slots=True)
class MailLease:
    """A leased mail target: who, where, and the link to put in the mail."""

    target_id: int
    email: str
    name: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class AnswerInput:
    status: str
    employer: str | None = None
    started_on: date | None = None
    employment_type: str | None = None
    sector: str | None = None
    comment: str = ""


@dataclass(frozen=True, slots=True)
class FormContext:
    """What the public form shows: whose, which campaign, the answer so far, open or not."""

    target_id: int
    campaign_id: int
    title: str
    name: str
    closes_at: datetime | None
    is_open: bool
    answer: AnswerInput | None = None
    extra: dict[str, str] = field(default_factory=dict)
