"""What staff send for the desk's records, hand figures, targets, survey answers and indicator
definitions, validated field by field (the staff API and the console forms share these)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from service.domain.bookings.normalize import InvalidValue, normalize_phone
from service.domain.email_address import UnmailableAddress, canonical_email
from service.domain.errors import InvalidInput
from service.domain.events.admin_schemas import FieldReader
from service.domain.events.enums import EVENT_KINDS, SECTORS, SUB_KINDS
from service.domain.indicators.enums import (
    CONSULTATION_CHANNELS,
    MEASURES,
    NARRATIVE_PARTS,
    RECORD_KINDS,
    SECTIONS,
    SURVEY_SOURCES,
    SURVEY_SUBJECTS,
    UNITS,
)
from service.domain.indicators.fiscal import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
from service.domain.indicators.models import DeskRecord, IndicatorDefinition
from service.domain.text_rules import is_database_id

NOTE_MAX = 200
NAME_MAX = 100
COMPANY_MAX = 200
# A day's tally of consultations by channel is one record: 1 to 500.
QUANTITY_MAX = 500
FIGURE_MAX = Decimal("9999999")
COMMENT_MAX = 500
_DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
_MONTH = re.compile(r"^(\d{4})[-/](\d{1,2})$")
_CODE = re.compile(r"^[a-z][a-z0-9_]{1,59}$")
_LIST_SPLIT = re.compile(r"[,、，\s]+")


# What the service hands the adapters: plain values read off the ORM rows, so that the API and
# the pages never hold (or lazily load through) a mapped object.


@dataclass(frozen=True, slots=True)
class RecordView:
    id: int
    kind: str
    occurred_on: date
    sector: str
    channel: str | None
    person_name: str | None
    company: str | None
    senior: bool | None
    quantity: int
    note: str
    contact_phone: str | None
    contact_email: str | None
    survey_consent: bool
    person_id: int | None

    @classmethod
    def of(cls, row: DeskRecord) -> RecordView:
        return cls(
            row.id,
            row.kind,
            row.occurred_on,
            row.sector,
            row.channel,
            row.person_name,
            row.company,
            row.senior,
            row.quantity,
            row.note,
            row.contact_phone,
            row.contact_email,
            row.survey_consent,
            row.person_id,
        )


@dataclass(frozen=True, slots=True)
class DefinitionView:
    id: int
    code: str
    name: str
    unit: str
    section: str
    policy: str
    measure: str
    kinds: tuple[str, ...]
    sectors: tuple[str, ...]
    sub_kinds: tuple[str, ...]
    exclude_sub_kinds: tuple[str, ...]
    survey_subjects: tuple[str, ...]
    record_kind: str | None
    channels: tuple[str, ...]
    senior: bool | None
    position: int
    retired_at: datetime | None

    @classmethod
    def of(cls, d: IndicatorDefinition) -> DefinitionView:
        return cls(
            d.id,
            d.code,
            d.name,
            d.unit,
            d.section,
            d.policy,
            d.measure,
            tuple(d.kinds or ()),
            tuple(d.sectors or ()),
            tuple(d.sub_kinds or ()),
            tuple(d.exclude_sub_kinds or ()),
            tuple(d.survey_subjects or ()),
            d.record_kind,
            tuple(d.channels or ()),
            d.senior,
            d.position,
            d.retired_at,
        )


def company_key(name: str) -> str:
    """One company however it is typed: width, case and spaces ignored."""
    return "".join(unicodedata.normalize("NFKC", name).split()).lower()


def _nfkc(raw: object) -> str:
    return unicodedata.normalize("NFKC", raw).strip() if isinstance(raw, str) else ""


def read_date(f: FieldReader, key: str, label: str) -> date:
    raw = f.data.get(key)
    m = _DATE.match(_nfkc(raw))
    if m:
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            pass
    f.errors[key] = f"{label}は 2023-03-31 の形で入力してください。"
    return date(2000, 1, 1)


def read_month(f: FieldReader, key: str, label: str) -> date:
    m = _MONTH.match(_nfkc(f.data.get(key)))
    if m and 1 <= int(m[2]) <= 12 and 2000 <= int(m[1]) <= 2100:
        return date(int(m[1]), int(m[2]), 1)
    f.errors[key] = f"{label}は 2023-03 の形で入力してください。"
    return date(2000, 1, 1)


def read_decimal(f: FieldReader, key: str, label: str, *, required: bool) -> Decimal | None:
    text = (
        _nfkc(f.data.get(key))
        if not isinstance(f.data.get(key), int | float)
        else str(f.data.get(key))
    )
    if isinstance(f.data.get(key), bool):
        text = "x"
    if not text:
        if required:
            f.errors[key] = f"{label}を入力してください。"
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        f.errors[key] = f"{label}は数で入力してください。"
        return None
    if not value.is_finite() or value < 0 or value > FIGURE_MAX:
        f.errors[key] = f"{label}は0以上の数で入力してください。"
        return None
    if value != value.quantize(Decimal("0.1")):
        f.errors[key] = f"{label}は小数点以下1桁までで入力してください。"
        return None
    return value


def read_flag(f: FieldReader, key: str, label: str) -> bool | None:
    raw = f.data.get(key)
    if isinstance(raw, bool):
        return raw
    value = _nfkc(raw).lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no"):
        return False
    f.errors[key] = f"{label}を選んでください。"
    return None


def read_list(f: FieldReader, key: str, label: str, choices: Mapping[str, str]) -> list[str]:
    raw = f.data.get(key)
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        parts = [p for p in _LIST_SPLIT.split(raw) if p]
    elif isinstance(raw, list) and all(isinstance(p, str) for p in raw):
        parts = [str(p).strip() for p in raw if str(p).strip()]
    else:
        f.errors[key] = f"{label}は一覧から選んでください。"
        return []
    bad = [p for p in parts if p not in choices]
    if bad:
        f.errors[key] = f"{label}に知らない値があります: {'、'.join(bad[:3])}"
    return list(dict.fromkeys(parts))


def fiscal_year_value(raw: object, key: str = "fiscal_year") -> int:
    text = _nfkc(raw) if not isinstance(raw, int) or isinstance(raw, bool) else str(raw)
    if text.isdecimal() and FIRST_FISCAL_YEAR <= int(text) <= LAST_FISCAL_YEAR:
        return int(text)
    raise InvalidInput(
        fields={
            key: f"年度は{FIRST_FISCAL_YEAR}から{LAST_FISCAL_YEAR}までの西暦で指定してください。"
        }
    )


@dataclass(frozen=True, slots=True)
class RecordInput:
    kind: str
    occurred_on: date
    sector: str
    channel: str | None
    person_name: str | None
    company: str | None
    senior: bool | None
    quantity: int
    note: str
    contact_phone: str | None = None
    contact_email: str | None = None
    survey_consent: bool = False
    # The person (登録者) the record is of: KEEP_PERSON when the input did not say (a record
    # linked by the workers, a follow-up answer's placement, stays linked), None to unlink.
    person_id: int | object | None = None


# person_id not given: the record keeps the person it has.
KEEP_PERSON = object()


def _person_id(f: FieldReader) -> int | object | None:
    if "person_id" not in f.data:
        return KEEP_PERSON
    raw = f.data["person_id"]
    if isinstance(raw, str):
        raw = unicodedata.normalize("NFKC", raw).strip()
        if not raw:
            return None
        raw = int(raw) if raw.isdecimal() and len(raw) <= 19 else raw
    if raw is None:
        return None
    if not is_database_id(raw):
        f.errors["person_id"] = "登録者の番号が正しくありません。"
        return None
    return raw


def _contact(f: FieldReader, kind: str) -> tuple[str | None, str | None, bool]:
    """A consultation's phone or e-mail, kept only when the person agreed to the survey."""
    phone = f.text("contact_phone", "電話番号", max_len=30)
    email = f.text("contact_email", "メールアドレス", max_len=254)
    consent = f.data.get("survey_consent") in (True, "1", "on", "true", "yes")
    if not (phone or email or consent):
        return None, None, False
    if kind != "consultation":
        f.errors["survey_consent"] = "アンケートの連絡先は相談の記録にだけ付けられます。"
        return None, None, False
    if not consent:
        f.errors["survey_consent"] = (
            "連絡先は、アンケートに同意した方のものだけ記録できます。同意を確かめてください。"
        )
    phone_value = email_value = None
    if phone:
        try:
            phone_value = normalize_phone(phone)
        except InvalidValue as exc:
            f.errors["contact_phone"] = str(exc)
    if email:
        try:
            email_value = canonical_email(email)
        except UnmailableAddress:
            f.errors["contact_email"] = "メールアドレスの形が正しくありません。"
    if consent and not (phone or email):
        f.errors["contact_phone"] = "電話番号かメールアドレスを入力してください。"
    return phone_value, email_value, consent


