"""What staff send to create or change events and sessions, validated field by field.

Both the staff API (JSON) and the organizer pages (forms) hand a plain mapping to these
validators; every bad field is reported at once, by name, in plain Japanese.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from service.domain.errors import InvalidInput
from service.domain.events.enums import EVENT_KINDS, SECTORS, SUB_KINDS, WARDS
from service.domain.events.reminders import DEFAULT_REMINDER_DAYS, REMINDER_DAYS_MAX
from service.domain.text_rules import (
    forbidden_chars_message,
    has_forbidden_chars,
    is_database_id,
    unify_line_breaks,
)
from service.platform.local_time import TOKYO

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
CONTACT_MAX = 300
WHAT_TO_BRING_MAX = 2_000
FEE_MAX = 100_000
AUDIENCE_MAX = 300
ARRIVAL_NOTE_MAX = 500
TAG_MAX = 50
TAGS_MAX = 10
CAPACITY_MAX = 1_000
JOIN_URL_MAX = 500
JOIN_INSTRUCTIONS_MAX = 1000
_URL = re.compile(r"^https?://[^\s<>\"']+$")
COMPANIONS_MAX = 5  # the schema's ceiling (events.max_companions)
WAITLIST_MAX = 500
REASON_MAX = 500
ALARM_MINUTES_DEFAULT = 120
ALARM_MINUTES_MIN = 5
ALARM_MINUTES_MAX = 10_080  # a week
_TAG_SPLIT = re.compile(r"[,、，\s]+")


@dataclass(frozen=True, slots=True)
class EventInput:
    title: str
    kind: str
    sector: str
    description: str = ""
    tags: tuple[str, ...] = ()
    contact: str = ""
    what_to_bring: str = ""
    fee_yen: int = 0
    audience: str = ""
    arrival_note: str = ""
    max_companions: int = 1
    reminder_days: tuple[int, ...] = DEFAULT_REMINDER_DAYS
    call_reminders: bool = False
    cohost_ids: tuple[int, ...] = ()
    employer_ids: tuple[int, ...] = ()
    # The report's sub-kinds (middle_senior, side_job seminars), which the indicators match.
    sub_kind: str | None = None
    # Reminders in the attendee's calendar file (see service/domain/calendars/ics.py).
    alarm_day_before: bool = True
    alarm_minutes_before: int | None = ALARM_MINUTES_DEFAULT


@dataclass(frozen=True, slots=True)
class VenueInput:
    name: str
    address: str
    ward: str
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True, slots=True)
class OrganizationInput:
    name: str
    kind: str


ORGANIZATION_KINDS_STAFF_ADD = {"cohost": "共催団体", "employer": "参加企業"}


@dataclass(frozen=True, slots=True)
class SessionInput:
    venue_id: int
    starts_at: datetime
    ends_at: datetime
    capacity: int
    waitlist_limit: int
    booking_opens_at: datetime | None
    booking_closes_at: datetime | None
    is_online: bool = False
    join_url: str | None = None
    join_instructions: str | None = None


class FieldReader:
    """Collects one message per bad field."""

    def __init__(self, data: Mapping[str, object]) -> None:
        self.data = data
        self.errors: dict[str, str] = {}

    def text(
        self,
        key: str,
        label: str,
        *,
        max_len: int,
        required: bool = False,
        multiline: bool = False,
        as_typed: bool = False,
    ) -> str:
        """One text field by the one text rule (service/domain/text_rules.py); a line break
        or tab only where the field is multi-line (descriptions and notes, not a title or a
        name, which go into mail subjects, calendars and one-line lists)."""
        raw = self.data.get(key)
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            self.errors[key] = f"{label}は文字で入力してください。"
            return ""
        # NFC, not NFKC: Japanese text keeps its full-width brackets and punctuation.
        # A person's name (as_typed) is kept exactly: NFC too changes 神 (U+FA19) to U+795E.
        value = raw if as_typed else unicodedata.normalize("NFC", raw)
        value = unify_line_breaks(value).strip()
        if has_forbidden_chars(value, multiline=multiline):
            self.errors[key] = (
                forbidden_chars_message(label)
                if multiline or has_forbidden_chars(value, multiline=True)
                else f"{label}は改行やタブを入れずに1行で入力してください。"
            )
        elif required and not value:
            self.errors[key] = f"{label}を入力してください。"
        elif len(value) > max_len:
            self.errors[key] = f"{label}は{max_len}文字以内で入力してください。"
        return value

    def choice(self, key: str, label: str, choices: Mapping[str, str]) -> str:
        raw = self.data.get(key)
        value = raw.strip() if isinstance(raw, str) else ""
        if value not in choices:
            self.errors[key] = f"{label}を選んでください。"
        return value

    def integer(self, key: str, label: str, *, lo: int, hi: int, default: int | None = None) -> int:
        raw = self.data.get(key)
        if isinstance(raw, bool):
            raw = None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if default is not None:
                return default
            self.errors[key] = f"{label}を入力してください。"
            return 0
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, str) and unicodedata.normalize("NFKC", raw).strip().isdecimal():
            value = int(unicodedata.normalize("NFKC", raw).strip())
        else:
            self.errors[key] = f"{label}は数字で入力してください。"
            return 0
        if not lo <= value <= hi:
            self.errors[key] = f"{label}は{lo}から{hi}までの数で入力してください。"
        return value

    def flag(self, key: str, label: str, *, default: bool) -> bool:
        """A yes/no: JSON true/false, or a form's "1"/"0" (absent: the default)."""
        raw = self.data.get(key)
        if raw is None or raw == "":
            return default
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("1", "true", "on"):
            return True
        if isinstance(raw, str) and raw.strip().lower() in ("0", "false", "off"):
            return False
        self.errors[key] = f"{label}は「する」か「しない」で指定してください。"
        return default

    def coordinate(self, key: str, label: str, *, limit: float) -> float | None:
        raw = self.data.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        try:
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise ValueError(raw)
            value = float(
                unicodedata.normalize("NFKC", raw).strip() if isinstance(raw, str) else raw
            )
        except ValueError:
            self.errors[key] = f"{label}は数字で入力してください（例：34.9756）。"
            return None
        if not -limit <= value <= limit:
            self.errors[key] = f"{label}は-{limit:g}から{limit:g}までの数で入力してください。"
            return None
        return value

    def ids(self, key: str, label: str) -> tuple[int, ...]:
        raw = self.data.get(key)
        if raw is None or raw == "":
            return ()
        items: Sequence[object] = raw if isinstance(raw, list | tuple) else [raw]
        out: list[int] = []
        for item in items:
            if isinstance(item, str) and item.strip().isascii() and item.strip().isdecimal():
                item = int(item)
            if is_database_id(item):
                assert isinstance(item, int)
                out.append(item)
            else:
                self.errors[key] = f"{label}の指定が正しくありません。"
                return ()
        return tuple(dict.fromkeys(out))

    def moment(self, key: str, label: str, *, required: bool) -> datetime | None:
        """ISO 8601; without an offset the time is read as Japan time (datetime-local)."""
        raw = self.data.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required:
                self.errors[key] = f"{label}を入力してください。"
            return None
        if isinstance(raw, datetime):
            moment = raw
        elif isinstance(raw, str):
            value = unicodedata.normalize("NFKC", raw).strip().replace(" ", "T", 1)
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                self.errors[key] = f"{label}の形式が正しくありません（例：2025-10-21T10:00）。"
                return None
        else:
            self.errors[key] = f"{label}の形式が正しくありません（例：2025-10-21T10:00）。"
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=TOKYO)
        if not 2000 <= moment.year <= 2100:
            self.errors[key] = f"{label}の年が正しくありません。"
            return None
        return moment

    def done(self) -> None:
        if self.errors:
            raise InvalidInput(
                "入力内容に誤りがあります。項目をご確認ください。", fields=self.errors
            )


