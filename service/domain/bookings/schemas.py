"""What a booking request must contain, and what the booking services return."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from service.domain.bookings.enums import AGE_BANDS, HEARD_FROM, PERSON_WARDS
from service.domain.bookings.normalize import (
    InvalidValue,
    clean_text,
    format_code,
    normalize_email,
    normalize_kana,
    normalize_name,
    normalize_phone,
)
from service.domain.errors import InvalidInput
from service.domain.text_rules import has_forbidden_chars, unify_line_breaks

__all__ = [
    "BookingView",
    "CompanionView",
    "SessionSummary",
    "ValidBooking",
    "ValidCompanion",
    "format_code",
    "validate_booking_input",
]

MAX_FIELD_CHARS = 1000
NEEDS_MAX = 200
# The schema's own ceiling (events.max_companions <= 5); each event sets its own, checked
# against the session when booking.
COMPANIONS_MAX = 5
NEEDS_EXAMPLES = "車いす、筆談、手話通訳、補聴器 など"


@dataclass(frozen=True, slots=True)
class ValidCompanion:
    name: str
    name_kana: str


@dataclass(frozen=True, slots=True)
class ValidBooking:
    name: str
    name_kana: str
    phone: str
    email: str | None = None
    age_band: str | None = None
    ward: str | None = None
    heard_from: str | None = None
    companions: tuple[ValidCompanion, ...] = ()
    needs: str | None = None

    @property
    def party_size(self) -> int:
        return 1 + len(self.companions)


@dataclass(frozen=True, slots=True)
class CompanionView:
    position: int
    name: str
    name_kana: str
    cancelled_at: datetime | None


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
    # Online sessions: how to join. Only for the booked person's own views (never public).
    is_online: bool = False
    join_url: str | None = None
    join_instructions: str | None = None
    # A matching day's session (its bookings are the day's participants).
    matching_day: bool = False


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
    party_size: int = 1
    needs: str | None = None
    companions: tuple[CompanionView, ...] = field(default=())

    @property
    def live_companions(self) -> tuple[CompanionView, ...]:
        return tuple(c for c in self.companions if c.cancelled_at is None)

    @property
    def can_join(self) -> bool:
        """A confirmed booking of an online session is told how to join."""
        return self.status == "confirmed" and self.session.is_online

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


def _needs(data: Mapping[str, object]) -> str | None:
    raw = _text(data, "needs")
    flat = unify_line_breaks(raw).replace("\n", " ").replace("\t", " ")
    if has_forbidden_chars(flat):
        raise InvalidValue("使えない文字が含まれています。")
    value = " ".join(clean_text(line) for line in raw.splitlines() if line.strip())
    if len(value) > NEEDS_MAX:
        raise InvalidValue(f"配慮事項は{NEEDS_MAX}文字以内で入力してください。")
    return value or None


def _companions(raw: object, fields: dict[str, str]) -> tuple[ValidCompanion, ...]:
    """`companions`: a list of {name, name_kana}; errors are keyed companions.<i>.<field>
    (i from 0, as in the JSON array)."""
    if raw is None or raw == "":
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        fields["companions"] = "同伴者は、お名前とふりがなの一覧で指定してください。"
        return ()
    if len(raw) > COMPANIONS_MAX:
        fields["companions"] = f"同伴者は{COMPANIONS_MAX}人までです。"
        return ()
    out: list[ValidCompanion] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            fields[f"companions.{i}"] = "同伴者は、お名前とふりがなで指定してください。"
            continue
        values: dict[str, str] = {}
        for key, fn in (("name", normalize_name), ("name_kana", normalize_kana)):
            try:
                values[key] = fn(_text(item, key))
            except InvalidValue as exc:
                fields[f"companions.{i}.{key}"] = "同伴者の" + str(exc)
        if len(values) == 2:
            out.append(ValidCompanion(values["name"], values["name_kana"]))
    return tuple(out)


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
    try:
        out["needs"] = _needs(data)
    except InvalidValue as exc:
        fields["needs"] = str(exc)
    companions = _companions(data.get("companions"), fields)
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
        companions=companions,
        needs=out["needs"],
    )
