"""Every query behind the indicators: definitions, targets, the desk's records, hand figures,
survey answers, the compile's aggregates and the compiled figures."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Integer,
    Select,
    SQLColumnExpression,
    any_,
    case,
    cast,
    delete,
    exists,
    extract,
    func,
    insert,
    join,
    literal,
    literal_column,
    select,
    union,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, INTERVAL, aggregate_order_by
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.models import Booking
from service.domain.events.models import (
    Event,
    EventSession,
    Organization,
    event_cohosts,
    event_employers,
)
from service.domain.indicators.models import (
    DeskRecord,
    EventFigure,
    FiscalYearSetting,
    HandFigure,
    HeardFromFigure,
    IndicatorCompilation,
    IndicatorDefinition,
    IndicatorFigure,
    IndicatorTarget,
    Narrative,
    SurveyAnswer,
    YearHandFigure,
)

_TOKYO = "Asia/Tokyo"
_THREE_MONTHS = literal_column("interval '3 months'", INTERVAL)


def people_per_attendance() -> SQLColumnExpression[int]:
    """How many people one checked-in or walk-in booking counts: its party
    (bookings.party_size, the holder plus live companions)."""
    return Booking.party_size


def _tokyo(moment: SQLColumnExpression[datetime]) -> ColumnElement[datetime]:
    """The moment on Tokyo's wall clock (AT TIME ZONE 'Asia/Tokyo')."""
    return func.timezone(_TOKYO, moment, type_=DateTime())


def _month(day: SQLColumnExpression[Any]) -> ColumnElement[str]:
    """'YYYY-MM' of a day or a Tokyo wall-clock time."""
    return func.to_char(day, "YYYY-MM")


def _ended_fiscal_year(ends_at: SQLColumnExpression[datetime]) -> ColumnElement[int]:
    """The fiscal year (April to March, Tokyo) of a session's end."""
    return cast(extract("year", _tokyo(ends_at) - _THREE_MONTHS), Integer)


def _attendance(starts: datetime, ends: datetime) -> Select[*tuple[Any, ...]]:
    """The heavy part of a compile: one pass over the year's checked-in bookings, per event,
    Tokyo month of the session and how they heard of it."""
    b, s = Booking, EventSession
    # Grouped by the same expressions (their bound values are then the same parameters), not
    # by the labels: in GROUP BY, PostgreSQL reads heard_from as the column bookings.heard_from.
    month = _month(_tokyo(s.starts_at))
    heard_from = func.coalesce(b.heard_from, "unknown")
    return (
        select(
            s.event_id,
            month.label("month"),
            heard_from.label("heard_from"),
            cast(func.sum(people_per_attendance()), BigInteger).label("people"),
        )
        .select_from(b)
        .join(s, s.id == b.session_id)
        .where(
            b.status == "confirmed",
            b.checked_in_at.is_not(None),
            s.starts_at >= starts,
            s.starts_at < ends,
        )
        .group_by(s.event_id, month, heard_from)
    )


# The benchmark's floor (tests/bench/indicators.py runs it on asyncpg itself, as the bare SQL
# it is): the same rows as _attendance, the bare GROUP BY.
_FLOOR_MONTH = "to_char(s.starts_at AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM')"
BARE_ATTENDANCE_SQL = f"""
    SELECT s.event_id, {_FLOOR_MONTH} AS month, count(*)
    FROM bookings b JOIN sessions s ON s.id = b.session_id
    WHERE b.status = 'confirmed' AND b.checked_in_at IS NOT NULL
      AND s.starts_at >= :starts AND s.starts_at < :ends
    GROUP BY 1, 2
"""

BARE_RECORDS_SQL = """
    SELECT kind, sector, to_char(occurred_on, 'YYYY-MM'), sum(quantity)
    FROM desk_records WHERE occurred_on >= :first AND occurred_on <= :last
    GROUP BY 1, 2, 3
"""


@dataclass(frozen=True, slots=True)
class EventFacts:
    id: int
    kind: str
    sector: str
    sub_kind: str | None
    cohosts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class AttendanceRow:
    event_id: int
    month: str
    heard_from: str
    people: int


@dataclass(frozen=True, slots=True)
class EmployerRow:
    event_id: int
    organization_id: int
    month: str


