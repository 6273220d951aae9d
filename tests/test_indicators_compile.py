"""A generated fiscal year whose figures are known in advance: JST fiscal-year and month
boundaries, the R4 reporting window (from August), every booking state, employers at several
events counted once, the desk's records, survey answers, hand figures, co-host scoping,
recompiling, concurrent compiles and staleness."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.actor import Actor
from service.domain.indicators import fiscal
from service.domain.indicators import service as indicators
from service.domain.indicators.models import SurveyAnswer
from service.domain.indicators.report import Report, read_report
from service.domain.indicators.repository import IndicatorRepository
from service.platform.db import make_engine, make_session_factory
from service.platform.settings import Settings
from tests import indicator_support as w
from tests.indicator_support import build_year
from tests.manage_support import make_staff

R4_MONTHS = [
    "2022-08", "2022-09", "2022-10", "2022-11", "2022-12",
    "2023-01", "2023-02", "2023-03",
]  # fmt: skip


def rows_of(report: Report) -> dict[str, tuple[Decimal | None, dict[str, Decimal | None]]]:
    return {r.code: (r.actual, r.months) for r in report.all_rows}


def months(**values: int) -> dict[str, Decimal]:
    out = {m: Decimal(0) for m in R4_MONTHS}
    for key, v in values.items():
        out[f"20{key[1:3]}-{key[3:5]}"] = Decimal(v)
    return out


EXPECTED_TOTALS = {
    "matching_supported_companies": 4,
    "matching_desk_consultations": 8,
    "matching_outreach_participants": 19,
    "care_supported_companies": 1,
    "care_job_fair_participants": 14,
    "care_job_fair_employers": 3,
    "care_training_participants": 7,
    "service_supported_companies": 2,
    "service_participants": 10,
    "community_middle_senior_seminar": 8,
    "community_side_job_seminar": 4,
    "outcome_senior_placements": 3,
    "outcome_other_placements": 1,
    "outcome_silver_registrations": 2,
    "outcome_satisfaction": Decimal("66.7"),
    "outcome_job_openings": 7,
    "outcome_line_registrations": 15,
    "exchange_companies": 2,
    "exchange_participants": 6,
    "exchange_matching_rate": Decimal("35.7"),
}


async def test_a_generated_year_gives_the_figures_known_in_advance(db: AsyncSession) -> None:
    year = await build_year(db)
    await indicators.compile_year(db, 2022)
    await db.commit()
    report = await read_report(db, year.admin, 2022)
    assert report.label == "令和4年度"
    assert report.window.note == "※8月～3月末実績"
    assert report.months == R4_MONTHS
    assert report.compiled_at is not None and not report.is_stale
    got = rows_of(report)
    assert {code: actual for code, (actual, _) in got.items()} == {
        **{k: Decimal(v) for k, v in EXPECTED_TOTALS.items()},
        # The paper answers were the desk's: no event answers, no event satisfaction.
        "outcome_event_satisfaction": None,
    }
    # Companions count as people (two parties of two at the September session). Month
    # boundaries in Tokyo: 2022-08-01 00:10 JST is August (July in UTC); 2023-03-31
    # 23:30 JST is March of R4; 2023-04-01 00:30 JST is R5; 2022-07-31 is before the window.
    assert got["matching_outreach_participants"][1] == months(m2208=1, m2209=16, m2303=2)
    # Employer A at three job fairs counts once, in the month it first took part.
    assert got["care_job_fair_employers"][1] == months(m2210=2, m2301=1)
    assert got["care_job_fair_participants"][1] == months(m2210=6, m2212=5, m2301=3)
    # One company however it is typed, counted in the month of its first support.
    assert got["matching_supported_companies"][1] == months(m2208=1, m2209=1, m2211=1, m2301=1)
    assert got["outcome_job_openings"][1] == months(m2209=5, m2303=2)
    assert got["outcome_line_registrations"][1] == months(m2208=10, m2209=5)
    satisfaction = next(r for r in report.rows if r.code == "outcome_satisfaction")
    assert satisfaction.answers == 3 and satisfaction.months["2022-09"] == Decimal("66.7")
    assert satisfaction.months["2022-10"] is None
    # Targets from the report, R4 to R6, and whether R4's was reached.
    outreach = next(r for r in report.rows if r.code == "matching_outreach_participants")
    assert [(c.label, c.target) for c in outreach.years] == [
        ("R4", Decimal(45)), ("R5", Decimal(75)), ("R6", Decimal(75))
    ]  # fmt: skip
    assert outreach.achieved is False
    assert [c.actual for c in outreach.years] == [Decimal(19), None, None]
    assert dict((h, n) for h, _, n in report.heard_from) == {"dm": 60, "line": 8, "unknown": 9}


async def test_r5_counts_what_starts_on_april_first_in_tokyo(db: AsyncSession) -> None:
    year = await build_year(db)
    await indicators.compile_year(db, 2023)
    await db.commit()
    report = await read_report(db, year.admin, 2023)
    got = rows_of(report)
    assert got["matching_outreach_participants"][0] == 3
    assert got["matching_desk_consultations"][0] == 1
    assert report.window.starts_on == date(2023, 4, 1) and len(report.months) == 12


async def test_co_host_staff_see_only_the_events_they_co_host(db: AsyncSession) -> None:
    year = await build_year(db)
    await indicators.compile_year(db, 2022)
    await db.commit()
    silver = Actor(9999, "s", "s", "cohost", year.silver)
    got = rows_of(await read_report(db, silver, 2022))
    assert got["care_job_fair_participants"][0] == 6
    assert got["care_job_fair_employers"][0] == 2
    assert got["matching_outreach_participants"][0] == 0
    # The desk's own work is not a co-host's to read.
    assert got["matching_desk_consultations"][0] is None
    assert got["outcome_satisfaction"][0] is None
    hello_work = rows_of(
        await read_report(db, Actor(9998, "h", "h", "cohost", year.hello_work), 2022)
    )
    assert hello_work["matching_outreach_participants"][0] == 19
    assert hello_work["care_job_fair_participants"][0] == 0
    nobody = rows_of(await read_report(db, Actor(9997, "n", "n", "cohost", None), 2022))
    assert all(actual is None for actual, _ in nobody.values())


async def test_recompiling_changes_nothing(db: AsyncSession) -> None:
    await build_year(db)
    await indicators.compile_year(db, 2022)
    await db.commit()
    repo = IndicatorRepository(db)
    first = await repo.all_figures_snapshot()
    assert first
    await indicators.compile_year(db, 2022)
    await db.commit()
    assert await repo.all_figures_snapshot() == first


async def test_two_compiles_at_once_leave_the_same_table(
    db: AsyncSession, settings: Settings
) -> None:
    await build_year(db)
    await indicators.compile_year(db, 2022)
    await db.commit()
    expected = await IndicatorRepository(db).all_figures_snapshot()
    await db.execute(text("DELETE FROM indicator_figures"))
    await db.commit()
    engine = make_engine(settings.sqlalchemy_url, 4)
    factory = make_session_factory(engine)

    async def one() -> None:
        async with factory() as session:
            await indicators.compile_year(session, 2022)
            await session.commit()

    try:
        await asyncio.gather(one(), one(), one())
    finally:
        await engine.dispose()
    assert await IndicatorRepository(db).all_figures_snapshot() == expected


async def test_a_check_in_marks_its_year_stale_until_compiled(db: AsyncSession) -> None:
    year = await build_year(db)
    repo = IndicatorRepository(db)
    await indicators.compile_year(db, 2022)
    await indicators.compile_year(db, 2023)
    await db.commit()
    assert await repo.stale_years() == []
    # A late arrival checked in (the roster's check-in sets checked_in_at).
    await db.execute(
        text("""
            UPDATE bookings SET checked_in_at = now(), no_show_at = NULL
            WHERE id = (SELECT min(id) FROM bookings
                        WHERE session_id = :s AND no_show_at IS NOT NULL)
        """),
        {"s": year.session_ids["sep"]},
    )
    await db.commit()
    assert await repo.stale_years() == [2022]
    await indicators.compile_year(db, 2022)
    await db.commit()
    assert await repo.stale_years() == []
    got = rows_of(await read_report(db, year.admin, 2022))
    assert got["matching_outreach_participants"][0] == 20
    # A desk record marks the year of its date.
    await indicators.add_record(
        db, year.admin, {"kind": "silver_registration", "occurred_on": "2023-05-01"}
    )
    await db.commit()
    assert await repo.stale_years() == [2023]


async def test_a_change_during_a_compile_keeps_the_year_stale(
    db: AsyncSession, settings: Settings
) -> None:
    year = await build_year(db)
    repo = IndicatorRepository(db)
    engine = make_engine(settings.sqlalchemy_url, 2)
    try:
        async with make_session_factory(engine)() as compiling:
            # The compile has read its version; a check-in commits before it finishes.
            version = await IndicatorRepository(compiling).dirty_version(2022)
            await compiling.commit()
            await db.execute(
                text("UPDATE bookings SET checked_in_at = now() WHERE session_id = :s "
                     "AND status = 'confirmed' AND checked_in_at IS NULL AND no_show_at IS NULL"),
                {"s": year.session_ids["aug"]},
            )  # fmt: skip
            await db.commit()
            await IndicatorRepository(compiling).replace_figures(2022, [], [], version)
            await compiling.commit()
    finally:
        await engine.dispose()
    state = await repo.compile_state(2022)
    assert state is not None and state.compiled_version == version
    assert state.is_stale and state.stale_since is not None


async def test_survey_answers_are_one_per_booking(db: AsyncSession) -> None:
    year = await build_year(db)
    booking_id = await db.scalar(
        text("SELECT min(id) FROM bookings WHERE session_id = :s"), {"s": year.session_ids["sep"]}
    )
    repo = IndicatorRepository(db)
    answer = dict(answered_on=date(2022, 9, 21), comment="", source="web", created_by_id=None)
    assert await repo.add_survey_answer(SurveyAnswer(booking_id=booking_id, score=5, **answer))
    assert not await repo.add_survey_answer(SurveyAnswer(booking_id=booking_id, score=1, **answer))


def test_fiscal_years_in_tokyo() -> None:
    assert fiscal.fiscal_year_of(w.jst(2023, 3, 31, 23, 30)) == 2022
    assert fiscal.fiscal_year_of(w.jst(2023, 4, 1, 0, 30)) == 2023
    assert fiscal.label(2022) == "令和4年度" and fiscal.short_label(2024) == "R6"
    window = fiscal.window(2022, date(2022, 8, 1))
    assert window.months == R4_MONTHS and window.is_partial
    assert window.starts_at.isoformat() == "2022-07-31T15:00:00+00:00"
    assert fiscal.window(2023, None).months[0] == "2023-04"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "nope", "occurred_on": "2022-08-01"}, "kind"),
        ({"kind": "consultation", "occurred_on": "2022-02-30", "channel": "desk"}, "occurred_on"),
        ({"kind": "consultation", "occurred_on": "2022-08-01"}, "channel"),
        ({"kind": "supported_company", "occurred_on": "2022-08-01"}, "company"),
        ({"kind": "placement", "occurred_on": "2022-08-01", "company": "A"}, "senior"),
        (
            {"kind": "job_opening", "occurred_on": "2022-08-01", "company": "A", "quantity": 0},
            "quantity",
        ),
        ({"kind": "silver_registration", "occurred_on": "2022-08-01", "note": "a\nb"}, "note"),
    ],
)
async def test_bad_records_name_the_field(
    db: AsyncSession, data: dict[str, object], field: str
) -> None:
    from service.domain.errors import InvalidInput

    admin = Actor.of(await make_staff(db, "admin"))
    with pytest.raises(InvalidInput) as caught:
        await indicators.add_record(db, admin, data)
    assert field in caught.value.fields


async def test_the_demo_reads_like_the_r4_report_and_counts_this_year(db: AsyncSession) -> None:
    from service.devtools.demo_data import load_demo_data
    from service.devtools.demo_indicators import R4_ACTUALS

    today = date(2026, 12, 1)
    assert await load_demo_data(db, today)
    await db.commit()
    admin = Actor.of(await make_staff(db, "admin"))
    r4 = {r.code: r for r in (await read_report(db, admin, 2022)).all_rows}
    assert {c: r4[c].actual for c in R4_ACTUALS} == {c: Decimal(v) for c, v in R4_ACTUALS.items()}
    assert r4["outcome_satisfaction"].actual == Decimal(99)
    # Yearly totals have no months and the report gives no count of answers.
    assert set(r4["matching_desk_consultations"].months.values()) == {None}
    assert r4["outcome_satisfaction"].answers is None
    assert r4["matching_supported_companies"].years[1].target == Decimal(120)
    now = {r.code: r for r in (await read_report(db, admin, 2026)).rows}
    assert now["community_middle_senior_seminar"].actual
    assert now["care_job_fair_participants"].actual and now["care_job_fair_employers"].actual
    assert now["matching_desk_consultations"].actual and now["outcome_satisfaction"].answers
    # The demo's figures follow from its data: compiling again changes nothing.
    repo = IndicatorRepository(db)
    before = await repo.all_figures_snapshot()
    await indicators.compile_year(db, 2026)
    await db.commit()
    assert await repo.all_figures_snapshot() == before
