"""A hire after a match (issue 23 point 7): staff or the company record from a meeting whose
outcome is マッチング成立 that the participant was taken on (the start month and how they
work). The placement record it counts as in 雇用・就業数 is written by the indicators
(service/domain/indicators/meeting_placements.py), which call this module for the meeting's
side. (The person page lists the meetings by SQL: people/history_repository.py.)"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.actor import Actor
from service.domain.errors import Conflict, InvalidInput, NotFound
from service.domain.matching.models import Meeting
from service.domain.matching.repository import HireSubjectRow, MatchingRepository
from service.domain.matching.service import require_own_company
from service.domain.people.enums import EMPLOYMENT_TYPES

_MONTH = re.compile(r"^(\d{4})[-/年.](\d{1,2})月?$")


@dataclass(frozen=True, slots=True)
class HireInput:
    started_on: date  # the first day of the start month
    employment_type: str


def validate_hire(raw: Mapping[str, object]) -> HireInput:
    """started_on as 2026-04 (or 2026年4月, full-width digits, a whole date); employment_type
    from the follow-up survey's list."""
    fields: dict[str, str] = {}
    started_on: date | None = None
    value = raw.get("started_on")
    text = unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else ""
    found = _MONTH.match(text) or re.match(r"^(\d{4})-(\d{1,2})-\d{1,2}$", text)
    if found and 1 <= int(found.group(2)) <= 12 and 2000 <= int(found.group(1)) <= 2100:
        started_on = date(int(found.group(1)), int(found.group(2)), 1)
    else:
        fields["started_on"] = "働き始めた月を「2026-04」の形で入力してください。"
    kind = raw.get("employment_type")
    if not isinstance(kind, str) or kind not in EMPLOYMENT_TYPES:
        fields["employment_type"] = "働き方を一覧から選んでください。"
    if fields or started_on is None or not isinstance(kind, str):
        raise InvalidInput(fields=fields)
    return HireInput(started_on, kind)


def meeting_not_found() -> NotFound:
    return NotFound("面談が見つかりません。", code="meeting_not_found")


@dataclass(frozen=True, slots=True)
class HireSubject:
    meeting: Meeting
    person: HireSubjectRow


async def hire_subject(db: AsyncSession, actor: Actor, meeting_id: int) -> HireSubject:
    """The meeting (locked until commit, so two recordings queue) and whom it would hire.
    A company sees only its own meetings; the outcome must be マッチング成立."""
    repo = MatchingRepository(db)
    meeting = await repo.lock_meeting(meeting_id)
    if meeting is None:
        raise meeting_not_found()
    try:
        require_own_company(actor, meeting.organization_id)
    except NotFound:
        raise meeting_not_found() from None
    if meeting.outcome != "matched":
        raise Conflict(
            "採用は「マッチング成立」の面談から記録します。",
            code="meeting_not_matched",
            fields={"meeting_id": "この面談の結果はマッチング成立ではありません。"},
        )
    person = await repo.hire_subject(meeting)
    if person is None:
        # A booking whose personal data was purged: nobody left to count.
        raise Conflict("この面談の参加者の記録は残っていません。", code="person_gone")
    return HireSubject(meeting, person)


async def save_hire(
    db: AsyncSession, meeting: Meeting, hire: HireInput, placement_record_id: int | None
) -> None:
    meeting.hired_on = hire.started_on
    meeting.employment_type = hire.employment_type
    meeting.placement_record_id = placement_record_id
    await MatchingRepository(db).flush()


async def clear_hire(db: AsyncSession, meeting: Meeting) -> None:
    meeting.hired_on = None
    meeting.employment_type = None
    meeting.placement_record_id = None
    await MatchingRepository(db).flush()