def _tags(f: FieldReader) -> tuple[str, ...]:
    raw = f.data.get("tags")
    if raw is None or raw == "":
        return ()
    if isinstance(raw, str):
        parts = _TAG_SPLIT.split(unicodedata.normalize("NFKC", raw))
    elif isinstance(raw, list | tuple) and all(isinstance(t, str) for t in raw):
        parts = [unicodedata.normalize("NFKC", str(t)) for t in raw]
    else:
        f.errors["tags"] = "タグは文字で入力してください。"
        return ()
    tags = tuple(dict.fromkeys(t.strip() for t in parts if t.strip()))
    if any(has_forbidden_chars(t) for t in tags):
        f.errors["tags"] = forbidden_chars_message("タグ")
        return ()
    if len(tags) > TAGS_MAX or any(len(t) > TAG_MAX for t in tags):
        f.errors["tags"] = f"タグは{TAGS_MAX}個まで、それぞれ{TAG_MAX}文字以内です。"
    return tags


def _sub_kind(f: FieldReader) -> str | None:
    if f.data.get("sub_kind") in (None, ""):
        return None
    return f.choice("sub_kind", "小分類", SUB_KINDS)


def _reminder_days(f: FieldReader) -> tuple[int, ...]:
    """Days before a session that reminders go out: "3、1", "3,1" or [3, 1]; empty: none."""
    raw = f.data.get("reminder_days")
    if raw is None:
        return DEFAULT_REMINDER_DAYS
    if isinstance(raw, str):
        parts: list[object] = [p for p in _TAG_SPLIT.split(unicodedata.normalize("NFKC", raw)) if p]
    elif isinstance(raw, list | tuple):
        parts = list(raw)
    else:
        parts = [raw]
    days: set[int] = set()
    for part in parts:
        value = part if isinstance(part, int) and not isinstance(part, bool) else None
        if isinstance(part, str) and part.strip().isdecimal():
            value = int(part.strip())
        if value is None or not 1 <= value <= REMINDER_DAYS_MAX:
            f.errors["reminder_days"] = (
                f"お知らせを送る日は、1〜{REMINDER_DAYS_MAX}日前の数字で入力してください（例：3、1）。"
            )
            return ()
        days.add(value)
    return tuple(sorted(days, reverse=True))


