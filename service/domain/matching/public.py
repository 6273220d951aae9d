"""The participant's side on the look-up page (after the code-and-phone check): their
timetable, and the companies of the day to rank (choices open until the timetable is built)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.errors import Conflict
from service.domain.matching.repository import MatchingRepository
from service.domain.matching.schedule import participant_meetings
from service.domain.matching.schemas import MeetingView, ranked_from_form
from service.domain.matching.service import matching_day_of_booking, set_participant_choices

RANKS_SHOWN = 5


@dataclass(frozen=True)
class CompanyChoiceRow:
    organization_id: int
    name: str
    brings: str
    rank: int | None


@dataclass(frozen=True)
class ParticipantPage:
    event_id: int
    meetings: list[MeetingView]
    companies: list[CompanyChoiceRow]
    can_choose: bool
    has_profile: bool
    ranks: range


async def participant_page(db: AsyncSession, booking_id: int) -> ParticipantPage | None:
    event_id = await matching_day_of_booking(db, booking_id)
    if event_id is None:
        return None
    repo = MatchingRepository(db)
    day = await repo.day(event_id)
    assert day is not None
    mine = {c.organization_id: c.rank for c in await repo.participant_choices(event_id, booking_id)}
    companies = [
        CompanyChoiceRow(c.organization_id, name, c.brings, mine.get(c.organization_id))
        for c, name in await repo.companies(event_id)
    ]
    profiles = {p.booking_id for p in await repo.participants(day.session_id)}
    return ParticipantPage(
        event_id=event_id,
        meetings=await participant_meetings(db, booking_id),
        companies=companies,
        can_choose=day.schedule_status in ("none", "failed") and booking_id in profiles,
        has_profile=booking_id in profiles,
        ranks=range(1, min(RANKS_SHOWN, len(companies)) + 1),
    )


async def save_choices_from_form(
    db: AsyncSession, booking_id: int, form: Mapping[str, str]
) -> list[int]:
    """The look-up page's form: rank_<organization id> = 1..5 or empty."""
    page = await participant_page(db, booking_id)
    if page is None or not page.can_choose:
        raise Conflict("希望の受け付けは終わりました。", code="matching_choices_closed")
    ranked = ranked_from_form(form)
    return await set_participant_choices(db, None, page.event_id, booking_id, {"ranked": ranked})