def validate_record(data: Mapping[str, object]) -> RecordInput:
    f = FieldReader(data)
    kind = f.choice("kind", "記録の種類", RECORD_KINDS)
    occurred_on = read_date(f, "occurred_on", "日付")
    raw_sector = data.get("sector")
    sector = "general" if raw_sector in (None, "") else f.choice("sector", "分野", SECTORS)
    channel = None
    if kind == "consultation":
        channel = f.choice("channel", "相談の方法", CONSULTATION_CHANNELS)
    person = f.text("person_name", "氏名", max_len=NAME_MAX, as_typed=True) or None
    company = f.text(
        "company",
        "企業名",
        max_len=COMPANY_MAX,
        required=kind in ("supported_company", "placement", "job_opening"),
    )
    senior = read_flag(f, "senior", "高齢求職者かどうか") if kind == "placement" else None
    quantity = f.integer("quantity", "件数", lo=1, hi=QUANTITY_MAX, default=1)
    if kind in ("supported_company", "placement") and quantity != 1:
        f.errors["quantity"] = "この記録は1件ずつ入力してください。"
    phone, email, consent = _contact(f, kind)
    person_id = _person_id(f)
    if consent and quantity != 1:
        f.errors["quantity"] = "アンケートの連絡先を付ける相談は1件ずつ入力してください。"
    note = f.text("note", "メモ", max_len=NOTE_MAX, multiline=True)
    if "\n" in note:
        f.errors["note"] = "メモは1行で入力してください。"
    if f.errors:
        raise InvalidInput(fields=f.errors)
    return RecordInput(
        kind,
        occurred_on,
        sector,
        channel,
        person,
        company or None,
        senior,
        quantity,
        note,
        phone,
        email,
        consent,
        person_id,
    )