def validate_event_input(data: Mapping[str, object]) -> EventInput:
    f = FieldReader(data)
    event = EventInput(
        title=f.text("title", "イベント名", max_len=TITLE_MAX, required=True),
        kind=f.choice("kind", "種類", EVENT_KINDS),
        sector=f.choice("sector", "分野", SECTORS),
        description=f.text("description", "内容", max_len=DESCRIPTION_MAX, multiline=True),
        tags=_tags(f),
        contact=f.text("contact", "問い合わせ先", max_len=CONTACT_MAX, multiline=True),
        what_to_bring=f.text("what_to_bring", "持ち物", max_len=WHAT_TO_BRING_MAX, multiline=True),
        fee_yen=f.integer("fee_yen", "参加費", lo=0, hi=FEE_MAX, default=0),
        audience=f.text("audience", "対象", max_len=AUDIENCE_MAX, multiline=True),
        arrival_note=f.text("arrival_note", "来場の目安", max_len=ARRIVAL_NOTE_MAX, multiline=True),
        max_companions=f.integer(
            "max_companions", "同伴者の上限", lo=0, hi=COMPANIONS_MAX, default=1
        ),
        reminder_days=_reminder_days(f),
        call_reminders=f.data.get("call_reminders") in (True, "1", "true", "on"),
        cohost_ids=f.ids("cohost_ids", "共催団体"),
        employer_ids=f.ids("employer_ids", "参加企業"),
        sub_kind=_sub_kind(f),
        alarm_day_before=f.flag("alarm_day_before", "前日の通知", default=True),
        alarm_minutes_before=_alarm_minutes(f),
    )
    f.done()
    return event


