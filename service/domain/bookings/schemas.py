"""What a booking request must contain, and what the booking services return."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from service.domain.bookings.enums import AGE_BANDS, HEARD_FROM, PERSON_WARDS
from service.domain.bookings.normalize import (
    InvalidValue,
    format_code,
    normalize_email,
    normalize_kana,
    normalize_name,
    normalize_phone,
)
from service.domain.errors import InvalidInput

__all__ = ["BookingView", "SessionSummary", "ValidBooking", "format_code", "validate_booking_input"]

MAX_FIELD_CHARS = 1000


@dataclass(frozen=True, slots=True)
class ValidBooking:
    name: str
    name_kana: str
    phone: str
    email: str | None = None
    age_band: str | None = None
    ward: str | None = None
    heard_from: str | None = None


@dataclass(frozen=True, slots=True)
class SessionSummary:
    id: int
    event_id: int
    event_title: str
    event_kind: str
    starts_at: datetime
    ends_at: datetime
    venue_name: str
    venue_address: str
    ward: str
    status: str


@dataclass(frozen=True, slots=True)
class BookingView:
    id: int
    code: str
    status: str
    waitlist_position: int | None
    channel: str
    name: str
    name_kana: str
    phone: str
    email: str | None
    created_at: datetime
    confirmed_at: datetime | None
    waitlisted_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    checked_in_at: datetime | None
    no_show_at: datetime | None
    capacity_override: bool
    session: SessionSummary

    @property
    def display_code(self) -> str:
        return format_code(self.code)


_CHOICES = {
    "age_band": (AGE_BANDS, "年代を選んでください。"),
    "ward": (PERSON_WARDS, "お住まいの区を選んでください。"),
    "heard_from": (HEARD_FROM, "このイベントを知ったきっかけを選んでください。"),
}


def _text(data: Mapping[str, object], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidValue("文字で入力してください。")
    if len(value) > MAX_FIELD_CHARS:
        raise InvalidValue("入力が長すぎます。")
    return value


def validate_booking_input(
    data: Mapping[str, object], *, email_required: bool = False
) -> ValidBooking:
    """Normalises every field and reports every bad one at once, by field name."""
    fields: dict[str, str] = {}
    out: dict[str, str | None] = {}
    normalizers = {
        "name": normalize_name,
        "name_kana": normalize_kana,
        "phone": normalize_phone,
        "email": normalize_email,
    }
    for key, fn in normalizers.items():
        try:
            out[key] = fn(_text(data, key))
        except InvalidValue as exc:
            fields[key] = str(exc)
    if email_required and "email" not in fields and not out.get("email"):
        fields["email"] = "メールアドレスを入力してください。"
    for key, (choices, message) in _CHOICES.items():
        try:
            raw = _text(data, key).strip()
        except InvalidValue as exc:
            fields[key] = str(exc)
            continue
        if raw and raw not in choices:
            fields[key] = message
        out[key] = raw or None
    if fields:
        raise InvalidInput("入力内容に誤りがあります。項目をご確認ください。", fields=fields)
    return ValidBooking(
        name=out["name"] or "",
        name_kana=out["name_kana"] or "",
        phone=out["phone"] or "",
        email=out["email"],
        age_band=out["age_band"],
        ward=out["ward"],
        heard_from=out["heard_from"],
    )