@dataclass(frozen=True, slots=True)
class RecordRow:
    kind: str
    sector: str
    channel: str | None
    senior: bool | None
    company_key: str | None
    month: str
    quantity: int


@dataclass(frozen=True, slots=True)
class SurveyRow:
    month: str
    answers: int
    satisfied: int
    subject: str = "event"


@dataclass(frozen=True, slots=True)
class YearHandRow:
    definition_id: int
    value: Decimal
    answers: int | None


@dataclass(frozen=True, slots=True)
class HandRow:
    definition_id: int
    month: str
    value: Decimal
    answers: int | None


@dataclass(frozen=True, slots=True)
class FigureRow:
    scope_org_id: int
    definition_id: int
    period: str
    value: Decimal | None
    answers: int | None


@dataclass(frozen=True, slots=True)
class YearFigure:
    fiscal_year: int
    definition_id: int
    period: str
    value: Decimal | None
    answers: int | None


@dataclass(frozen=True, slots=True)
class CompileState:
    fiscal_year: int
    dirty_version: int
    compiled_version: int
    compiled_at: datetime | None
    stale_since: datetime | None

    @property
    def is_stale(self) -> bool:
        return self.dirty_version != self.compiled_version


class IndicatorRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    # definitions and targets

    async def definitions(self, *, include_retired: bool = False) -> list[IndicatorDefinition]:
        query = select(IndicatorDefinition).order_by(
            IndicatorDefinition.position, IndicatorDefinition.id
        )
        if not include_retired:
            query = query.where(IndicatorDefinition.retired_at.is_(None))
        return list((await self.db.scalars(query)).all())

    async def definition(self, definition_id: int) -> IndicatorDefinition | None:
        return await self.db.get(IndicatorDefinition, definition_id)

    async def definition_by_code(self, code: str) -> IndicatorDefinition | None:
        query = select(IndicatorDefinition).where(IndicatorDefinition.code == code)
        return (await self.db.scalars(query)).first()

    async def add_definition(self, definition: IndicatorDefinition) -> IndicatorDefinition:
        self.db.add(definition)
        await self.db.flush()
        return definition

    async def flush(self) -> None:
        await self.db.flush()

    async def max_position(self) -> int:
        value = await self.db.scalar(select(func.max(IndicatorDefinition.position)))
        return int(value or 0)

    async def targets(self, years: Sequence[int]) -> dict[tuple[int, int], Decimal]:
        rows = await self.db.execute(
            select(
                IndicatorTarget.definition_id, IndicatorTarget.fiscal_year, IndicatorTarget.target
            ).where(IndicatorTarget.fiscal_year.in_(list(years)))
        )
        return {(d, y): t for d, y, t in rows.all()}

    async def set_target(
        self, definition_id: int, fiscal_year: int, target: Decimal | None
    ) -> None:
        # Upserts: the same form sent twice at once sets the same value twice (no key clash).
        if target is None:
            await self.db.execute(
                delete(IndicatorTarget).where(
                    IndicatorTarget.definition_id == definition_id,
                    IndicatorTarget.fiscal_year == fiscal_year,
                )
            )
            return
        statement = upsert(IndicatorTarget).values(
            definition_id=definition_id, fiscal_year=fiscal_year, target=target
        )
        await self.db.execute(
            statement.on_conflict_do_update(
                index_elements=["definition_id", "fiscal_year"],
                set_={"target": statement.excluded.target},
            )
        )

    # fiscal years

    async def window_start(self, fiscal_year: int) -> date | None:
        return await self.db.scalar(
            select(FiscalYearSetting.window_starts_on).where(
                FiscalYearSetting.fiscal_year == fiscal_year
            )
        )

    async def set_window_start(self, fiscal_year: int, starts_on: date | None) -> None:
        if starts_on is None:
            await self.db.execute(
                delete(FiscalYearSetting).where(FiscalYearSetting.fiscal_year == fiscal_year)
            )
            return
        statement = upsert(FiscalYearSetting).values(
            fiscal_year=fiscal_year, window_starts_on=starts_on
        )
        await self.db.execute(
            statement.on_conflict_do_update(
                index_elements=["fiscal_year"],
                set_={"window_starts_on": statement.excluded.window_starts_on},
            )
        )

    # the desk's records

    async def add_record(self, row: DeskRecord) -> DeskRecord:
        self.db.add(row)
        await self.db.flush()
        return row

    async def record(self, record_id: int) -> DeskRecord | None:
        return await self.db.get(DeskRecord, record_id)

    async def lock_record(self, record_id: int) -> DeskRecord | None:
        query = select(DeskRecord).where(DeskRecord.id == record_id).with_for_update()
        return (await self.db.scalars(query)).first()

    async def delete_record(self, record_id: int) -> None:
        await self.db.execute(delete(DeskRecord).where(DeskRecord.id == record_id))

    async def records(
        self, first: date, last: date, kind: str | None, limit: int, offset: int
    ) -> tuple[list[DeskRecord], int]:
        where = [DeskRecord.occurred_on >= first, DeskRecord.occurred_on <= last]
        if kind:
            where.append(DeskRecord.kind == kind)
        total = await self.db.scalar(select(func.count()).select_from(DeskRecord).where(*where))
        rows = await self.db.scalars(
            select(DeskRecord)
            .where(*where)
            .order_by(DeskRecord.occurred_on.desc(), DeskRecord.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(rows.all()), int(total or 0)

    # hand figures and paper survey answers

    async def hand_figures(self, first: date, last: date) -> list[HandFigure]:
        rows = await self.db.scalars(
            select(HandFigure)
            .where(HandFigure.month >= first.replace(day=1), HandFigure.month <= last)
            .order_by(HandFigure.definition_id, HandFigure.month)
        )
        return list(rows.all())

    async def set_hand_figure(
        self,
        definition_id: int,
        month: date,
        value: Decimal | None,
        answers: int | None,
        staff_id: int | None,
    ) -> None:
        if value is None:
            await self.db.execute(
                delete(HandFigure).where(
                    HandFigure.definition_id == definition_id, HandFigure.month == month
                )
            )
            return
        statement = upsert(HandFigure).values(
            definition_id=definition_id,
            month=month,
            value=value,
            answers=answers,
            updated_by_id=staff_id,
        )
        await self.db.execute(
            statement.on_conflict_do_update(
                index_elements=["definition_id", "month"],
                set_={
                    "value": statement.excluded.value,
                    "answers": statement.excluded.answers,
                    "updated_by_id": statement.excluded.updated_by_id,
                    "updated_at": func.now(),
                },
            )
        )

    async def set_year_figure(
        self,
        definition_id: int,
        fiscal_year: int,
        value: Decimal | None,
        answers: int | None,
        staff_id: int | None,
    ) -> None:
        await self.db.execute(
            delete(YearHandFigure).where(
                YearHandFigure.definition_id == definition_id,
                YearHandFigure.fiscal_year == fiscal_year,
            )
        )
        if value is not None:
            await self.db.execute(
                insert(YearHandFigure).values(
                    definition_id=definition_id,
                    fiscal_year=fiscal_year,
                    value=value,
                    answers=answers,
                    updated_by_id=staff_id,
                )
            )

    async def year_figures(self, fiscal_year: int) -> list[YearHandFigure]:
        rows = await self.db.scalars(
            select(YearHandFigure)
            .where(YearHandFigure.fiscal_year == fiscal_year)
            .order_by(YearHandFigure.definition_id)
        )
        return list(rows.all())

    async def add_survey_answer(self, answer: SurveyAnswer) -> bool:
        """False when the booking (or the desk record) has already answered: one answer each."""
        values = {
            "booking_id": answer.booking_id,
            "desk_record_id": answer.desk_record_id,
            "answered_on": answer.answered_on,
            "score": answer.score,
            "comment": answer.comment,
            "source": answer.source,
            "subject": answer.subject or ("event" if answer.booking_id else "desk"),
            "created_by_id": answer.created_by_id,
        }
        row = await self.db.execute(
            upsert(SurveyAnswer).values(values).on_conflict_do_nothing().returning(SurveyAnswer.id)
        )
        return row.first() is not None

    async def organization_name(self, organization_id: int) -> str:
        name = await self.db.scalar(
            select(Organization.name).where(Organization.id == organization_id)
        )
        return str(name or "")

    async def survey_booking(self, booking_id: int) -> tuple[str, datetime, bool] | None:
        """(event title, session start, answered already) of an attended booking."""
        b, s, e, a = Booking, EventSession, Event, SurveyAnswer
        row = (
            await self.db.execute(
                select(e.title, s.starts_at, exists().where(a.booking_id == b.id))
                .select_from(b)
                .join(s, s.id == b.session_id)
                .join(e, e.id == s.event_id)
                .where(b.id == booking_id, b.status == "confirmed", b.checked_in_at.is_not(None))
            )
        ).first()
        return (str(row[0]), row[1], bool(row[2])) if row else None

    async def survey_desk_record(self, record_id: int) -> tuple[date, bool] | None:
        """(day, answered already) of a consultation whose person agreed to the survey."""
        r, a = DeskRecord, SurveyAnswer
        row = (
            await self.db.execute(
                select(r.occurred_on, exists().where(a.desk_record_id == r.id)).where(
                    r.id == record_id, r.kind == "consultation", r.survey_consent
                )
            )
        ).first()
        return (row[0], bool(row[1])) if row else None

    async def survey_counts(self, first: date, last: date) -> tuple[int, int]:
        a = SurveyAnswer
        row = (
            await self.db.execute(
                select(func.count(), func.count().filter(a.score >= 4)).where(
                    a.answered_on >= first, a.answered_on <= last
                )
            )
        ).one()
        return int(row[0]), int(row[1])

    # what a compile reads

    async def lock_year(self, fiscal_year: int) -> None:
        """Compiles of one year run one at a time (two workers give the same table)."""
        await self.db.execute(
            select(func.pg_advisory_xact_lock(func.hashtext("indicators"), fiscal_year))
        )

    async def dirty_version(self, fiscal_year: int) -> int:
        await self.db.execute(
            upsert(IndicatorCompilation)
            .values(fiscal_year=fiscal_year, dirty_version=1, stale_since=func.now())
            .on_conflict_do_nothing(index_elements=[IndicatorCompilation.fiscal_year])
        )
        value = await self.db.scalar(
            select(IndicatorCompilation.dirty_version).where(
                IndicatorCompilation.fiscal_year == fiscal_year
            )
        )
        return int(value or 0)

    async def attendance(self, starts: datetime, ends: datetime) -> list[AttendanceRow]:
        rows = await self.db.execute(_attendance(starts, ends))
        return [AttendanceRow(int(e), m, h, int(p)) for e, m, h, p in rows.all()]

    async def event_facts(self, event_ids: Iterable[int]) -> dict[int, EventFacts]:
        ids = sorted(set(event_ids))
        if not ids:
            return {}
        e, cohost = Event, event_cohosts.c.organization_id
        cohosts = func.coalesce(
            func.array_agg(aggregate_order_by(cohost, cohost)).filter(cohost.is_not(None)),
            literal([], ARRAY(BigInteger)),
        )
        rows = await self.db.execute(
            select(e.id, e.kind, e.sector, e.sub_kind, cohosts)
            .outerjoin(event_cohosts, event_cohosts.c.event_id == e.id)
            .where(e.id == any_(literal(ids, ARRAY(BigInteger))))
            .group_by(e.id)
        )
        return {
            int(i): EventFacts(int(i), k, s, sk, tuple(int(c) for c in co))
            for i, k, s, sk, co in rows.all()
        }

    async def employers(self, starts: datetime, ends: datetime, now: datetime) -> list[EmployerRow]:
        """Each employer of each published event with a session that was not cancelled and
        ended within the window and before now, with the month of the first such end. (A
        draft, a cancelled event, a cancelled or future session counts nothing.)"""
        ee, s = event_employers.c, EventSession
        rows = await self.db.execute(
            select(ee.event_id, ee.organization_id, func.min(_month(_tokyo(s.ends_at))))
            .select_from(event_employers)
            .join(Event, Event.id == ee.event_id)
            .join(s, s.event_id == ee.event_id)
            .where(
                Event.status == "published",
                s.status != "cancelled",
                s.ends_at >= starts,
                s.ends_at < ends,
                s.ends_at <= now,
            )
            .group_by(ee.event_id, ee.organization_id)
        )
        return [EmployerRow(int(e), int(o), m) for e, o, m in rows.all()]

    async def mark_ended_sessions(self, now: datetime) -> None:
        """A session that ended since its year's last compile changes 仕事説明会参加企業 with no
        change of data: its year is marked stale here, by the minute's cron."""
        c, s, ee = IndicatorCompilation, EventSession, event_employers
        ended = (
            exists()
            .select_from(join(s, ee, ee.c.event_id == s.event_id))
            .where(
                s.ends_at > c.compiled_at,
                s.ends_at <= now,
                _ended_fiscal_year(s.ends_at) == c.fiscal_year,
            )
        )
        await self.db.execute(
            select(func.indicators_touch(c.fiscal_year)).where(
                c.compiled_at.is_not(None), c.dirty_version == c.compiled_version, ended
            )
        )

    async def record_rows(self, first: date, last: date) -> list[RecordRow]:
        """The year's records grouped; supported companies keep their company so that one
        company counts once a year."""
        r = DeskRecord
        company = case((r.kind == "supported_company", r.company_key))
        month = _month(r.occurred_on)
        # Grouped by the same expressions (their bound values are then the same parameters).
        rows = await self.db.execute(
            select(
                r.kind,
                r.sector,
                r.channel,
                r.senior,
                company,
                month,
                cast(func.sum(r.quantity), BigInteger),
            )
            .where(r.occurred_on >= first, r.occurred_on <= last)
            .group_by(r.kind, r.sector, r.channel, r.senior, company, month)
        )
        return [RecordRow(k, s, c, sr, ck, m, int(q)) for k, s, c, sr, ck, m, q in rows.all()]

    async def survey_rows(self, first: date, last: date) -> list[SurveyRow]:
        answer = SurveyAnswer
        month = _month(answer.answered_on)
        rows = await self.db.execute(
            select(month, func.count(), func.count().filter(answer.score >= 4), answer.subject)
            .where(answer.answered_on >= first, answer.answered_on <= last)
            .group_by(month, answer.subject)
        )
        return [SurveyRow(m, int(a), int(s), subj) for m, a, s, subj in rows.all()]

    async def year_rows(self, fiscal_year: int) -> list[YearHandRow]:
        rows = await self.db.execute(
            select(
                YearHandFigure.definition_id, YearHandFigure.value, YearHandFigure.answers
            ).where(YearHandFigure.fiscal_year == fiscal_year)
        )
        return [YearHandRow(int(d), v, a) for d, v, a in rows.all()]

    async def hand_rows(self, first: date, last: date) -> list[HandRow]:
        return [
            HandRow(h.definition_id, h.month.strftime("%Y-%m"), h.value, h.answers)
            for h in await self.hand_figures(first, last)
        ]

    # what a compile writes

    async def replace_figures(
        self,
        fiscal_year: int,
        figures: Sequence[FigureRow],
        heard_from: Sequence[tuple[int, str, int]],
        version: int,
        compiled_at: datetime | None = None,
    ) -> None:
        """`compiled_at`: the moment the compile counted up to (sessions that ended by then);
        the database's clock when not given."""
        await self.db.execute(
            delete(IndicatorFigure).where(IndicatorFigure.fiscal_year == fiscal_year)
        )
        await self.db.execute(
            delete(HeardFromFigure).where(HeardFromFigure.fiscal_year == fiscal_year)
        )
        if figures:
            await self.db.execute(
                insert(IndicatorFigure),
                [
                    {
                        "fiscal_year": fiscal_year,
                        "scope_org_id": f.scope_org_id,
                        "definition_id": f.definition_id,
                        "period": f.period,
                        "value": f.value,
                        "answers": f.answers,
                    }
                    for f in figures
                ],
            )
        if heard_from:
            await self.db.execute(
                insert(HeardFromFigure),
                [
                    {"fiscal_year": fiscal_year, "scope_org_id": s, "heard_from": h, "people": p}
                    for s, h, p in heard_from
                ],
            )
        # Changes made while this compile read stay stale: their version is newer.
        c = IndicatorCompilation
        await self.db.execute(
            update(c)
            .where(c.fiscal_year == fiscal_year)
            .values(
                compiled_version=version,
                compiled_at=func.coalesce(
                    literal(compiled_at, DateTime(timezone=True)), func.clock_timestamp()
                ),
                stale_since=case((c.dirty_version == version, None), else_=c.stale_since),
            )
            .execution_options(synchronize_session=False)
        )

    async def replace_event_figures(
        self, fiscal_year: int, rows: Sequence[tuple[int, str, int]]
    ) -> None:
        await self.db.execute(delete(EventFigure).where(EventFigure.fiscal_year == fiscal_year))
        if rows:
            await self.db.execute(
                insert(EventFigure),
                [
                    {"fiscal_year": fiscal_year, "event_id": e, "month": m, "people": n}
                    for e, m, n in rows
                ],
            )

    # what pages read

    async def compile_state(self, fiscal_year: int) -> CompileState | None:
        row = await self.db.get(IndicatorCompilation, fiscal_year)
        if row is None:
            return None
        return CompileState(
            row.fiscal_year,
            row.dirty_version,
            row.compiled_version,
            row.compiled_at,
            row.stale_since,
        )

    async def years_with_data(self) -> list[int]:
        """Years something was counted, entered or compiled for."""
        years = union(
            select(IndicatorCompilation.fiscal_year),
            select(YearHandFigure.fiscal_year),
            select(Narrative.fiscal_year),
            select(IndicatorFigure.fiscal_year).distinct(),
        )
        rows = await self.db.scalars(years.order_by(years.selected_columns.fiscal_year))
        return [int(y) for y in rows.all()]

    async def stale_years(self) -> list[int]:
        rows = await self.db.scalars(
            select(IndicatorCompilation.fiscal_year)
            .where(IndicatorCompilation.dirty_version != IndicatorCompilation.compiled_version)
            .order_by(IndicatorCompilation.fiscal_year.desc())
        )
        return [int(y) for y in rows.all()]

    async def touch_year(self, fiscal_year: int) -> int:
        """Marks the year stale (as the triggers do); the new version."""
        await self.db.execute(select(func.indicators_touch(fiscal_year)))
        return await self.dirty_version(fiscal_year)

    async def touch_compiled_years(self) -> list[int]:
        """After a definition or target change: every year compiled so far."""
        rows = await self.db.scalars(
            select(IndicatorCompilation.fiscal_year).order_by(IndicatorCompilation.fiscal_year)
        )
        years = [int(y) for y in rows.all()]
        for year in years:
            await self.db.execute(select(func.indicators_touch(year)))
        return years

    async def figures(self, years: Sequence[int], scope_org_id: int) -> list[YearFigure]:
        rows = await self.db.execute(
            select(
                IndicatorFigure.fiscal_year,
                IndicatorFigure.definition_id,
                IndicatorFigure.period,
                IndicatorFigure.value,
                IndicatorFigure.answers,
            ).where(
                IndicatorFigure.fiscal_year.in_(list(years)),
                IndicatorFigure.scope_org_id == scope_org_id,
            )
        )
        return [YearFigure(int(y), int(d), p, v, a) for y, d, p, v, a in rows.all()]

    async def heard_from(self, fiscal_year: int, scope_org_id: int) -> list[tuple[str, int]]:
        rows = await self.db.execute(
            select(HeardFromFigure.heard_from, HeardFromFigure.people)
            .where(
                HeardFromFigure.fiscal_year == fiscal_year,
                HeardFromFigure.scope_org_id == scope_org_id,
            )
            .order_by(HeardFromFigure.people.desc(), HeardFromFigure.heard_from)
        )
        return [(h, int(p)) for h, p in rows.all()]

    async def all_figures_snapshot(self) -> list[tuple[Any, ...]]:
        """Every compiled figure, for checks that something changed no figure."""
        f = IndicatorFigure
        rows = await self.db.execute(
            select(
                f.fiscal_year, f.scope_org_id, f.definition_id, f.period, f.value, f.answers
            ).order_by(f.fiscal_year, f.scope_org_id, f.definition_id, f.period)
        )
        return [tuple(r) for r in rows.all()]

    async def reload(self, row: IndicatorDefinition) -> None:
        await self.db.refresh(row)

    async def set_retired(self, definition_id: int, *, retire: bool) -> None:
        await self.db.execute(
            update(IndicatorDefinition)
            .where(IndicatorDefinition.id == definition_id)
            .values(retired_at=func.now() if retire else None)
        )
