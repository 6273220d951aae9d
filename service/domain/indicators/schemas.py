"""What staff send for the desk's records, hand figures, targets, survey answers and indicator
definitions, validated field by field (the staff API and the console forms share these)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from service.domain.errors import InvalidInput
from service.domain.events.admin_schemas import FieldReader
from service.domain.events.enums import EVENT_KINDS, SECTORS, SUB_KINDS
from service.domain.indicators.enums import (
    CONSULTATION_CHANNELS,
    MEASURES,
    RECORD_KINDS,
    SECTIONS,
    UNITS,
)
from service.domain.indicators.fiscal import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR

NOTE_MAX = 200
NAME_MAX = 100
COMPANY_MAX = 200
QUANTITY_MAX = 10_000
FIGURE_MAX = Decimal("9999999")
COMMENT_MAX = 500
_DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
_MONTH = re.compile(r"^(\d{4})[-/](\d{1,2})$")
_CODE = re.compile(r"^[a-z][a-z0-9_]{1,59}$")
_LIST_SPLIT = re.compile(r"[,、，\s]+")


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
    if kind in ("consultation", "supported_company", "placement") and quantity != 1:
        f.errors["quantity"] = "この記録は1件ずつ入力してください。"
    note = f.text("note", "メモ", max_len=NOTE_MAX, multiline=True)
    if "\n" in note:
        f.errors["note"] = "メモは1行で入力してください。"
    if f.errors:
        raise InvalidInput(fields=f.errors)
    return RecordInput(
        kind, occurred_on, sector, channel, person, company or None, senior, quantity, note
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


@dataclass(frozen=True, slots=True)
class PaperAnswerInput:
    answered_on: date
    score: int
    comment: str


def validate_paper_answer(data: Mapping[str, object]) -> PaperAnswerInput:
    f = FieldReader(data)
    answered_on = read_date(f, "answered_on", "相談・参加の日")
    score = f.integer("score", "満足度", lo=1, hi=5)
    comment = f.text("comment", "ご意見", max_len=COMMENT_MAX, multiline=True)
    if f.errors:
        raise InvalidInput(fields=f.errors)
    return PaperAnswerInput(answered_on, score, comment)


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
    )
