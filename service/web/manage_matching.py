"""Console pages of matching days: the list of days, a company's page (rank the participants,
its timetable, outcomes), the A4 print per table, CSV and .ics; the staff buttons
「面談表を作成」 and 「時間割を送る」. Company logins reach the pages marked COMPANY, for their
own company only (the staff guard checks the event, the company and the meeting)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from service.domain.bookings.enums import AGE_BANDS
from service.domain.errors import DomainError, NotFound
from service.domain.indicators.meeting_placements import (
    correct_meeting_hire,
    record_meeting_hire,
    withdraw_meeting_hire,
)
from service.domain.matching import console, meetings, schedule, sending, service
from service.domain.matching.enums import OUTCOMES, SCHEDULE_STATUSES
from service.domain.matching.hires import HireSubject, hire_subject
from service.domain.matching.service import COMPANY_ROLE, view
from service.domain.people.enums import EMPLOYMENT_TYPES
from service.edge.dependencies import DB, AppSettings
from service.edge.downloads import csv_download
from service.edge.staff_auth import Staff
from service.web.form_errors import rerender
from service.web.manage_common import done_message, form_fields, page, see_other

COMPANY = {"staff_role": "company"}
ICS_MEDIA_TYPE = "text/calendar; charset=utf-8"


def _company_path(event_id: int, organization_id: int) -> str:
    return f"/manage/events/{event_id}/matching/companies/{organization_id}"


async def _company(
    db: DB,
    staff: Staff,
    event_id: int,
    organization_id: int,
    *,
    flash: str | None = None,
    error: str | None = None,
    template: str = "manage/matching_company.html",
) -> Template:
    data = await console.company_page(db, staff, event_id, organization_id)
    return page(
        template,
        staff,
        flash=flash,
        error=error,
        p=data,
        AGE_BANDS=AGE_BANDS,
        OUTCOMES=OUTCOMES,
        EMPLOYMENT_TYPES=EMPLOYMENT_TYPES,
        SCHEDULE_STATUSES=SCHEDULE_STATUSES,
        rank_choices=range(1, min(len(data.participants), 30) + 1),
    )


SETTING_FIELDS = ("slot_minutes", "break_minutes", "max_per_company", "max_per_person")


async def _day_page(
    db: DB, staff: Staff, event_id: int, *, flash: str | None = None, error: str | None = None
) -> Template:
    setup = await console.day_setup(db, event_id)
    return page(
        "manage/matching_day.html",
        staff,
        flash=flash,
        error=error,
        setup=setup,
        day=await view(db, staff, event_id) if setup.configured else None,
        schedule=await schedule.schedule_view(db, staff, event_id) if setup.configured else None,
        free=await meetings.free_slots(db, staff, event_id) if setup.configured else [],
        SCHEDULE_STATUSES=SCHEDULE_STATUSES,
        AGE_BANDS=AGE_BANDS,
    )


async def _meeting_page(
    db: DB,
    staff: Staff,
    meeting_id: int,
    *,
    error: str | None = None,
    template: str = "manage/matching_meeting.html",
) -> Template:
    return page(template, staff, error=error, p=await console.meeting_page(db, staff, meeting_id))


class ManageMatchingPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/matching", opt=COMPANY)
    async def days(self, request: Request[Any, Any, Any], db: DB, staff: Staff) -> Template:
        return page(
            "manage/matching_days.html",
            staff,
            flash=done_message(request),
            days=await console.list_days(db, staff),
        )

    @get("/events/{event_id:int}/matching", opt=COMPANY)
    async def day(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, event_id: FromPath[int]
    ) -> Template | Redirect:
        if staff.role == COMPANY_ROLE and staff.organization_id is not None:
            return see_other(_company_path(event_id, staff.organization_id))
        return await _day_page(db, staff, event_id, flash=done_message(request))

    @post("/events/{event_id:int}/matching/settings", status_code=303)
    async def settings(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, event_id: FromPath[int]
    ) -> Template | Redirect:
        form = await form_fields(request)
        raw = console.form_numbers(form, SETTING_FIELDS)
        raw["online"] = form.get("online") == "yes"
        try:
            await service.configure(db, staff, event_id, raw)
        except DomainError as exc:
            return await rerender(
                db,
                exc,
                lambda r: _day_page(
                    db, staff, event_id, error=" ".join(r.fields.values()) or r.message
                ),
            )
        return see_other(f"/manage/events/{event_id}/matching", done="matching_settings_saved")

    @post("/events/{event_id:int}/matching/companies", status_code=303)
    async def add_company(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, event_id: FromPath[int]
    ) -> Template | Redirect:
        form = await form_fields(request)
        raw = console.form_numbers(form, ("organization_id", "tables"))
        raw["brings"] = form.get("brings", "")
        try:
            await service.add_company(db, staff, event_id, raw)
        except DomainError as exc:
            return await rerender(
                db,
                exc,
                lambda r: _day_page(
                    db, staff, event_id, error=" ".join(r.fields.values()) or r.message
                ),
            )
        return see_other(f"/manage/events/{event_id}/matching", done="matching_company_saved")

    @get("/events/{event_id:int}/matching/participants/{booking_id:int}/absent")
    async def absent_question(
        self, db: DB, staff: Staff, event_id: FromPath[int], booking_id: FromPath[int]
    ) -> Template:
        """Asked once more: the person's meetings are removed for everybody."""
        day = await view(db, staff, event_id)
        who = next((p for p in day.participants if p.booking_id == booking_id), None)
        if who is None:
            raise NotFound("この面談会の参加者が見つかりません。", code="participant_not_found")
        return page("manage/matching_absent.html", staff, day=day, who=who)

    @post("/events/{event_id:int}/matching/participants/{booking_id:int}/absent", status_code=303)
    async def absent(
        self, db: DB, staff: Staff, event_id: FromPath[int], booking_id: FromPath[int]
    ) -> Redirect:
        await meetings.mark_absent(db, staff, event_id, booking_id)
        return see_other(f"/manage/events/{event_id}/matching", done="matching_absent")

    @post("/events/{event_id:int}/matching/meetings", status_code=303)
    async def fill(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, event_id: FromPath[int]
    ) -> Template | Redirect:
        """A freed slot filled with one of the company's next choices (the hard rules hold)."""
        form = await form_fields(request)
        raw = console.form_numbers(form, ("organization_id", "booking_id", "table_id", "slot"))
        try:
            await meetings.add_meeting(db, staff, event_id, raw)
        except DomainError as exc:
            return await rerender(
                db,
                exc,
                lambda r: _day_page(
                    db, staff, event_id, error=" ".join(r.fields.values()) or r.message
                ),
            )
        return see_other(f"/manage/events/{event_id}/matching", done="matching_filled")

    @post("/events/{event_id:int}/matching/schedule", status_code=303)
    async def build(self, db: DB, staff: Staff, event_id: FromPath[int]) -> Redirect:
        await schedule.request_build(db, staff, event_id)
        return see_other(f"/manage/events/{event_id}/matching", done="matching_building")

    @post("/events/{event_id:int}/matching/send", status_code=303)
    async def send(self, db: DB, staff: Staff, event_id: FromPath[int]) -> Redirect:
        await sending.send_timetables(db, staff, event_id)
        return see_other(f"/manage/events/{event_id}/matching", done="matching_sent")

    @get("/events/{event_id:int}/matching/companies/{organization_id:int}", opt=COMPANY)
    async def company(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        staff: Staff,
        event_id: FromPath[int],
        organization_id: FromPath[int],
    ) -> Template:
        return await _company(db, staff, event_id, organization_id, flash=done_message(request))

    @post(
        "/events/{event_id:int}/matching/companies/{organization_id:int}/choices",
        status_code=303,
        opt=COMPANY,
    )
    async def choices(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        staff: Staff,
        event_id: FromPath[int],
        organization_id: FromPath[int],
    ) -> Template | Redirect:
        try:
            await console.save_ranks_from_form(
                db, staff, event_id, organization_id, await form_fields(request)
            )
        except DomainError as exc:
            return await rerender(
                db,
                exc,
                lambda r: _company(
                    db,
                    staff,
                    event_id,
                    organization_id,
                    error=" ".join(r.fields.values()) or r.message,
                ),
            )
        return see_other(_company_path(event_id, organization_id), done="matching_choices_saved")

    @get("/events/{event_id:int}/matching/companies/{organization_id:int}/print", opt=COMPANY)
    async def print_sheets(
        self, db: DB, staff: Staff, event_id: FromPath[int], organization_id: FromPath[int]
    ) -> Template:
        return await _company(
            db, staff, event_id, organization_id, template="manage/matching_print.html"
        )

    @get(
        "/events/{event_id:int}/matching/companies/{organization_id:int}/timetable.csv",
        opt=COMPANY,
    )
    async def csv(
        self, db: DB, staff: Staff, event_id: FromPath[int], organization_id: FromPath[int]
    ) -> Response[bytes]:
        data = await console.company_page(db, staff, event_id, organization_id)
        return csv_download(console.company_csv(data), f"matching-{event_id}-{organization_id}.csv")

    @get(
        "/events/{event_id:int}/matching/companies/{organization_id:int}/timetable.ics",
        opt=COMPANY,
    )
    async def ics(
        self,
        db: DB,
        staff: Staff,
        settings: AppSettings,
        event_id: FromPath[int],
        organization_id: FromPath[int],
    ) -> Response[bytes]:
        data = await console.company_page(db, staff, event_id, organization_id)
        return Response(
            console.company_ics(data, settings.base_url),
            media_type=ICS_MEDIA_TYPE,
            headers={
                "Cache-Control": "no-store",
                "Content-Disposition": f'attachment; filename="matching-{event_id}.ics"',
            },
        )

    @post("/matching/meetings/{meeting_id:int}/outcome", status_code=303, opt=COMPANY)
    async def outcome(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, meeting_id: FromPath[int]
    ) -> Template | Redirect:
        fields = await form_fields(request)
        view_meeting = await meetings.record_outcome(
            db,
            staff,
            meeting_id,
            {"result": fields.get("result", ""), "note": fields.get("note", "")},
        )
        return see_other(
            _company_path(await meetings.event_of(db, meeting_id), view_meeting.organization_id),
            done="matching_outcome_saved",
            anchor=f"m{meeting_id}",
        )

    @get("/matching/meetings/{meeting_id:int}/change")
    async def change_form(self, db: DB, staff: Staff, meeting_id: FromPath[int]) -> Template:
        """Staff move one meeting (slot, table) or go on to remove it."""
        return await _meeting_page(db, staff, meeting_id)

    @post("/matching/meetings/{meeting_id:int}/move", status_code=303)
    async def move(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, meeting_id: FromPath[int]
    ) -> Template | Redirect:
        """The same hard rules as the API's PUT: a clash is refused and nothing moves."""
        raw = console.form_numbers(await form_fields(request), ("slot", "table_id"))
        try:
            moved = await meetings.move_meeting(db, staff, meeting_id, raw)
        except DomainError as exc:
            return await rerender(
                db,
                exc,
                lambda r: _meeting_page(
                    db, staff, meeting_id, error=" ".join(r.fields.values()) or r.message
                ),
            )
        return see_other(
            _company_path(await meetings.event_of(db, meeting_id), moved.organization_id),
            done="matching_moved",
            anchor=f"m{meeting_id}",
        )

    @get("/matching/meetings/{meeting_id:int}/remove")
    async def remove_question(self, db: DB, staff: Staff, meeting_id: FromPath[int]) -> Template:
        """Asked once more before the meeting goes."""
        return await _meeting_page(db, staff, meeting_id, template="manage/matching_remove.html")

    @post("/matching/meetings/{meeting_id:int}/remove", status_code=303)
    async def remove(self, db: DB, staff: Staff, meeting_id: FromPath[int]) -> Redirect:
        data = await console.meeting_page(db, staff, meeting_id)
        await meetings.remove_meeting(db, staff, meeting_id)
        return see_other(
            _company_path(data.event_id, data.meeting.organization_id), done="matching_removed"
        )

    @get("/matching/meetings/{meeting_id:int}/placement", opt=COMPANY)
    async def hire_form(self, db: DB, staff: Staff, meeting_id: FromPath[int]) -> Template:
        return await _hire_page(db, staff, meeting_id, None, {})

    @post("/matching/meetings/{meeting_id:int}/placement/correct", status_code=303, opt=COMPANY)
    async def correct_hire(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, meeting_id: FromPath[int]
    ) -> Template | Redirect:
        return await _save_hire(
            request, db, staff, meeting_id, correct_meeting_hire, "matching_hire_corrected"
        )

    @get("/matching/meetings/{meeting_id:int}/placement/withdraw", opt=COMPANY)
    async def withdraw_hire_question(
        self, db: DB, staff: Staff, meeting_id: FromPath[int]
    ) -> Template | Redirect:
        subject = await hire_subject(db, staff, meeting_id)
        if subject.meeting.hired_on is None:
            return _back_to_company(subject, None)
        return page(
            "manage/matching_hire_withdraw.html",
            staff,
            m=subject.meeting,
            person=subject.person,
            EMPLOYMENT_TYPES=EMPLOYMENT_TYPES,
        )

    @post("/matching/meetings/{meeting_id:int}/placement/withdraw", status_code=303, opt=COMPANY)
    async def withdraw_hire(self, db: DB, staff: Staff, meeting_id: FromPath[int]) -> Redirect:
        subject = await hire_subject(db, staff, meeting_id)
        if subject.meeting.hired_on is not None:  # pressed twice: it is withdrawn either way
            await withdraw_meeting_hire(db, staff, meeting_id)
        return _back_to_company(subject, "matching_hire_withdrawn")

    @post("/matching/meetings/{meeting_id:int}/placement", status_code=303, opt=COMPANY)
    async def hire(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, meeting_id: FromPath[int]
    ) -> Template | Redirect:
        return await _save_hire(
            request, db, staff, meeting_id, record_meeting_hire, "matching_hire_saved"
        )


