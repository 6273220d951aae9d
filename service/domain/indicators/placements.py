"""Placements (雇用・就業) learnt about a known person, e.g. from a follow-up answer: written as
the desk's placement records (desk_records, kind placement, with person_id), so the workers'
compile counts them in 雇用・就業数 as it counts the desk's own; a person's placement is counted
once a fiscal year, however many ways it was learnt."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.indicators import fiscal
from service.domain.indicators.models import DeskRecord
from service.domain.indicators.placements_repository import PlacementRepository
from service.domain.indicators.schemas import COMPANY_MAX, company_key

# Age bands counted as 高齢求職者 (高年齢者: 55 and over). A person whose age band is not known
# is counted as one: the desk serves people of 50 to 75.
NOT_SENIOR_BANDS = frozenset({"under_50", "50_54"})
UNKNOWN_EMPLOYER = "（勤務先の回答なし）"
# The note that marks a record written from a follow-up answer (changed with the answer).
SOURCE_NOTE = "就業状況調査の回答"
# The note of a record written from a matching day's meeting (a hire the company confirmed:
# an answer changed later leaves it).
MEETING_NOTE = "マッチング面談からの採用"


def is_senior(age_band: str | None) -> bool:
    return age_band not in NOT_SENIOR_BANDS


@dataclass(frozen=True, slots=True)
class PlacementOutcome:
    record_id: int
    created: bool


def _name_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split()).lower()


async def record_placement(
    db: AsyncSession,
    *,
    person_id: int,
    person_name: str,
    age_band: str | None,
    employer: str | None,
    occurred_on: date,
    sector: str | None,
    note: str = SOURCE_NOTE,
) -> PlacementOutcome:
    """The placement record of the person in occurred_on's fiscal year: the one already there
    (recorded by the desk or learnt before), else a new one."""
    year = fiscal.fiscal_year_of_day(occurred_on)
    first, last = date(year, 4, 1), date(year + 1, 3, 31)
    repo = PlacementRepository(db)
    found = await repo.existing(person_id, _name_key(person_name), first, last)
    if found is not None:
        return PlacementOutcome(found, created=False)
    company = (employer or UNKNOWN_EMPLOYER)[:COMPANY_MAX]
    row = DeskRecord(
        kind="placement",
        occurred_on=occurred_on,
        sector=sector or "general",
        person_name=person_name[:100],
        person_id=person_id,
        company=company,
        company_key=company_key(company),
        senior=is_senior(age_band),
        quantity=1,
        note=note,
    )
    return PlacementOutcome(await repo.add(row), created=True)


async def keep_placement(db: AsyncSession, record_id: int) -> None:
    """A hire confirmed from a meeting for a placement an answer had written: the record is
    the meeting's now, so changing the answer no longer withdraws it."""
    repo = PlacementRepository(db)
    row = await repo.get(record_id)
    if row is not None and row.note == SOURCE_NOTE:
        row.note = MEETING_NOTE
        await repo.flush()


async def withdraw_placement(db: AsyncSession, record_id: int) -> None:
    """An answer changed from 就職した: the record it wrote goes (the desk's own stays)."""
    repo = PlacementRepository(db)
    row = await repo.get(record_id)
    if row is not None and row.note == SOURCE_NOTE:
        await repo.delete(row)


async def move_meeting_placement(db: AsyncSession, record_id: int, occurred_on: date) -> None:
    """A corrected hire's start month, on the placement the meeting wrote (not on the desk's
    own record of it, nor on one an answer reported before the meeting's hire took it over)."""
    repo = PlacementRepository(db)
    row = await repo.get(record_id)
    if row is not None and row.note == MEETING_NOTE and not await repo.answered(record_id):
        row.occurred_on = occurred_on
        await repo.flush()


async def release_meeting_placement(db: AsyncSession, record_id: int) -> None:
    """A withdrawn hire's placement: gone when only the meeting reported it; the answer's again
    when a follow-up answer reported it too (keep_placement had taken it over); the desk's own
    record stays."""
    repo = PlacementRepository(db)
    row = await repo.get(record_id)
    if row is None or row.note != MEETING_NOTE:
        return
    if await repo.answered(record_id):
        row.note = SOURCE_NOTE
        await repo.flush()
    else:
        await repo.delete(row)
