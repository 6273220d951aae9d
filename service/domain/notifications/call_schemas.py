"""What the call list returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.domain.bookings.normalize import format_code, format_phone

CALL_OUTCOMES = {
    "reached": "連絡済",
    "no_answer": "不在（再度）",
    "declined": "辞退",
}
# The call list's order within a day, most urgent first (a seat given from the waiting list must
# be taken up or freed); the list's query takes it as a bound array.
KINDS_BY_URGENCY = ["booking_promoted", "session_changed", "session_cancelled", "reminder"]
CALL_STATE_LABELS = {
    "open": "未連絡",
    "done": "連絡済",
    "declined": "辞退",
    "superseded": "後の変更とまとめて連絡",
}
CALL_REASON_LABELS = {"no_email": "メールなし", "mail_failed": "メール不達"}


@dataclass(frozen=True, slots=True)
class CallTaskView:
    id: int
    booking_id: int
    kind: str
    reason: str
    script: str
    due_at: datetime
    state: str
    attempts: int
    last_attempt_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    code: str
    booking_status: str
    party_size: int
    phone: str
    email: str | None
    name: str
    name_kana: str
    session_id: int
    starts_at: datetime
    event_id: int
    event_title: str
    due_today: bool

    @property
    def display_phone(self) -> str:
        return format_phone(self.phone)

    @property
    def display_code(self) -> str:
        return format_code(self.code)


@dataclass(frozen=True, slots=True)
class CallCounts:
    today: int
    total: int