async def _save_hire(
    request: Request[Any, Any, Any],
    db: DB,
    staff: Staff,
    meeting_id: int,
    save: Callable[[DB, Staff, int, dict[str, str]], Awaitable[object]],
    done: str,
) -> Template | Redirect:
    """「採用を記録する」 and 「訂正する」: the same two fields, the same page again on an error."""
    fields = await form_fields(request)
    typed = {k: fields.get(k, "") for k in ("started_on", "employment_type")}
    try:
        await save(db, staff, meeting_id, typed)
    except DomainError as exc:
        return await rerender(
            db,
            exc,
            lambda r: _hire_page(
                db, staff, meeting_id, typed, r.fields or {"started_on": r.message}
            ),
        )
    return _back_to_company(await hire_subject(db, staff, meeting_id), done)


def _back_to_company(subject: HireSubject, done: str | None) -> Redirect:
    m = subject.meeting
    return see_other(_company_path(m.event_id, m.organization_id), done=done, anchor=f"m{m.id}")


async def _hire_page(
    db: DB, staff: Staff, meeting_id: int, typed: dict[str, str] | None, errors: dict[str, str]
) -> Template:
    """「採用を記録」: the start month and how the person works, for a matched meeting; once
    recorded, the same to correct it, and the way to withdraw it."""
    subject = await hire_subject(db, staff, meeting_id)
    if typed is None:
        hired, kind = subject.meeting.hired_on, subject.meeting.employment_type or ""
        typed = {"started_on": f"{hired:%Y-%m}", "employment_type": kind} if hired else {}
    return page(
        "manage/matching_hire.html",
        staff,
        m=subject.meeting,
        person=subject.person,
        back=_company_path(subject.meeting.event_id, subject.meeting.organization_id),
        typed=typed,
        errors=errors,
        EMPLOYMENT_TYPES=EMPLOYMENT_TYPES,
    )