@dataclass(frozen=True, slots=True)
class HandFigureInput:
    definition_id: int
    month: date
    value: Decimal | None
    answers: int | None


def validate_hand_figure(data: Mapping[str, object]) -> HandFigureInput:
    f = FieldReader(data)
    definition_id = f.integer("definition_id", "指標", lo=1, hi=2**62)
    month = read_month(f, "month", "月")
    value = read_decimal(f, "value", "数値", required=False)
    answers = None
    if data.get("answers") not in (None, ""):
        answers = f.integer("answers", "回答数", lo=1, hi=1_000_000)
    if f.errors:
        raise InvalidInput(fields=f.errors)
    return HandFigureInput(definition_id, month, value, answers)


def validate_year_figure(data: Mapping[str, object]) -> tuple[int, int, Decimal | None, int | None]:
    """A yearly hand figure: (definition_id, fiscal_year, value or None to clear, answers)."""
    f = FieldReader(data)
    definition_id = f.integer("definition_id", "指標", lo=1, hi=2**62)
    year = f.integer("fiscal_year", "年度", lo=FIRST_FISCAL_YEAR, hi=LAST_FISCAL_YEAR)
    value = read_decimal(f, "value", "数値", required=False)
    answers = None
    if data.get("answers") not in (None, ""):
        answers = f.integer("answers", "回答数", lo=1, hi=1_000_000)
    if f.errors:
        raise InvalidInput(fields=f.errors)
    return definition_id, year, value, answers


