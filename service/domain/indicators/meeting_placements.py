"""A hire after a matching day's match becomes the person's placement record, the same record a
follow-up answer of 就職した writes (placements.record_placement): counted once a fiscal year
in 雇用・就業数 however it was learnt. POST /api/v1/manage/matching/meetings/{id}/placement
and the console's outcome page call this."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import record
from service.domain.errors import Conflict, InvalidInput
from service.domain.indicators import fiscal, placements
from service.domain.matching.hires import (
    HireInput,
    clear_hire,
    hire_subject,
    save_hire,
    validate_hire,
)


@dataclass(frozen=True, slots=True)
class MeetingHire:
    meeting_id: int
    person_id: int
    placement_record_id: int
    started_on: date
    employment_type: str
    # False when the person's placement of that year was already known (an answer, the desk).
    counted_now: bool


def _valid_hire(raw: Mapping[str, object]) -> HireInput:
    hire = validate_hire(raw)
    if not (
        date(fiscal.FIRST_FISCAL_YEAR, 4, 1)
        <= hire.started_on
        <= date(fiscal.LAST_FISCAL_YEAR + 1, 3, 31)
    ):
        raise InvalidInput(fields={"started_on": "働き始めた月が範囲外です。"})
    return hire


def _not_recorded() -> Conflict:
    message = "この面談からの採用は記録されていません。"
    return Conflict(message, code="hire_not_recorded", fields={"meeting_id": message})


async def record_meeting_hire(
    db: AsyncSession, actor: Actor, meeting_id: int, raw: Mapping[str, object]
) -> MeetingHire:
    hire = _valid_hire(raw)
    subject = await hire_subject(db, actor, meeting_id)
    meeting, person = subject.meeting, subject.person
    if meeting.hired_on is not None:
        raise Conflict(
            "この面談からの採用は記録済みです。",
            code="hire_recorded",
            fields={"meeting_id": "この面談からの採用は記録済みです。"},
        )
    outcome = await placements.record_placement(
        db,
        person_id=person.person_id,
        person_name=person.name,
        age_band=person.age_band,
        employer=person.employer,
        occurred_on=hire.started_on,
        sector=person.sector,
        note=placements.MEETING_NOTE,
    )
    if not outcome.created:
        await placements.keep_placement(db, outcome.record_id)
    await save_hire(db, meeting, hire, outcome.record_id)
    await record(
        db,
        actor,
        "matching.hire",
        "matching_meeting",
        meeting.id,
        after={
            "started_on": hire.started_on,
            "employment_type": hire.employment_type,
            "placement_record_id": outcome.record_id,
            "counted_now": outcome.created,
        },
    )
    return MeetingHire(
        meeting.id,
        person.person_id,
        outcome.record_id,
        hire.started_on,
        hire.employment_type,
        outcome.created,
    )


async def correct_meeting_hire(
    db: AsyncSession, actor: Actor, meeting_id: int, raw: Mapping[str, object]
) -> MeetingHire:
    """A recorded hire's start month or way of working corrected (a typo, a later start). The
    placement it wrote moves to the new month; within its fiscal year only, since the year
    decides where it is counted (another year: withdraw it and record it again)."""
    hire = _valid_hire(raw)
    subject = await hire_subject(db, actor, meeting_id)
    meeting, person = subject.meeting, subject.person
    if meeting.hired_on is None:
        raise _not_recorded()
    if fiscal.fiscal_year_of_day(hire.started_on) != fiscal.fiscal_year_of_day(meeting.hired_on):
        raise InvalidInput(
            fields={
                "started_on": "年度が変わる訂正はできません。採用の記録を取り消してから、"
                "あらためて記録してください。"
            }
        )
    before = {"started_on": meeting.hired_on, "employment_type": meeting.employment_type}
    record_id = meeting.placement_record_id
    if record_id is not None:
        await placements.move_meeting_placement(db, record_id, hire.started_on)
    await save_hire(db, meeting, hire, record_id)
    await record(
        db,
        actor,
        "matching.hire_corrected",
        "matching_meeting",
        meeting.id,
        before=before,
        after={"started_on": hire.started_on, "employment_type": hire.employment_type},
    )
    return MeetingHire(
        meeting.id, person.person_id, record_id or 0, hire.started_on, hire.employment_type, False
    )


async def withdraw_meeting_hire(db: AsyncSession, actor: Actor, meeting_id: int) -> None:
    """A hire recorded by mistake taken back: the meeting has none, and the placement it wrote
    is no longer counted (one a follow-up answer also reported stays, as the answer's; the
    desk's own record stays)."""
    subject = await hire_subject(db, actor, meeting_id)
    meeting = subject.meeting
    if meeting.hired_on is None:
        raise _not_recorded()
    before = {
        "started_on": meeting.hired_on,
        "employment_type": meeting.employment_type,
        "placement_record_id": meeting.placement_record_id,
    }
    record_id = meeting.placement_record_id
    await clear_hire(db, meeting)
    if record_id is not None:
        await placements.release_meeting_placement(db, record_id)
    await record(
        db, actor, "matching.hire_withdrawn", "matching_meeting", meeting.id, before=before
    )