def _alarm_minutes(f: FieldReader) -> int | None:
    """Absent: the default (2 hours); null or empty: no such alarm."""
    if "alarm_minutes_before" not in f.data:
        return ALARM_MINUTES_DEFAULT
    raw = f.data.get("alarm_minutes_before")
    if raw is None or raw == "":
        return None
    return f.integer(
        "alarm_minutes_before", "開始前の通知", lo=ALARM_MINUTES_MIN, hi=ALARM_MINUTES_MAX
    )


def validate_session_input(data: Mapping[str, object]) -> SessionInput:
    f = FieldReader(data)
    venue_id = f.integer("venue_id", "会場", lo=1, hi=2**62)
    starts_at = f.moment("starts_at", "開始日時", required=True)
    ends_at = f.moment("ends_at", "終了日時", required=True)
    capacity = f.integer("capacity", "定員", lo=0, hi=CAPACITY_MAX)
    waitlist_limit = f.integer(
        "waitlist_limit", "キャンセル待ちの上限", lo=0, hi=WAITLIST_MAX, default=0
    )
    opens = f.moment("booking_opens_at", "受付開始日時", required=False)
    closes = f.moment("booking_closes_at", "受付締切日時", required=False)
    if starts_at and ends_at and ends_at <= starts_at:
        f.errors["ends_at"] = "終了日時は開始日時より後にしてください。"
    if closes and ends_at and closes > ends_at:
        f.errors["booking_closes_at"] = "受付締切は終了日時より前にしてください。"
    if opens and closes and closes <= opens:
        f.errors["booking_closes_at"] = "受付締切は受付開始より後にしてください。"
    is_online = f.data.get("is_online") in (True, "1", "true", "on")
    join_url = f.text("join_url", "参加用URL", max_len=JOIN_URL_MAX)
    if join_url and (not _URL.match(join_url)):
        f.errors["join_url"] = "参加用URLは https:// で始まるURLを入力してください。"
    instructions = f.text(
        "join_instructions", "参加方法の案内", max_len=JOIN_INSTRUCTIONS_MAX, multiline=True
    )
    if (join_url or instructions) and not is_online:
        f.errors["is_online"] = "参加用URLや参加方法は、オンラインの回にだけ設定できます。"
    f.done()
    assert starts_at is not None and ends_at is not None
    return SessionInput(
        is_online=is_online,
        join_url=join_url or None,
        join_instructions=instructions or None,
        venue_id=venue_id,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity,
        waitlist_limit=waitlist_limit,
        booking_opens_at=opens,
        booking_closes_at=closes,
    )


def validate_reason(raw: object, *, required: bool = True) -> str:
    f = FieldReader({"reason": raw})
    value = f.text("reason", "理由", max_len=REASON_MAX, required=required, multiline=True)
    f.done()
    return value


def validate_venue_input(data: Mapping[str, object]) -> VenueInput:
    f = FieldReader(data)
    venue = VenueInput(
        name=f.text("name", "会場名", max_len=200, required=True),
        address=f.text("address", "住所", max_len=300),
        ward=f.choice("ward", "区", WARDS),
        latitude=f.coordinate("latitude", "緯度", limit=90),
        longitude=f.coordinate("longitude", "経度", limit=180),
    )
    if (venue.latitude is None) != (venue.longitude is None) and not f.errors:
        missing = "latitude" if venue.latitude is None else "longitude"
        f.errors[missing] = "緯度と経度は両方とも入力してください（地図に表示するときに使います）。"
    f.done()
    return venue


def validate_organization_input(data: Mapping[str, object]) -> OrganizationInput:
    f = FieldReader(data)
    org = OrganizationInput(
        name=f.text("name", "団体名", max_len=200, required=True),
        kind=f.choice("kind", "団体の種類", ORGANIZATION_KINDS_STAFF_ADD),
    )
    f.done()
    return org
