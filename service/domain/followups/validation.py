"""Checking a campaign and an answer as typed (the console, the API, the public form)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date

from service.domain import clock
from service.domain.errors import InvalidInput
from service.domain.events.enums import SECTORS
from service.domain.followups.enums import ANSWER_STATUSES, EMPLOYMENT_TYPES
from service.domain.followups.schemas import AnswerInput, CampaignInput
from service.domain.text_rules import (
    forbidden_chars_message,
    has_forbidden_chars,
    unify_line_breaks,
)
from service.platform.local_time import TOKYO

TITLE_MAX = 100
EMPLOYER_MAX = 200
COMMENT_MAX = 500
_MONTH = re.compile(r"^(\d{4})[-/年.](\d{1,2})月?$")


def _text(raw: object, label: str, field: str, errors: dict[str, str], limit: int,
          *, multiline: bool = False) -> str:  # fmt: skip
    if raw is None:
        return ""
    if not isinstance(raw, str):
        errors[field] = f"{label}は文字で入力してください。"
        return ""
    if multiline:
        raw = unify_line_breaks(raw)
    if has_forbidden_chars(raw, multiline=multiline):
        errors[field] = forbidden_chars_message(label)
        return ""
    value = raw.strip() if multiline else " ".join(raw.split())
    if len(value) > limit:
        errors[field] = f"{label}は{limit}文字以内で入力してください。"
    return value


def _day(raw: object, label: str, field: str, errors: dict[str, str]) -> date | None:
    if isinstance(raw, date):
        return raw
    text = unicodedata.normalize("NFKC", raw).strip() if isinstance(raw, str) else ""
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = f"{label}を「2026-04-01」の形で入力してください。"
        return None


def check_campaign(raw: Mapping[str, object]) -> CampaignInput:
    errors: dict[str, str] = {}
    title = _text(raw.get("title"), "題名", "title", errors, TITLE_MAX)
    if not title and "title" not in errors:
        errors["title"] = "題名を入力してください。"
    first = _day(raw.get("attended_from"), "対象期間の初日", "attended_from", errors)
    last = _day(raw.get("attended_to"), "対象期間の最終日", "attended_to", errors)
    if first and last and first > last:
        errors["attended_to"] = "最終日は初日より後の日にしてください。"
    if errors or first is None or last is None:
        raise InvalidInput(fields=errors)
    return CampaignInput(title, first, last)


def _month(raw: object, errors: dict[str, str]) -> date | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, date):
        return raw.replace(day=1)
    text = unicodedata.normalize("NFKC", raw).strip() if isinstance(raw, str) else ""
    match = _MONTH.match(text) or re.match(r"^(\d{4})-(\d{2})-\d{2}$", text)
    if match and 1 <= int(match.group(2)) <= 12 and 2000 <= int(match.group(1)) <= 2100:
        month = date(int(match.group(1)), int(match.group(2)), 1)
        # The month decides the fiscal year the placement counts in: a job starting next
        # spring is known now, one in 2099 is a slip of the finger that would drop the hire
        # from every report anyone reads.
        today = clock.now().astimezone(TOKYO).date()
        if month > date(today.year + 1, today.month, 1):
            errors["started_on"] = "働き始めた月は、1年先までの月を入力してください。"
            return None
        return month
    errors["started_on"] = "働き始めた月を「2026-04」の形で入力してください。"
    return None


def _choice(raw: object, allowed: Mapping[str, str], field: str, label: str,
            errors: dict[str, str]) -> str | None:  # fmt: skip
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or raw not in allowed:
        errors[field] = f"{label}を一覧から選んでください。"
        return None
    return raw


def check_answer(raw: Mapping[str, object]) -> AnswerInput:
    errors: dict[str, str] = {}
    status = _choice(raw.get("status"), ANSWER_STATUSES, "status", "就業状況", errors)
    if status is None and "status" not in errors:
        errors["status"] = "就業状況を選んでください。"
    comment = _text(raw.get("comment"), "ご意見", "comment", errors, COMMENT_MAX, multiline=True)
    if status != "employed":
        if errors or status is None:
            raise InvalidInput(fields=errors)
        return AnswerInput(status=status, comment=comment)
    employer = _text(raw.get("employer"), "勤務先", "employer", errors, EMPLOYER_MAX)
    started_on = _month(raw.get("started_on"), errors)
    kind = _choice(raw.get("employment_type"), EMPLOYMENT_TYPES, "employment_type", "働き方",
                   errors)  # fmt: skip
    sector = _choice(raw.get("sector"), SECTORS, "sector", "仕事の分野", errors)
    if errors:
        raise InvalidInput(fields=errors)
    return AnswerInput(status, employer or None, started_on, kind, sector, comment)
