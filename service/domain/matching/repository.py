"""Every query of the matching area.

Writers that check the maxima (manual moves, the timetable job storing its result, outcomes)
first lock the day's row (`lock_day`: SELECT ... FOR UPDATE on matching_days), so two of them
never judge the same counts; the unique constraints on matching_meetings hold the rest.
Bookings, sessions and organizations belong to lower areas; the few columns read here are named
as lightweight Core tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import column, delete, exists, func, select, table, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.events.models import event_cohosts
from service.domain.matching.models import (
    CompanyChoice,
    MatchingCompany,
    MatchingDay,
    MatchingProfile,
    MatchingTable,
    Meeting,
    ParticipantChoice,
)
from service.domain.outbox_repository import NOTICE_INSERT, notifications

_organizations = table("organizations", column("id"), column("name"), column("kind"))
_bookings = table(
    "bookings",
    column("id"),
    column("session_id"),
    column("person_id"),
    column("status"),
    column("phone"),
    column("email"),
    column("code"),
    column("checked_in_at"),
    column("no_show_at"),
)
_persons = table("persons", column("id"), column("name"), column("name_kana"), column("age_band"))
_sessions = table(
    "sessions", column("id"), column("event_id"), column("starts_at"), column("ends_at")
)
_events = table(
    "events", column("id"), column("kind"), column("title"), column("status"), column("sector")
)


@dataclass(frozen=True, slots=True)
class ParticipantRow:
    booking_id: int
    name: str
    name_kana: str
    age_band: str | None
    phone: str
    email: str | None
    code: str
    profile: str
    consented_at: datetime
    checked_in: bool
    no_show: bool


@dataclass(frozen=True, slots=True)
class HireSubjectRow:
    person_id: int
    name: str
    age_band: str | None
    employer: str
    sector: str


@dataclass(frozen=True, slots=True)
class SessionWindow:
    session_id: int
    event_id: int
    starts_at: datetime
    ends_at: datetime


class MatchingRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    # --- the day -----------------------------------------------------------------------
    async def event_kind(self, event_id: int) -> tuple[str, str] | None:
        row = (
            await self.db.execute(
                select(_events.c.kind, _events.c.title).where(_events.c.id == event_id)
            )
        ).first()
        return (row.kind, row.title) if row else None

    async def first_session(self, event_id: int) -> SessionWindow | None:
        s = _sessions.c
        row = (
            await self.db.execute(
                select(s.id, s.event_id, s.starts_at, s.ends_at)
                .where(s.event_id == event_id)
                .order_by(s.starts_at, s.id)
                .limit(1)
            )
        ).first()
        return SessionWindow(row.id, row.event_id, row.starts_at, row.ends_at) if row else None

    async def session_window(self, session_id: int) -> SessionWindow | None:
        s = _sessions.c
        row = (
            await self.db.execute(
                select(s.id, s.event_id, s.starts_at, s.ends_at).where(s.id == session_id)
            )
        ).first()
        return SessionWindow(row.id, row.event_id, row.starts_at, row.ends_at) if row else None

    async def all_days(self) -> list[tuple[int, str, datetime]]:
        """(event id, title, session start) of every matching day, latest first."""
        stmt = (
            select(MatchingDay.event_id, _events.c.title, _sessions.c.starts_at)
            .join(_events, _events.c.id == MatchingDay.event_id)
            .join(_sessions, _sessions.c.id == MatchingDay.session_id)
            .order_by(_sessions.c.starts_at.desc())
        )
        return [(r.event_id, r.title, r.starts_at) for r in await self.db.execute(stmt)]

    async def day(self, event_id: int) -> MatchingDay | None:
        return await self.db.get(MatchingDay, event_id)

    async def lock_day(self, event_id: int) -> MatchingDay | None:
        stmt = (
            select(MatchingDay)
            .where(MatchingDay.event_id == event_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.db.scalars(stmt)).one_or_none()

    async def day_of_session(self, session_id: int) -> MatchingDay | None:
        stmt = select(MatchingDay).where(MatchingDay.session_id == session_id)
        return (await self.db.scalars(stmt)).one_or_none()

    async def add(self, obj: object) -> None:
        self.db.add(obj)
        await self.db.flush()

    def stage(self, obj: object) -> None:
        """Added to the session, written at the next flush (many rows, one round trip)."""
        self.db.add(obj)

    async def flush(self) -> None:
        await self.db.flush()

    # --- companies and tables ----------------------------------------------------------
    async def organization(self, organization_id: int) -> tuple[str, str] | None:
        o = _organizations.c
        row = (await self.db.execute(select(o.name, o.kind).where(o.id == organization_id))).first()
        return (row.name, row.kind) if row else None

    async def employers(self) -> list[tuple[int, str]]:
        o = _organizations.c
        stmt = select(o.id, o.name).where(o.kind == "employer").order_by(o.name)
        return [(r.id, r.name) for r in await self.db.execute(stmt)]

    async def company(self, event_id: int, organization_id: int) -> MatchingCompany | None:
        return await self.db.get(MatchingCompany, (event_id, organization_id))

    async def companies(self, event_id: int) -> list[tuple[MatchingCompany, str]]:
        stmt = (
            select(MatchingCompany, _organizations.c.name)
            .join(_organizations, _organizations.c.id == MatchingCompany.organization_id)
            .where(MatchingCompany.event_id == event_id)
            .order_by(_organizations.c.name)
        )
        return [(c, name) for c, name in (await self.db.execute(stmt)).all()]

    async def tables(self, event_id: int) -> list[MatchingTable]:
        stmt = (
            select(MatchingTable)
            .where(MatchingTable.event_id == event_id)
            .order_by(MatchingTable.organization_id, MatchingTable.number)
        )
        return list((await self.db.scalars(stmt)).all())

    async def replace_tables(
        self, event_id: int, organization_id: int, tables: Sequence[tuple[str, str | None]]
    ) -> None:
        """Tables 1..n with their place and link; meetings on a table that goes are removed."""
        existing = {
            t.number: t for t in await self.tables(event_id) if t.organization_id == organization_id
        }
        for number, (place, join_url) in enumerate(tables, start=1):
            row = existing.pop(number, None)
            if row is None:
                self.db.add(
                    MatchingTable(
                        event_id=event_id,
                        organization_id=organization_id,
                        number=number,
                        place=place,
                        join_url=join_url,
                    )
                )
            else:
                row.place, row.join_url = place, join_url
        for row in existing.values():
            await self.db.delete(row)
        await self.db.flush()

    # --- participants ------------------------------------------------------------------
    async def participants(self, session_id: int) -> list[ParticipantRow]:
        """Confirmed bookings of the day's session with a consented profile."""
        b = _bookings.c
        stmt = (
            select(
                b.id,
                _persons.c.name,
                _persons.c.name_kana,
                _persons.c.age_band,
                b.phone,
                b.email,
                b.code,
                MatchingProfile.profile,
                MatchingProfile.consented_at,
                b.checked_in_at,
                b.no_show_at,
            )
            .join(MatchingProfile, MatchingProfile.booking_id == b.id)
            .outerjoin(_persons, _persons.c.id == b.person_id)
            .where(b.session_id == session_id, b.status == "confirmed")
            .order_by(_persons.c.name_kana, b.id)
        )
        return [
            ParticipantRow(
                booking_id=r.id,
                name=r.name or "",
                name_kana=r.name_kana or "",
                age_band=r.age_band,
                phone=r.phone,
                email=r.email,
                code=r.code,
                profile=r.profile,
                consented_at=r.consented_at,
                checked_in=r.checked_in_at is not None,
                no_show=r.no_show_at is not None,
            )
            for r in await self.db.execute(stmt)
        ]

    async def booking_session(self, booking_id: int) -> int | None:
        return await self.db.scalar(
            select(_bookings.c.session_id).where(_bookings.c.id == booking_id)
        )

    async def booking_by_code(self, code: str) -> tuple[int, int, str] | None:
        """(booking id, session id, phone) for a code."""
        b = _bookings.c
        row = (
            await self.db.execute(select(b.id, b.session_id, b.phone).where(b.code == code))
        ).first()
        return (row.id, row.session_id, row.phone) if row else None

    async def save_profile(self, booking_id: int, profile: str, at: datetime) -> None:
        row = await self.db.get(MatchingProfile, booking_id)
        if row is None:
            self.db.add(MatchingProfile(booking_id=booking_id, profile=profile, consented_at=at))
        else:
            row.profile, row.consented_at = profile, at
        await self.db.flush()

    # --- choices -----------------------------------------------------------------------
    async def company_choices(
        self, event_id: int, organization_id: int | None = None
    ) -> list[CompanyChoice]:
        stmt = select(CompanyChoice).where(CompanyChoice.event_id == event_id)
        if organization_id is not None:
            stmt = stmt.where(CompanyChoice.organization_id == organization_id)
        stmt = stmt.order_by(CompanyChoice.organization_id, CompanyChoice.rank)
        return list((await self.db.scalars(stmt)).all())

    async def participant_choices(
        self, event_id: int, booking_id: int | None = None
    ) -> list[ParticipantChoice]:
        stmt = select(ParticipantChoice).where(ParticipantChoice.event_id == event_id)
        if booking_id is not None:
            stmt = stmt.where(ParticipantChoice.booking_id == booking_id)
        stmt = stmt.order_by(ParticipantChoice.booking_id, ParticipantChoice.rank)
        return list((await self.db.scalars(stmt)).all())

    async def set_company_choices(
        self, event_id: int, organization_id: int, ranked: Sequence[int]
    ) -> None:
        await self.db.execute(
            delete(CompanyChoice).where(
                CompanyChoice.event_id == event_id,
                CompanyChoice.organization_id == organization_id,
            )
        )
        if ranked:
            await self.db.execute(
                insert(CompanyChoice),
                [
                    {
                        "event_id": event_id,
                        "organization_id": organization_id,
                        "booking_id": b,
                        "rank": r,
                    }
                    for r, b in enumerate(ranked, start=1)
                ],
            )

    async def set_participant_choices(
        self, event_id: int, booking_id: int, ranked: Sequence[int]
    ) -> None:
        await self.db.execute(
            delete(ParticipantChoice).where(ParticipantChoice.booking_id == booking_id)
        )
        if ranked:
            await self.db.execute(
                insert(ParticipantChoice),
                [
                    {
                        "event_id": event_id,
                        "organization_id": o,
                        "booking_id": booking_id,
                        "rank": r,
                    }
                    for r, o in enumerate(ranked, start=1)
                ],
            )

    # --- meetings ----------------------------------------------------------------------
    async def meetings(
        self,
        event_id: int,
        *,
        organization_id: int | None = None,
        booking_id: int | None = None,
    ) -> list[Meeting]:
        stmt = select(Meeting).where(Meeting.event_id == event_id)
        if organization_id is not None:
            stmt = stmt.where(Meeting.organization_id == organization_id)
        if booking_id is not None:
            stmt = stmt.where(Meeting.booking_id == booking_id)
        stmt = stmt.order_by(Meeting.slot, Meeting.organization_id, Meeting.table_id)
        return list((await self.db.scalars(stmt)).all())

    async def meeting(self, meeting_id: int) -> Meeting | None:
        return await self.db.get(Meeting, meeting_id)

    async def lock_meeting(self, meeting_id: int) -> Meeting | None:
        return await self.db.get(Meeting, meeting_id, with_for_update=True, populate_existing=True)

    async def hire_subject(self, meeting: Meeting) -> HireSubjectRow | None:
        """The person of the meeting's booking, the company's name and the event's sector."""
        b = _bookings.c
        row = (
            await self.db.execute(
                select(
                    b.person_id,
                    _persons.c.name,
                    _persons.c.age_band,
                    _organizations.c.name.label("employer"),
                    _events.c.sector,
                )
                .select_from(_bookings)
                .join(_persons, _persons.c.id == b.person_id)
                .join(_organizations, _organizations.c.id == meeting.organization_id)
                .join(_events, _events.c.id == meeting.event_id)
                .where(b.id == meeting.booking_id)
            )
        ).one_or_none()
        if row is None:
            return None
        return HireSubjectRow(
            int(row.person_id), row.name or "", row.age_band, row.employer, row.sector
        )

    async def delete_meetings(self, ids: Sequence[int]) -> None:
        if ids:
            await self.db.execute(delete(Meeting).where(Meeting.id.in_(ids)))

    async def delete_meeting(self, meeting: Meeting) -> None:
        await self.db.delete(meeting)
        await self.db.flush()

    async def mark_sent(self, event_id: int, at: datetime) -> None:
        await self.db.execute(
            update(Meeting)
            .where(Meeting.event_id == event_id, Meeting.sent_at.is_(None))
            .values(sent_at=at)
        )

    async def add_notices(
        self, rows: Sequence[tuple[int, str, str, dict[str, object]]]
    ) -> list[int]:
        """Outbox rows (booking id, kind, dedup key, payload), written in this transaction;
        a key written before is skipped. Returns the new notices' ids."""
        ids: list[int] = []
        for booking_id, kind, key, payload in rows:
            new_id = await self.db.scalar(
                NOTICE_INSERT.values(
                    booking_id=booking_id, kind=kind, dedup_key=key, payload=payload
                )
            )
            if new_id is not None:
                ids.append(int(new_id))
        return ids

    async def told_bookings(self, event_id: int) -> list[int]:
        """Bookings that were written a timetable notice for this day."""
        n = notifications.c
        rows = await self.db.scalars(
            select(n.booking_id)
            .distinct()
            .where(n.kind == "matching_timetable", n.payload["event_id"].astext == str(event_id))
        )
        return [int(r) for r in rows]

    async def last_timetable_lines(self, booking_id: int) -> list[str] | None:
        """The meeting lines of the last timetable notice written for this booking."""
        n = notifications.c
        payload = await self.db.scalar(
            select(n.payload)
            .where(n.booking_id == booking_id, n.kind == "matching_timetable")
            .order_by(n.id.desc())
            .limit(1)
        )
        if not isinstance(payload, dict):
            return None
        lines = payload.get("lines")
        return [str(x) for x in lines] if isinstance(lines, list) else None

    # --- figures -----------------------------------------------------------------------
    async def days_between(
        self, start: datetime, end: datetime, cohost: int | None = None
    ) -> list[tuple[int, datetime]]:
        """(event id, session start) of matching days whose session starts in [start, end);
        with `cohost`, only the days of events that organization co-hosts."""
        stmt = (
            select(MatchingDay.event_id, _sessions.c.starts_at)
            .join(_sessions, _sessions.c.id == MatchingDay.session_id)
            .where(_sessions.c.starts_at >= start, _sessions.c.starts_at < end)
            .order_by(_sessions.c.starts_at)
        )
        if cohost is not None:
            stmt = stmt.where(
                exists().where(
                    event_cohosts.c.event_id == MatchingDay.event_id,
                    event_cohosts.c.organization_id == cohost,
                )
            )
        return [(r.event_id, r.starts_at) for r in await self.db.execute(stmt)]

    async def cohosts_between(self, start: datetime, end: datetime) -> list[int]:
        """The organizations co-hosting a matching day whose session starts in [start, end)."""
        stmt = (
            select(event_cohosts.c.organization_id)
            .distinct()
            .join(MatchingDay, MatchingDay.event_id == event_cohosts.c.event_id)
            .join(_sessions, _sessions.c.id == MatchingDay.session_id)
            .where(_sessions.c.starts_at >= start, _sessions.c.starts_at < end)
            .order_by(event_cohosts.c.organization_id)
        )
        return [int(org) for org in (await self.db.scalars(stmt)).all()]

    async def outcome_counts(self, event_id: int) -> tuple[int, int, int, int]:
        """(companies taking part, participants who met anyone, companies that met anyone,
        companies with at least one match). A meeting counts as held unless marked absent."""
        held = Meeting.outcome.is_distinct_from("absent")
        companies = await self.db.scalar(
            select(func.count())
            .select_from(MatchingCompany)
            .where(MatchingCompany.event_id == event_id)
        )
        met = (
            await self.db.execute(
                select(
                    func.count(func.distinct(Meeting.booking_id)).filter(held),
                    func.count(func.distinct(Meeting.organization_id)).filter(held),
                    func.count(func.distinct(Meeting.organization_id)).filter(
                        Meeting.outcome == "matched"
                    ),
                ).where(Meeting.event_id == event_id)
            )
        ).one()
        return int(companies or 0), int(met[0]), int(met[1]), int(met[2])
