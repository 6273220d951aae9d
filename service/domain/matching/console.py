"""What the console pages of a matching day show: the list of days, a company's page (its
participants to rank, its timetable per table, outcomes), and its CSV and .ics. Company logins
see only their own company (the staff guard and `require_own_company`)."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.access import require_role
from service.domain.accounts.actor import Actor
from service.domain.bookings.enums import AGE_BANDS
from service.domain.errors import NotFound
from service.domain.matching.enums import OUTCOMES
from service.domain.matching.ics import timetable_ics
from service.domain.matching.meetings import event_of
from service.domain.matching.repository import MatchingRepository
from service.domain.matching.schedule import schedule_view
from service.domain.matching.schemas import (
    CompanyView,
    MeetingView,
    ParticipantView,
    SlotView,
    TableView,
    ranked_from_form,
)
from service.domain.matching.service import (
    COMPANY_ROLE,
    company_not_found,
    require_own_company,
    set_company_choices,
    view,
)
from service.platform.local_time import TOKYO

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class DayRow:
    event_id: int
    title: str
    starts_at: datetime
    companies: list[tuple[int, str]]


async def list_days(db: AsyncSession, actor: Actor) -> list[DayRow]:
    repo = MatchingRepository(db)
    own = actor.organization_id if actor.role == COMPANY_ROLE else None
    out = []
    for event_id, title, starts_at in await repo.all_days():
        companies = [(c.organization_id, name) for c, name in await repo.companies(event_id)]
        if own is not None:
            companies = [c for c in companies if c[0] == own]
            if not companies:
                continue
        out.append(DayRow(event_id, title, starts_at, companies))
    return out


@dataclass(frozen=True)
class TableSheet:
    number: int
    place: str
    join_url: str | None
    meetings: list[MeetingView]


@dataclass(frozen=True)
class CompanyPage:
    event_id: int
    title: str
    company: CompanyView
    participants: list[ParticipantView]
    ranks: dict[int, int]  # booking id -> rank
    tables: list[TableSheet]
    status: str
    max_per_company: int


async def company_page(
    db: AsyncSession, actor: Actor, event_id: int, organization_id: int
) -> CompanyPage:
    require_own_company(actor, organization_id)
    day = await view(db, actor, event_id)
    company = next((c for c in day.companies if c.organization_id == organization_id), None)
    if company is None:
        raise company_not_found()
    ranked = day.company_choices.get(organization_id, [])
    kind = await MatchingRepository(db).event_kind(event_id)
    sched = await schedule_view(db, actor, event_id)
    own = [m for m in sched.meetings if m.organization_id == organization_id]
    tables = [
        TableSheet(t.number, t.place, t.join_url, [m for m in own if m.table == t.number])
        for t in company.tables
    ]
    return CompanyPage(
        event_id=event_id,
        title=kind[1] if kind else "",
        company=company,
        participants=day.participants,
        ranks={b: i for i, b in enumerate(ranked, start=1)},
        tables=tables,
        status=sched.status,
        max_per_company=day.max_per_company,
    )


async def save_ranks_from_form(
    db: AsyncSession,
    actor: Actor,
    event_id: int,
    organization_id: int,
    form: Mapping[str, str],
) -> list[int]:
    """The ranking form: one select per participant (rank_<booking id>: 1, 2, ... or empty).
    Equal numbers keep the page's order; the stored ranks are 1..n."""
    ranked = ranked_from_form(form)
    return await set_company_choices(db, actor, event_id, organization_id, {"ranked": ranked})


@dataclass(frozen=True)
class MeetingPage:
    """One meeting with where it could go: the day's slots and its company's tables."""

    event_id: int
    meeting: MeetingView
    slots: list[SlotView]
    tables: list[TableView]


async def meeting_page(db: AsyncSession, actor: Actor, meeting_id: int) -> MeetingPage:
    require_role(actor, "cohost")
    event_id = await event_of(db, meeting_id)
    day = await view(db, actor, event_id)
    sched = await schedule_view(db, actor, event_id)
    meeting = next((m for m in sched.meetings if m.id == meeting_id), None)
    if meeting is None:
        raise NotFound("面談が見つかりません。", code="meeting_not_found")
    company = next(c for c in day.companies if c.organization_id == meeting.organization_id)
    return MeetingPage(event_id, meeting, day.slots, company.tables)


@dataclass(frozen=True)
class DaySetup:
    """The staff page of a day: None settings when matching is not on yet."""

    event_id: int
    title: str
    configured: bool
    employers: list[tuple[int, str]]


async def day_setup(db: AsyncSession, event_id: int) -> DaySetup:
    repo = MatchingRepository(db)
    kind = await repo.event_kind(event_id)
    return DaySetup(
        event_id=event_id,
        title=kind[1] if kind else "",
        configured=await repo.day(event_id) is not None,
        employers=await repo.employers(),
    )


def form_numbers(form: Mapping[str, str], names: tuple[str, ...]) -> dict[str, object]:
    """Numbers typed on a form (full-width digits too) as ints; anything else is passed on
    as typed, for the validation to name the field."""
    out: dict[str, object] = {}
    for name in names:
        value = unicodedata.normalize("NFKC", form.get(name, "")).strip()
        out[name] = (
            int(value) if value.isascii() and value.isdecimal() and len(value) < 6 else value
        )
    return out


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def company_csv(page: CompanyPage) -> bytes:
    """The company's timetable for Excel: UTF-8 with a BOM, CRLF, formulas escaped."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["開始", "終了", "テーブル", "場所", "参加者", "年代", "結果", "メモ"])
    bands = {p.booking_id: p.age_band for p in page.participants}
    for sheet in page.tables:
        for m in sheet.meetings:
            writer.writerow(
                [
                    _cell(f"{m.starts_at.astimezone(TOKYO):%Y-%m-%d %H:%M}"),
                    _cell(f"{m.ends_at.astimezone(TOKYO):%H:%M}"),
                    sheet.number,
                    _cell(sheet.place),
                    _cell(m.participant),
                    _cell(AGE_BANDS.get(bands.get(m.booking_id) or "", "")),
                    _cell(OUTCOMES.get(m.outcome or "", "")),
                    _cell(m.outcome_note or ""),
                ]
            )
    return (BOM + out.getvalue()).encode("utf-8")


def company_ics(page: CompanyPage, base_url: str) -> bytes:
    meetings = [m for sheet in page.tables for m in sheet.meetings]
    # A company's calendar names the participant instead of the company.
    renamed = [MeetingView(**{**m.__dict__, "company": f"{m.participant} 様"}) for m in meetings]
    return timetable_ics(renamed, title=page.title, base_url=base_url, now=clock.now())
