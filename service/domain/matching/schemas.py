"""Input checks and the views of the matching area."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from service.domain.errors import InvalidInput
from service.domain.matching.enums import (
    BRINGS_MAX,
    MAX_BREAK_MINUTES,
    MAX_MEETINGS,
    MAX_RANKED,
    MAX_SLOT_MINUTES,
    MAX_TABLES,
    NOTE_MAX,
    OUTCOMES,
    PLACE_MAX,
    PROFILE_MAX,
    URL_MAX,
)
from service.domain.text_rules import (
    forbidden_chars_message,
    has_forbidden_chars,
    is_database_id,
    unify_line_breaks,
)


def _int(raw: Mapping[str, object], name: str, low: int, high: int, fields: dict[str, str]) -> int:
    value = raw.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        fields[name] = f"{low}から{high}までの整数で入力してください。"
        return low
    return value


def clean_text(
    value: object, name: str, label: str, limit: int, fields: dict[str, str], *, multiline: bool
) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        fields[name] = f"{label}は文字で入力してください。"
        return ""
    text = unicodedata.normalize("NFC", value).strip()
    if multiline:  # a textarea posts its line breaks as CR LF (the HTML form encoding)
        text = unify_line_breaks(text)
    if has_forbidden_chars(text, multiline=multiline):
        fields[name] = forbidden_chars_message(label)
    elif len(text) > limit:
        fields[name] = f"{label}は{limit}文字以内で入力してください。"
    return text


def clean_url(value: object, name: str, fields: dict[str, str]) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > URL_MAX or has_forbidden_chars(value):
        fields[name] = f"参加用リンクは{URL_MAX}文字以内の https:// で始まるアドレスです。"
        return None
    parts = urlsplit(value.strip())
    if parts.scheme != "https" or not parts.netloc:
        fields[name] = "参加用リンクは https:// で始まるアドレスで入力してください。"
        return None
    return value.strip()


@dataclass(frozen=True)
class DaySettings:
    slot_minutes: int
    break_minutes: int
    max_per_company: int
    max_per_person: int
    online: bool


def validate_settings(raw: Mapping[str, object]) -> DaySettings:
    fields: dict[str, str] = {}
    slot = _int(raw, "slot_minutes", 5, MAX_SLOT_MINUTES, fields)
    pause = _int(raw, "break_minutes", 0, MAX_BREAK_MINUTES, fields)
    per_company = _int(raw, "max_per_company", 1, MAX_MEETINGS, fields)
    per_person = _int(raw, "max_per_person", 1, MAX_MEETINGS, fields)
    online = raw.get("online", False)
    if not isinstance(online, bool):
        fields["online"] = "true か false で指定してください。"
        online = False
    if fields:
        raise InvalidInput(fields=fields)
    return DaySettings(slot, pause, per_company, per_person, online)


@dataclass(frozen=True)
class CompanyInput:
    organization_id: int
    brings: str
    tables: list[tuple[str, str | None]]


def validate_company(raw: Mapping[str, object]) -> CompanyInput:
    fields: dict[str, str] = {}
    org = raw.get("organization_id")
    if not is_database_id(org):
        fields["organization_id"] = "参加企業を選んでください。"
    brings = clean_text(
        raw.get("brings"), "brings", "求人の内容・経営課題", BRINGS_MAX, fields, multiline=True
    )
    tables_raw = raw.get("tables", 1)
    tables: list[tuple[str, str | None]] = []
    if isinstance(tables_raw, int) and not isinstance(tables_raw, bool):
        if not 1 <= tables_raw <= MAX_TABLES:
            fields["tables"] = f"テーブル（端末）の数は1から{MAX_TABLES}までです。"
        else:
            tables = [("", None)] * tables_raw
    elif isinstance(tables_raw, list) and 1 <= len(tables_raw) <= MAX_TABLES:
        for i, item in enumerate(tables_raw):
            if not isinstance(item, Mapping):
                fields[f"tables.{i}"] = "place と join_url を持つ項目で指定してください。"
                continue
            place = clean_text(
                item.get("place"), f"tables.{i}.place", "場所", PLACE_MAX, fields, multiline=False
            )
            tables.append((place, clean_url(item.get("join_url"), f"tables.{i}.join_url", fields)))
    else:
        fields["tables"] = (
            f"テーブル（端末）の数（1から{MAX_TABLES}）か、その一覧で指定してください。"
        )
    if fields:
        raise InvalidInput(fields=fields)
    assert isinstance(org, int)
    return CompanyInput(org, brings, tables)


def _form_number(value: str) -> int | None:
    """A number typed or picked on a form (full-width digits too); None for anything else.
    str.isdigit() also takes superscripts and digits int() cannot read, hence isdecimal()."""
    value = unicodedata.normalize("NFKC", value).strip()
    return int(value) if value.isascii() and value.isdecimal() and len(value) < 20 else None


def ranked_from_form(form: Mapping[str, str]) -> list[int]:
    """A ranking form (rank_<id> = 1, 2, ... or empty) as ids in rank order; equal ranks keep
    the ids' order. The ids are checked by validate_ranked afterwards."""
    chosen: list[tuple[int, int]] = []
    for name, value in form.items():
        if not name.startswith("rank_") or not value.strip():
            continue
        rank, key = _form_number(value), _form_number(name.removeprefix("rank_"))
        if rank is None or key is None:
            raise InvalidInput(fields={name: "順位は数字で選んでください。"})
        chosen.append((rank, key))
    return [key for _, key in sorted(chosen)]