@dataclass(frozen=True, slots=True)
class PaperAnswerInput:
    answered_on: date
    score: int
    comment: str
    subject: str = "desk"
    source: str = "paper"
    desk_record_id: int | None = None


ENTERED_SOURCES = {k: v for k, v in SURVEY_SOURCES.items() if k != "web"}


def validate_paper_answer(data: Mapping[str, object]) -> PaperAnswerInput:
    f = FieldReader(data)
    answered_on = read_date(f, "answered_on", "相談・参加の日")
    score = f.integer("score", "満足度", lo=1, hi=5)
    comment = f.text("comment", "ご意見", max_len=COMMENT_MAX, multiline=True)
    subject = "desk"
    if data.get("subject") not in (None, ""):
        subject = f.choice("subject", "回答の対象", SURVEY_SUBJECTS)
    source = "paper"
    if data.get("source") not in (None, ""):
        source = f.choice("source", "回答の方法", ENTERED_SOURCES)
    record_id = None
    if data.get("desk_record_id") not in (None, ""):
        record_id = f.integer("desk_record_id", "相談の記録", lo=1, hi=2**62)
    if f.errors:
        raise InvalidInput(fields=f.errors)
    return PaperAnswerInput(answered_on, score, comment, subject, source, record_id)


NARRATIVE_MAX = 2000


def validate_narrative(data: Mapping[str, object]) -> tuple[int, str, str, str]:
    """(fiscal_year, section, part, body); an empty body removes the text."""
    f = FieldReader(data)
    year = f.integer("fiscal_year", "年度", lo=FIRST_FISCAL_YEAR, hi=LAST_FISCAL_YEAR)
    section = f.choice("section", "表", {k: t for k, (_, t) in SECTIONS.items()})
    part = f.choice("part", "評価・取組", NARRATIVE_PARTS)
    body = f.text("body", "本文", max_len=NARRATIVE_MAX, multiline=True)
    if f.errors:
        raise InvalidInput(fields=f.errors)
    return year, section, part, body


@dataclass(frozen=True, slots=True)
class ExchangeInput:
    fiscal_year: int
    held_on: date | None
    method: str
    companies: int | None
    participants: int | None
    matches: int | None
    rate: Decimal | None


def validate_exchange(data: Mapping[str, object]) -> ExchangeInput:
    f = FieldReader(data)
    year = f.integer("fiscal_year", "年度", lo=FIRST_FISCAL_YEAR - 5, hi=LAST_FISCAL_YEAR)
    held_on = None
    if data.get("held_on") not in (None, ""):
        held_on = read_date(f, "held_on", "開催日")
    method = f.text("method", "実施方法", max_len=100)
    if "\n" in method:
        f.errors["method"] = "実施方法は1行で入力してください。"

    def count(key: str, label: str) -> int | None:
        if data.get(key) in (None, ""):
            return None
        return f.integer(key, label, lo=0, hi=100_000)

    companies = count("companies", "参加企業数")
    participants = count("participants", "参加人材数")
    matches = count("matches", "マッチングした企業数")
    rate = read_decimal(f, "rate", "マッチング率", required=False)
    if rate is not None and rate > 100:
        f.errors["rate"] = "マッチング率は0から100までで入力してください。"
    if matches is not None and companies is not None and matches > companies:
        f.errors["matches"] = "マッチングした企業数が参加企業数を超えています。"
    if f.errors:
        raise InvalidInput(fields=f.errors)
    return ExchangeInput(year, held_on, method, companies, participants, matches, rate)


def validate_plan_period(data: Mapping[str, object]) -> tuple[int, int]:
    f = FieldReader(data)
    first = f.integer("first_year", "計画の最初の年度", lo=FIRST_FISCAL_YEAR, hi=LAST_FISCAL_YEAR)
    last = f.integer("last_year", "計画の最後の年度", lo=FIRST_FISCAL_YEAR, hi=LAST_FISCAL_YEAR)
    if not f.errors and not 0 <= last - first < 10:
        f.errors["last_year"] = "最後の年度は最初の年度から9年以内で、それより前にはできません。"
    if f.errors:
        raise InvalidInput(fields=f.errors)
    return first, last


