"""The report's rules on generated years: 仕事説明会参加企業 counts an employer only for a
published, not cancelled event with a session that has ended (draft, future, cancelled, held);
every change that can move a figure marks its year stale in its own transaction (the walk);
a figure entered as a yearly total has no months; 満足度 counts the desk's answers and the
seminars' go to イベント満足度; a consultation record carries a count (1-500); a ミドルシニア
seminar in the security sector counts in III and IV, or in IV only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal

import pytest
from httpx import AsyncClient
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.actor import Actor
from service.domain.errors import InvalidInput
from service.domain.events import admin_events, admin_sessions
from service.domain.events.models import event_employers
from service.domain.indicators import document as documents
from service.domain.indicators import service as indicators
from service.domain.indicators.models import DeskRecord
from service.domain.indicators.report import read_report
from service.domain.indicators.repository import IndicatorRepository
from service.domain.indicators.survey import answer_survey, desk_survey_path
from service.domain.rosters import service as rosters
from service.platform.settings import Settings
from tests import indicator_support as w
from tests.indicator_support import build_year
from tests.manage_support import bearer, issue_token, make_staff


async def figure(db: AsyncSession, actor: Actor, year: int, code: str) -> Decimal | None:
    report = await read_report(db, actor, year)
    row = report.row(code)
    assert row is not None
    return row.actual


async def test_an_employer_counts_only_for_a_published_event_whose_session_has_ended(
    db: AsyncSession,
) -> None:
    admin = Actor.of(await make_staff(db, "admin"))
    organizer = await w.org(db, "NEXTワークしずおか", "organizer")
    held, draft, future, cancelled, session_off = [
        await w.org(db, f"介護法人{x}", "employer") for x in ("held", "draft", "future", "cx", "so")
    ]
    place = await w.venue(db)
    now = w.jst(2022, 11, 30, 12)
    fair = {"kind": "job_fair", "sector": "care"}
    # Held: a published event whose session ended in the year.
    e = await w.event(db, organizer, **fair, employers=(held,))
    await w.held_session(db, e, place, w.jst(2022, 10, 5))
    # A draft (never published) with a session that ended.
    e = await w.event(db, organizer, **fair, employers=(draft,))
    await w.held_session(db, e, place, w.jst(2022, 10, 6))
    e.status = "draft"
    # Published, but its only session is months ahead.
    e = await w.event(db, organizer, **fair, employers=(future,))
    await w.held_session(db, e, place, w.jst(2023, 2, 1))
    # A cancelled event, and a published one whose only session was cancelled.
    e = await w.event(db, organizer, **fair, employers=(cancelled,))
    await w.held_session(db, e, place, w.jst(2022, 10, 7))
    e.status = "cancelled"
    e = await w.event(db, organizer, **fair, employers=(session_off,))
    s = await w.held_session(db, e, place, w.jst(2022, 10, 8))
    s.status = "cancelled"
    await db.commit()
    with clock.frozen_at(now):
        await indicators.compile_year(db, 2022)
        await db.commit()
        assert await figure(db, admin, 2022, "care_job_fair_employers") == 1
        assert await IndicatorRepository(db).stale_years() == []
    # Once the future session has ended, the minute's cron finds the year stale by itself.
    with clock.frozen_at(w.jst(2023, 2, 1, 13)):
        assert 2022 in await indicators.stale_years(db)
        await indicators.compile_year(db, 2022)
        await db.commit()
        assert await figure(db, admin, 2022, "care_job_fair_employers") == 2


Change = Callable[[], Awaitable[object]]


async def test_every_change_that_can_move_a_figure_marks_its_year_stale(
    db: AsyncSession,
) -> None:
    year = await build_year(db)
    admin = year.admin
    repo = IndicatorRepository(db)
    organizer = await w.org(db, "主催", "organizer")
    place = await w.venue(db)
    employer = await w.org(db, "介護法人E", "employer")
    fair = await w.event(db, organizer, kind="job_fair", sector="care", employers=(employer,))
    held = await w.held_session(db, fair, place, w.jst(2022, 10, 20))
    await w.bookings(db, held, checked_in=2, confirmed=3)
    draft = await w.event(db, organizer, kind="seminar", sector="community")
    draft_session = await w.held_session(db, draft, place, w.jst(2022, 9, 10))
    draft.status = "draft"
    other = await w.event(db, organizer, kind="training", sector="care")
    await w.held_session(db, other, place, w.jst(2022, 12, 10))
    await db.commit()
    ids: dict[str, int] = {}
    definition = await repo.definition_by_code("care_training_participants")
    line = await repo.definition_by_code("outcome_line_registrations")
    assert definition is not None and line is not None

    async def booking(checked_in: bool | None) -> int:
        query = "SELECT min(id) FROM bookings WHERE session_id = :s AND status = 'confirmed' AND "
        query += "checked_in_at IS NOT NULL" if checked_in else "checked_in_at IS NULL"
        found = await db.scalar(text(query), {"s": held.id})
        assert found is not None
        return int(found)

    session_form = {
        "venue_id": str(place.id),
        "capacity": "30",
        "waitlist_limit": "0",
        "starts_at": "2022-10-25T10:00",
        "ends_at": "2022-10-25T12:00",
    }

    async def add_session() -> None:
        with clock.frozen_at(w.jst(2022, 6, 1)):
            ids["new"] = await admin_sessions.add_session(db, admin, fair.id, session_form)

    async def move(starts: str, ends: str) -> None:
        with clock.frozen_at(w.jst(2022, 6, 2)):
            await admin_sessions.update_session(
                db, admin, ids["new"], {**session_form, "starts_at": starts, "ends_at": ends}
            )

    async def at_session(fn: Change) -> None:
        with clock.frozen_at(w.jst(2022, 10, 20, 10, 30)):
            await fn()

    steps: list[tuple[str, Change, set[int]]] = [
        ("session added", add_session, {2022}),
        ("session moved to another month",
         lambda: move("2022-11-25T10:00", "2022-11-25T12:00"), {2022}),
        ("session moved to another year",
         lambda: move("2023-04-25T10:00", "2023-04-25T12:00"), {2022, 2023}),
        # The service cancels only sessions that have not started (R5's, after the move).
        ("session cancelled", lambda: _frozen(w.jst(2022, 6, 3), lambda: (
            admin_sessions.cancel_session(db, admin, ids["new"], "会場の都合"))), {2023}),
        ("session restored",
         lambda: db.execute(text("UPDATE sessions SET status = 'scheduled', cancelled_at = NULL, "
                                 "cancel_reason = NULL WHERE id = :s"), {"s": ids["new"]}), {2023}),
        ("event published",
         lambda: admin_events.publish_event(db, admin, draft.id), {2022}),
        ("event cancelled",
         lambda: admin_sessions.cancel_event(db, admin, other.id, "講師の都合"), {2022}),
        ("checked in", lambda: at_session(lambda: _check_in(db, admin, booking)), {2022}),
        ("check-in undone", lambda: at_session(lambda: _undo(db, admin, booking)), {2022}),
        ("no-show", lambda: _no_show(db, admin, booking), {2022}),
        # A walk-in as the roster writes it (the door's own rules run on the database clock).
        ("walk-in", lambda: w.bookings(db, held, walk_ins=1), {2022}),
        # Cancelling an attended booking (the roster refuses it; an admin's SQL fix does not).
        # A booking that never attended moves no figure when cancelled, and is left alone.
        ("attended booking cancelled",
         lambda: db.execute(text("UPDATE bookings SET status = 'cancelled', cancelled_at = now() "
                                 "WHERE id = (SELECT min(id) FROM bookings WHERE session_id = :s "
                                 "AND checked_in_at IS NOT NULL)"), {"s": held.id}), {2022}),
        ("employer added",
         lambda: db.execute(insert(event_employers).values(
             event_id=fair.id, organization_id=year.silver)), {2022}),
        ("employer removed",
         lambda: db.execute(text("DELETE FROM event_employers WHERE event_id = :e "
                                 "AND organization_id = :o"),
                            {"e": fair.id, "o": employer.id}), {2022}),
        ("record added",
         lambda: _add_record(db, admin, ids), {2022}),
        ("record changed",
         lambda: indicators.update_record(db, admin, ids["record"], {
             "kind": "consultation", "occurred_on": "2022-11-01", "channel": "desk",
             "quantity": "12"}), {2022}),
        ("record deleted",
         lambda: indicators.delete_record(db, admin, ids["record"]), {2022}),
        ("survey answer",
         lambda: indicators.add_paper_answer(db, admin, {
             "answered_on": "2022-10-01", "score": "4"}), {2022}),
        ("monthly hand figure",
         lambda: indicators.set_hand_figure(db, admin, {
             "definition_id": str(line.id), "month": "2022-12", "value": "7"}), {2022}),
        ("yearly hand figure",
         lambda: indicators.set_year_figure(db, admin, {
             "definition_id": str(line.id), "fiscal_year": "2022", "value": "70"}), {2022}),
        ("target",
         lambda: db.execute(text("UPDATE indicator_targets SET target = target + 1 "
                                 "WHERE definition_id = :d AND fiscal_year = 2022"),
                            {"d": definition.id}), {2022}),
        ("definition",
         lambda: indicators.retire_definition(db, admin, definition.id), {2022, 2023}),
        ("reporting window",
         lambda: indicators.set_window_start(db, admin, {
             "fiscal_year": "2022", "starts_on": "2022-09-01"}), {2022}),
    ]  # fmt: skip
    assert draft_session.id
    for label, change, years in steps:
        for y in (2022, 2023):
            await indicators.compile_year(db, y)
        await db.commit()
        assert await repo.stale_years() == [], label
        await change()
        await db.commit()
        assert years <= set(await repo.stale_years()), label
    # What is left alone moves no figure: a booking that never attended, cancelled.
    await indicators.compile_year(db, 2022)
    await db.commit()
    before = await repo.all_figures_snapshot()
    await _cancel(db, admin, booking)
    await db.commit()
    await indicators.compile_year(db, 2022)
    await db.commit()
    assert await repo.all_figures_snapshot() == before


async def _frozen(moment: datetime, fn: Change) -> None:
    with clock.frozen_at(moment):
        await fn()


async def _cancel(
    db: AsyncSession, admin: Actor, booking: Callable[[bool], Awaitable[int]]
) -> None:
    await rosters.cancel_for(db, admin, await booking(False), "本人から電話")


async def _check_in(
    db: AsyncSession, admin: Actor, booking: Callable[[bool], Awaitable[int]]
) -> None:
    await rosters.check_in(db, admin, await booking(False))


async def _undo(db: AsyncSession, admin: Actor, booking: Callable[[bool], Awaitable[int]]) -> None:
    await rosters.undo_check_in(db, admin, await booking(True))


async def _no_show(
    db: AsyncSession, admin: Actor, booking: Callable[[bool], Awaitable[int]]
) -> None:
    await rosters.mark_no_show(db, admin, await booking(False))


async def _add_record(db: AsyncSession, admin: Actor, ids: dict[str, int]) -> None:
    row = await indicators.add_record(
        db, admin, {"kind": "consultation", "occurred_on": "2022-10-01", "channel": "phone",
                    "quantity": "25"}
    )  # fmt: skip
    ids["record"] = row.id


async def test_a_yearly_figure_has_no_months(client: AsyncClient, db: AsyncSession) -> None:
    await build_year(db)
    repo = IndicatorRepository(db)
    consultations = await repo.definition_by_code("matching_desk_consultations")
    assert consultations is not None
    token = await issue_token(db, await make_staff(db, "organizer"))
    put = await client.put(
        "/api/v1/manage/indicators/year-figures",
        json={"definition_id": consultations.id, "fiscal_year": 2022, "value": 848},
        headers=bearer(token),
    )
    assert put.status_code == 200, put.text
    bad = await client.put(
        "/api/v1/manage/indicators/year-figures",
        json={"definition_id": consultations.id, "fiscal_year": 2022, "value": "-1"},
        headers=bearer(token),
    )
    assert bad.status_code == 422 and "value" in bad.json()["fields"]
    said = await client.put(
        "/api/v1/manage/indicators/narrative",
        json={"fiscal_year": 2022, "section": "matching", "part": "evaluation", "body": "達成。"},
        headers=bearer(token),
    )
    assert said.status_code == 200, said.text
    await indicators.compile_year(db, 2022)
    await db.commit()
    body = (
        await client.get("/api/v1/manage/indicators?fiscal_year=2022", headers=bearer(token))
    ).json()
    row = next(i for i in body["indicators"] if i["code"] == "matching_desk_consultations")
    # 8 counted from records + 848 entered for the year; no month is known, none is made up.
    assert row["actual"] == 856
    assert set(row["months"].values()) == {None}
    other = next(i for i in body["indicators"] if i["code"] == "outcome_job_openings")
    assert other["months"]["2022-09"] == 5


async def test_desk_answers_count_in_satisfaction_and_seminar_answers_do_not(
    db: AsyncSession, settings: Settings
) -> None:
    year = await build_year(db)  # three desk answers on paper: 5, 4, 3 (66.7%)
    admin = year.admin
    # A desk consultation whose person agreed to the survey answers through the link (5)...
    record = await indicators.add_record(
        db, admin, {"kind": "consultation", "occurred_on": "2022-10-03", "channel": "desk",
                    "contact_email": "hanako@example.jp", "survey_consent": "1"},
    )  # fmt: skip
    await db.commit()
    path = desk_survey_path(settings, record.id, record.occurred_on)
    with clock.frozen_at(w.jst(2022, 10, 4)):
        await answer_survey(db, settings, path.removeprefix("/survey/"), {"score": "5"})
    # ...another on the desk's tablet (4), marked as such.
    await indicators.add_paper_answer(
        db, admin, {"answered_on": "2022-10-05", "score": "4", "source": "tablet"}
    )
    # A seminar attendee's answer (1) is the seminar's, not the desk's.
    seminar_booking = await db.scalar(
        text("SELECT min(id) FROM bookings WHERE session_id = :s AND checked_in_at IS NOT NULL"),
        {"s": year.session_ids["sep"]},
    )
    await db.execute(
        text("INSERT INTO survey_answers (booking_id, answered_on, score, comment, source, "
             "subject) VALUES (:b, '2022-09-21', 1, '', 'web', 'event')"),
        {"b": seminar_booking},
    )  # fmt: skip
    await db.commit()
    sources = set(
        tuple(r)
        for r in (await db.execute(text("SELECT source, subject FROM survey_answers"))).all()
    )
    assert ("tablet", "desk") in sources and ("web", "desk") in sources
    await indicators.compile_year(db, 2022)
    await db.commit()
    report = await read_report(db, admin, 2022)
    desk, events = report.row("outcome_satisfaction"), report.row("outcome_event_satisfaction")
    assert desk is not None and events is not None
    assert (desk.actual, desk.answers) == (Decimal(80), 5)  # 5, 4, 3, 5, 4
    assert (events.actual, events.answers) == (Decimal(0), 1)
    # The link takes one answer per consultation.
    with clock.frozen_at(w.jst(2022, 10, 4)), pytest.raises(Exception, match="すでに"):
        await answer_survey(db, settings, path.removeprefix("/survey/"), {"score": "1"})


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"quantity": "501"}, "quantity"),
        ({"quantity": "0"}, "quantity"),
        ({"survey_consent": "1"}, "contact_phone"),
        ({"contact_phone": "054-254-2770"}, "survey_consent"),
        ({"survey_consent": "1", "contact_email": "not an address"}, "contact_email"),
        ({"survey_consent": "1", "contact_phone": "12"}, "contact_phone"),
    ],
)
async def test_a_consultation_record_carries_a_count_and_a_consented_contact(
    db: AsyncSession, data: dict[str, str], field: str
) -> None:
    admin = Actor.of(await make_staff(db, "admin"))
    base = {"kind": "consultation", "occurred_on": "2022-10-03", "channel": "phone"}
    with pytest.raises(InvalidInput) as caught:
        await indicators.add_record(db, admin, {**base, **data})
    assert field in caught.value.fields
    row = await indicators.add_record(db, admin, {**base, "quantity": "５００"})
    assert row.quantity == 500
    audit = await db.scalar(
        text("SELECT after->>'quantity' FROM audit_log WHERE action = 'desk_record.create' "
             "ORDER BY id DESC LIMIT 1")
    )  # fmt: skip
    assert audit == "500"
    assert (await db.scalars(select(DeskRecord.quantity))).all() == [500]


async def test_a_middle_senior_security_seminar_counts_in_iii_and_iv_or_iv_only(
    db: AsyncSession,
) -> None:
    admin = Actor.of(await make_staff(db, "admin"))
    organizer = await w.org(db, "主催", "organizer")
    place = await w.venue(db)
    e = await w.event(db, organizer, kind="seminar", sector="security", sub_kind="middle_senior")
    await w.bookings(db, await w.held_session(db, e, place, w.jst(2022, 11, 2)), checked_in=6)
    await db.commit()
    await indicators.compile_year(db, 2022)
    await db.commit()
    assert await figure(db, admin, 2022, "service_participants") == 6  # the default: both
    assert await figure(db, admin, 2022, "community_middle_senior_seminar") == 6
    repo = IndicatorRepository(db)
    service = await repo.definition_by_code("service_participants")
    assert service is not None
    values = {
        "code": service.code, "name": service.name, "unit": service.unit,
        "section": service.section, "policy": service.policy, "measure": service.measure,
        "kinds": list(service.kinds), "sectors": list(service.sectors),
        "exclude_sub_kinds": ["middle_senior"],
    }  # fmt: skip
    await indicators.save_definition(db, admin, service.id, values, [])
    await db.commit()
    assert 2022 in await repo.stale_years()
    await indicators.compile_year(db, 2022)
    await db.commit()
    assert await figure(db, admin, 2022, "service_participants") == 0  # IV only
    assert await figure(db, admin, 2022, "community_middle_senior_seminar") == 6


async def test_plan_years_come_from_the_plan_period(db: AsyncSession) -> None:
    admin = Actor.of(await make_staff(db, "admin"))
    report = await read_report(db, admin, 2023)
    assert report.plan_years == [2022, 2023, 2024]
    await documents.set_plan_period(db, admin, {"first_year": "2025", "last_year": "2027"})
    assert (await read_report(db, admin, 2026)).plan_years == [2025, 2026, 2027]
    assert (await read_report(db, admin, 2030)).plan_years == [2030]


def test_the_chart_labels_each_bar_with_its_section_and_never_fills_a_row_without_target() -> None:
    import re as regex

    from service.domain.indicators import fiscal
    from service.domain.indicators.chart import BAR_WIDTH, report_chart
    from service.domain.indicators.report import Report, ReportRow, ReportSection

    def row(code: str, section: str, name: str, actual: int, target: int | None) -> ReportRow:
        return ReportRow(
            code, name, "people", "人", section, "", "attendance", Decimal(actual),
            None if target is None else Decimal(target), None, {}, [],
        )  # fmt: skip

    rows = [
        row("a", "matching", "支援企業", 91, 70),
        row("b", "community", "少ない行", 7, None),
        row("c", "community", "多い行", 269, None),
    ]
    report = Report(
        2022, "令和4年度", "R4", fiscal.window(2022, None), None, False, None,
        [ReportSection("matching", "I", "マッチング支援", rows[:1]),
         ReportSection("community", "IV", "まちづくり", rows[1:])],
        [],
    )  # fmt: skip
    svg = report_chart(report)
    assert "I 支援企業（人）" in svg and "IV 少ない行（人）" in svg
    # One actual bar per row, in order.
    supported, few, many = [
        int(w) for w in regex.findall(r'width="(\d+)" height="16" fill="#1f4e79"', svg)
    ]
    assert supported == BAR_WIDTH  # 91 against its target of 70: the actual is the longer
    assert many == BAR_WIDTH and few == int(BAR_WIDTH * 7 / 269)  # one common scale
    assert svg.count("目標なし") == 2