def validate_ranked(raw: Mapping[str, object]) -> list[int]:
    ranked = raw.get("ranked")
    if not isinstance(ranked, list) or len(ranked) > MAX_RANKED:
        raise InvalidInput(
            fields={"ranked": f"希望順の一覧（{MAX_RANKED}件まで）で指定してください。"}
        )
    if not all(is_database_id(v) for v in ranked):
        raise InvalidInput(fields={"ranked": "一覧には番号（id）だけを並べてください。"})
    if len(set(ranked)) != len(ranked):
        raise InvalidInput(fields={"ranked": "同じ相手が2回入っています。"})
    return [int(v) for v in ranked]  # type: ignore[call-overload]


@dataclass(frozen=True)
class ProfileInput:
    profile: str


def validate_profile(raw: object) -> ProfileInput:
    """The public booking body's "matching": {"profile", "consent"} for a matching day."""
    if not isinstance(raw, Mapping):
        raise InvalidInput(
            fields={"matching": "面談のためのプロフィールと同意をお知らせください。"}
        )
    fields: dict[str, str] = {}
    profile = clean_text(
        raw.get("profile"), "matching.profile", "プロフィール", PROFILE_MAX, fields, multiline=True
    )
    if not profile and "matching.profile" not in fields:
        fields["matching.profile"] = "経歴・得意分野・希望を入力してください。"
    if raw.get("consent") is not True:
        fields["matching.consent"] = (
            "参加企業がお名前・年代・プロフィールを見ることへの同意が必要です。"
        )
    if fields:
        raise InvalidInput(fields=fields)
    return ProfileInput(profile)


@dataclass(frozen=True)
class OutcomeInput:
    result: str
    note: str


def validate_outcome(raw: Mapping[str, object]) -> OutcomeInput:
    fields: dict[str, str] = {}
    result = raw.get("result")
    if result not in OUTCOMES:
        fields["result"] = "matched、considering、not_matched、absent のいずれかです。"
    note = clean_text(raw.get("note"), "note", "メモ", NOTE_MAX, fields, multiline=True)
    if fields:
        raise InvalidInput(fields=fields)
    assert isinstance(result, str)
    return OutcomeInput(result, note)


def slot_times(
    starts_at: datetime, ends_at: datetime, slot_minutes: int, break_minutes: int
) -> list[tuple[datetime, datetime]]:
    """The session's window cut into slots of slot_minutes with break_minutes between."""
    out: list[tuple[datetime, datetime]] = []
    start = starts_at
    length = timedelta(minutes=slot_minutes)
    step = timedelta(minutes=slot_minutes + break_minutes)
    while start + length <= ends_at:
        out.append((start, start + length))
        start += step
    return out


# --- views ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TableView:
    id: int
    number: int
    place: str
    join_url: str | None


@dataclass(frozen=True)
class CompanyView:
    organization_id: int
    name: str
    brings: str
    tables: list[TableView]


@dataclass(frozen=True)
class ParticipantView:
    """What a company sees: name, age band, profile; phone and e-mail only after a match with
    it (None otherwise). Staff see everything."""

    booking_id: int
    name: str
    age_band: str | None
    profile: str
    phone: str | None = None
    email: str | None = None
    checked_in: bool = False
    no_show: bool = False


@dataclass(frozen=True)
class SlotView:
    number: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class MatchingView:
    event_id: int
    session_id: int
    slot_minutes: int
    break_minutes: int
    max_per_company: int
    max_per_person: int
    online: bool
    status: str
    slots: list[SlotView]
    companies: list[CompanyView]
    participants: list[ParticipantView]
    # {organization_id: [booking_id, ...]} and {booking_id: [organization_id, ...]}, in rank
    # order; a company login sees only its own.
    company_choices: dict[int, list[int]] = field(default_factory=dict)
    participant_choices: dict[int, list[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class MeetingView:
    id: int
    organization_id: int
    company: str
    booking_id: int
    participant: str
    slot: int
    starts_at: datetime
    ends_at: datetime
    table: int
    place: str
    join_url: str | None
    source: str
    outcome: str | None
    outcome_note: str | None
    # A hire recorded after the match: the start month's first day and how they work.
    hired_on: date | None = None
    employment_type: str | None = None


@dataclass(frozen=True)
class ScheduleView:
    status: str
    meetings: list[MeetingView]
    objective: int | None
    bound: int | None
    solver_status: str | None
    solve_seconds: float | None
    built_at: datetime | None
    unmet: list[dict[str, int]]
    error: str | None = None