@dataclass(frozen=True, slots=True)
class DefinitionInput:
    code: str
    name: str
    unit: str
    section: str
    policy: str
    measure: str
    kinds: list[str]
    sectors: list[str]
    sub_kinds: list[str]
    record_kind: str | None
    channels: list[str]
    senior: bool | None
    position: int | None
    targets: dict[int, Decimal | None]
    exclude_sub_kinds: list[str]
    survey_subjects: list[str]


def validate_definition(data: Mapping[str, object], *, years: list[int]) -> DefinitionInput:
    f = FieldReader(data)
    code = _nfkc(data.get("code")).lower()
    if not _CODE.match(code):
        f.errors["code"] = "コードは英小文字で始まる英小文字・数字・_（2〜60文字）です。"
    name = f.text("name", "項目名", max_len=NAME_MAX, required=True)
    unit = f.choice("unit", "単位", UNITS)
    section = f.choice("section", "表", {k: title for k, (_, title) in SECTIONS.items()})
    policy = f.text("policy", "各種施策", max_len=NAME_MAX, multiline=True)
    measure = f.choice("measure", "数え方", MEASURES)
    kinds = read_list(f, "kinds", "イベントの種類", EVENT_KINDS)
    sectors = read_list(f, "sectors", "分野", SECTORS)
    sub_kinds = read_list(f, "sub_kinds", "イベントの小分類", SUB_KINDS)
    exclude_sub_kinds = read_list(f, "exclude_sub_kinds", "数えない小分類", SUB_KINDS)
    if set(sub_kinds) & set(exclude_sub_kinds):
        f.errors["exclude_sub_kinds"] = "数える小分類と数えない小分類が重なっています。"
    survey_subjects: list[str] = []
    if measure == "satisfaction":
        survey_subjects = read_list(f, "survey_subjects", "数える回答", SURVEY_SUBJECTS)
    record_kind = None
    channels: list[str] = []
    senior = None
    if measure == "record":
        record_kind = f.choice("record_kind", "記録の種類", RECORD_KINDS)
        channels = read_list(f, "channels", "相談の方法", CONSULTATION_CHANNELS)
        if data.get("senior") not in (None, "", "any"):
            senior = read_flag(f, "senior", "高齢求職者かどうか")
    if measure == "satisfaction" and unit != "percent":
        f.errors["unit"] = "満足度の単位は%です。"
    position = None
    if data.get("position") not in (None, ""):
        position = f.integer("position", "並び順", lo=0, hi=100_000)
    targets: dict[int, Decimal | None] = {}
    for year in years:
        targets[year] = read_decimal(f, f"target_{year}", f"{year}年度の目標値", required=False)
    if f.errors:
        raise InvalidInput(fields=f.errors)
    return DefinitionInput(
        code,
        name,
        unit,
        section,
        policy,
        measure,
        kinds,
        sectors,
        sub_kinds,
        record_kind,
        channels,
        senior,
        position,
        targets,
        exclude_sub_kinds,
        survey_subjects,
    )


def definition_values(d: IndicatorDefinition | DefinitionView) -> dict[str, object]:
    """A definition's fields as plain values: what its audit entries record, and what the
    console's form starts from."""
    return {
        "code": d.code,
        "name": d.name,
        "unit": d.unit,
        "section": d.section,
        "policy": d.policy,
        "measure": d.measure,
        "kinds": list(d.kinds or []),
        "sectors": list(d.sectors or []),
        "sub_kinds": list(d.sub_kinds or []),
        "record_kind": d.record_kind,
        "channels": list(d.channels or []),
        "senior": d.senior,
        "position": d.position,
        "retired_at": d.retired_at,
        "exclude_sub_kinds": list(d.exclude_sub_kinds or []),
        "survey_subjects": list(d.survey_subjects or []),
    }
