"""Organizer pages for the programme's indicators: the report (as the programme's report lays
it out, with a monthly breakdown, how people heard, the SVG chart, an A4 print view and CSV),
the desk's records, hand-entered figures, paper survey answers and (admins) definitions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from service.domain import clock
from service.domain.errors import Conflict, InvalidInput, NotFound
from service.domain.events.enums import EVENT_KINDS, SECTORS, SUB_KINDS
from service.domain.indicators import document as documents
from service.domain.indicators import service as indicators
from service.domain.indicators.chart import report_chart
from service.domain.indicators.csv_export import number, report_csv, report_filename
from service.domain.indicators.enums import (
    CONSULTATION_CHANNELS,
    MEASURES,
    NARRATIVE_PARTS,
    RECORD_KINDS,
    SECTIONS,
    SURVEY_SUBJECTS,
    UNITS,
)
from service.domain.indicators.fiscal import fiscal_year_of_day
from service.domain.indicators.report import read_report
from service.domain.indicators.schemas import (
    ENTERED_SOURCES,
    DefinitionView,
    RecordView,
    definition_values,
    fiscal_year_value,
)
from service.domain.indicators.survey import desk_survey_path
from service.domain.people import service as people
from service.domain.people.schemas import PersonView
from service.edge.dependencies import DB, AppSettings
from service.edge.downloads import csv_download
from service.edge.staff_auth import Staff
from service.platform.local_time import TOKYO
from service.platform.settings import Settings
from service.web.form_errors import Refusal, rerender
from service.web.manage_common import (
    done_message,
    form_fields,
    form_lists,
    page,
    see_other,
)

ORGANIZER = {"staff_role": "organizer"}
ADMIN = {"staff_role": "admin"}

VOCABULARY: dict[str, Any] = {
    "RECORD_KINDS": RECORD_KINDS,
    "SECTORS": SECTORS,
    "CONSULTATION_CHANNELS": CONSULTATION_CHANNELS,
    "SECTIONS": {k: f"{n} {t}".strip() for k, (n, t) in SECTIONS.items()},
    "UNITS": UNITS,
    "MEASURES": MEASURES,
    "EVENT_KINDS": EVENT_KINDS,
    "SUB_KINDS": SUB_KINDS,
    "SURVEY_SUBJECTS": SURVEY_SUBJECTS,
    "ENTERED_SOURCES": ENTERED_SOURCES,
    "NARRATIVE_PARTS": NARRATIVE_PARTS,
    # 分野 of a record: 全般 is the empty choice, listed once.
    "RECORD_SECTORS": {k: v for k, v in SECTORS.items() if k != "general"},
    # What a hand figure adds to, in a few words (the list shows them whole).
    "HAND_ADDS_TO": {
        "attendance": "参加者に加算",
        "employers": "参加企業に加算",
        "record": "窓口の記録に加算",
        "satisfaction": "アンケートに加算",
        "hand": "手入力",
    },
    "SECTION_NUMBERS": {
        k: (n or "成果") if k != "exchange" else "交流会" for k, (n, _) in SECTIONS.items()
    },
    "num": number,
    "month_num": lambda v: "—" if v is None else number(v),
}


def year_or_current(fy: str | None) -> object:
    return fy if fy not in (None, "") else indicators.current_fiscal_year()


def _record_values(r: RecordView) -> dict[str, str]:
    return {
        "kind": r.kind,
        "occurred_on": r.occurred_on.isoformat(),
        "sector": r.sector,
        "channel": r.channel or "",
        "person_name": r.person_name or "",
        "company": r.company or "",
        "senior": "" if r.senior is None else ("true" if r.senior else "false"),
        "quantity": str(r.quantity),
        "note": r.note,
        "contact_phone": r.contact_phone or "",
        "contact_email": r.contact_email or "",
        "survey_consent": "1" if r.survey_consent else "",
        "person_id": "" if r.person_id is None else str(r.person_id),
    }


async def _linked_person(db: DB, value: object) -> PersonView | None:
    """The person (登録者) a record form names in person_id, to show by name; None when it
    names none the desk knows (the form then says why, from the service's error)."""
    raw = str(value or "").strip()
    if not raw.isdecimal() or len(raw) > 18:
        return None
    try:
        return await people.get(db, int(raw))
    except NotFound:
        return None


def _definition_values(d: DefinitionView, targets: dict[int, Decimal]) -> dict[str, Any]:
    """The definition's values as its form shows them (choices as the form's words)."""
    values: dict[str, Any] = dict(definition_values(d))
    del values["retired_at"]
    values.update(
        record_kind=d.record_kind or "",
        senior="any" if d.senior is None else ("true" if d.senior else "false"),
        position=str(d.position),
    )
    for year, target in targets.items():
        values[f"target_{year}"] = number(target) if target is not None else ""
    return values


def _survey_url(settings: Settings, row: RecordView) -> str | None:
    """The desk survey's link for a consultation whose person agreed to it."""
    if row.kind != "consultation" or not row.survey_consent:
        return None
    return settings.base_url + desk_survey_path(settings, row.id, row.occurred_on)


_year = year_or_current


class ManageIndicatorPages(Controller):
    path = "/indicators"
    include_in_schema = False

    @get("/")
    async def report(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        staff: Staff,
        fy: FromQuery[str | None] = None,
    ) -> Template:
        doc = None
        if staff.sees_everything:
            doc = await documents.read_document(db, staff, _year(fy))
            r = doc.report
        else:
            r = await read_report(db, staff, _year(fy))
        return page(
            "manage/indicators.html",
            staff,
            flash=done_message(request),
            r=r,
            doc=doc,
            years=await indicators.year_choices(db, r.fiscal_year),
            chart=report_chart(r),
            **VOCABULARY,
        )

    @get("/print")
    async def print_view(self, db: DB, staff: Staff, fy: FromQuery[str | None] = None) -> Template:
        r = await read_report(db, staff, _year(fy))
        return page("manage/indicators_print.html", staff, r=r, chart=report_chart(r), **VOCABULARY)

    @get("/csv", media_type="text/csv; charset=utf-8")
    async def csv(self, db: DB, staff: Staff, fy: FromQuery[str | None] = None) -> Response[bytes]:
        r = await read_report(db, staff, _year(fy))
        return csv_download(report_csv(r), report_filename(r))

    @post("/compile", opt=ORGANIZER)
    async def compile(self, request: Request[Any, Any, Any], db: DB, staff: Staff) -> Redirect:
        form = await form_fields(request)
        year, _ = await indicators.request_compile(db, staff, form.get("fiscal_year", ""))
        return see_other(f"/manage/indicators?fy={year}", done="compile_queued")

    # the desk's records

    async def _records_page(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        staff: Staff,
        fy: str | None,
        *,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        form: str = "",
        status_code: int = 200,
    ) -> Template:
        kind = request.query_params.get("kind") or None
        page_no = request.query_params.get("page", "1")
        records = await indicators.list_records(
            db,
            staff,
            _year(fy),
            kind if kind in RECORD_KINDS else None,
            int(page_no) if page_no.isdecimal() and len(page_no) < 7 else 1,
        )
        definitions = [d for d in await indicators.list_definitions(db, staff) if not d.retired_at]
        values = values or {"occurred_on": ""}
        return page(
            "manage/indicator_records.html",
            staff,
            status_code=status_code,
            flash=done_message(request),
            records=records,
            kind=kind or "",
            definitions=definitions,
            values=values,
            errors=errors or {},
            form=form,
            linked_person=await _linked_person(db, values.get("person_id")),
            **VOCABULARY,
        )

    @get("/records", opt=ORGANIZER)
    async def records(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        staff: Staff,
        fy: FromQuery[str | None] = None,
        person: FromQuery[str | None] = None,
    ) -> Template:
        """With ?person=<id> (「この方の相談を記録」 on a person's page): the record form comes
        filled for a consultation of that person today."""
        if person is None:
            return await self._records_page(request, db, staff, fy)
        found = await _linked_person(db, person)
        if found is None or found.withdrawn:
            return await self._records_page(request, db, staff, fy)
        values = {
            "kind": "consultation",
            "occurred_on": clock.now().astimezone(TOKYO).date().isoformat(),
            "person_id": str(found.id),
            "person_name": found.name,
        }
        return await self._records_page(request, db, staff, fy, values=values, form="record")

    async def _records_form(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        staff: Staff,
        form: str,
        save: Callable[[dict[str, str]], Awaitable[object]],
        done: str,
    ) -> Template | Redirect:
        """The records page's three forms (a record, a hand-counted figure, a paper answer):
        saved, then back to the page of the fiscal year `save` returns; or that page again with
        the form's errors."""
        data = await form_fields(request)
        try:
            year = await save(data)
        except InvalidInput as exc:
            return await rerender(
                db,
                exc,
                lambda refusal: self._records_page(
                    request,
                    db,
                    staff,
                    data.get("fy"),
                    values=data,
                    errors=refusal.fields,
                    form=form,
                ),
            )
        return see_other(f"/manage/indicators/records?fy={year}", done=done)

    @post("/records", opt=ORGANIZER)
    async def add_record(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff
    ) -> Template | Redirect:
        async def save(data: dict[str, str]) -> int:
            row = await indicators.add_record(db, staff, data)
            return fiscal_year_of_day(row.occurred_on)

        return await self._records_form(request, db, staff, "record", save, "record_added")

    @get("/records/{record_id:int}", opt=ORGANIZER)
    async def edit_record(
        self, db: DB, settings: AppSettings, staff: Staff, record_id: FromPath[int]
    ) -> Template:
        row = await indicators.get_record(db, staff, record_id)
        return page(
            "manage/indicator_record_form.html",
            staff,
            record=row,
            values=_record_values(row),
            errors={},
            survey_url=_survey_url(settings, row),
            linked_person=await _linked_person(db, row.person_id),
            **VOCABULARY,
        )

    @post("/records/{record_id:int}", opt=ORGANIZER)
    async def save_record(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, record_id: FromPath[int]
    ) -> Template | Redirect:
        data = await form_fields(request)
        try:
            row = await indicators.update_record(db, staff, record_id, data)
        except InvalidInput as exc:

            async def again(refusal: Refusal) -> Template:
                found = await indicators.get_record(db, staff, record_id)
                return page(
                    "manage/indicator_record_form.html",
                    staff,
                    record=found,
                    values=data,
                    errors=refusal.fields,
                    linked_person=await _linked_person(db, data.get("person_id")),
                    **VOCABULARY,
                )

            return await rerender(db, exc, again)
        year = fiscal_year_of_day(row.occurred_on)
        return see_other(f"/manage/indicators/records?fy={year}", done="record_saved")

    @post("/records/{record_id:int}/delete", opt=ORGANIZER)
    async def delete_record(self, db: DB, staff: Staff, record_id: FromPath[int]) -> Redirect:
        row = await indicators.get_record(db, staff, record_id)
        year = fiscal_year_of_day(row.occurred_on)
        await indicators.delete_record(db, staff, record_id)
        return see_other(f"/manage/indicators/records?fy={year}", done="record_deleted")

    @post("/hand-figures", opt=ORGANIZER)
    async def hand_figure(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff
    ) -> Template | Redirect:
        async def save(data: dict[str, str]) -> str:
            await indicators.set_hand_figure(db, staff, data)
            return data.get("fy", "")

        return await self._records_form(request, db, staff, "hand", save, "hand_figure_saved")

    @post("/year-figures", opt=ORGANIZER)
    async def year_figure(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff
    ) -> Template | Redirect:
        async def save(data: dict[str, str]) -> int:
            return await indicators.set_year_figure(db, staff, data)

        return await self._records_form(request, db, staff, "year", save, "hand_figure_saved")

    @post("/survey-answers", opt=ORGANIZER)
    async def paper_answer(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff
    ) -> Template | Redirect:
        async def save(data: dict[str, str]) -> str:
            try:
                await indicators.add_paper_answer(db, staff, data)
            except Conflict as exc:
                raise InvalidInput(fields=exc.fields or {"desk_record_id": exc.message}) from exc
            return data.get("fy", "")

        return await self._records_form(request, db, staff, "answer", save, "answer_added")

    # definitions

    @get("/definitions", opt=ORGANIZER)
    async def definitions(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        staff: Staff,
        fy: FromQuery[str | None] = None,
    ) -> Template:
        year = fiscal_year_value(_year(fy), "fy")
        years = await self._plan_years(db, staff, year)
        return page(
            "manage/indicator_definitions.html",
            staff,
            flash=done_message(request),
            year=year,
            periods=await documents.plan_periods(db, staff),
            definitions=await indicators.list_definitions(db, staff),
            targets=await indicators.definition_targets(db, staff, years),
            years=years,
            window=await indicators.window_of(db, staff, year),
            **VOCABULARY,
        )

    async def _definition_form(
        self,
        db: DB,
        staff: Staff,
        definition: DefinitionView | None,
        values: dict[str, Any],
        errors: dict[str, str],
        years: list[int],
        status_code: int = 200,
    ) -> Template:
        return page(
            "manage/indicator_definition_form.html",
            staff,
            status_code=status_code,
            definition=definition,
            values=values,
            errors=errors,
            years=years,
            **VOCABULARY,
        )

    @get("/definitions/new", opt=ADMIN)
    async def new_definition(self, db: DB, staff: Staff) -> Template:
        year = indicators.current_fiscal_year()
        return await self._definition_form(
            db, staff, None, {"senior": "any"}, {}, await self._plan_years(db, staff, year)
        )

    async def _plan_years(self, db: DB, staff: Staff, year: int) -> list[int]:
        from service.domain.indicators.report import plan_years

        return plan_years(await documents.plan_periods(db, staff), year)

    async def _form_values(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        values: dict[str, Any] = dict(await form_fields(request))
        for name in (
            "kinds",
            "sectors",
            "sub_kinds",
            "channels",
            "exclude_sub_kinds",
            "survey_subjects",
        ):
            values[name] = await form_lists(request, name)
        return values

    def _years_of(self, values: dict[str, Any]) -> list[int]:
        return sorted(int(k[7:]) for k in values if k.startswith("target_") and k[7:].isdecimal())[
            :5
        ]

    @post("/definitions", opt=ADMIN)
    async def create_definition(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff
    ) -> Template | Redirect:
        values = await self._form_values(request)
        years = self._years_of(values)
        try:
            await indicators.save_definition(db, staff, None, values, years)
        except (InvalidInput, Conflict) as exc:
            return await rerender(
                db,
                exc,
                lambda refusal: self._definition_form(
                    db, staff, None, values, refusal.fields, years
                ),
            )
        return see_other("/manage/indicators/definitions", done="definition_saved")

    @get("/definitions/{definition_id:int}", opt=ADMIN)
    async def edit_definition(self, db: DB, staff: Staff, definition_id: FromPath[int]) -> Template:
        found = await indicators.get_definition(db, staff, definition_id)
        year = indicators.current_fiscal_year()
        years = sorted({2022, 2023, 2024, year, year + 1, year + 2})
        targets = await indicators.definition_targets(db, staff, years)
        mine = {y: t for y in years if (t := targets.get((definition_id, y))) is not None}
        return await self._definition_form(
            db, staff, found, _definition_values(found, mine), {}, years
        )

    @post("/definitions/{definition_id:int}", opt=ADMIN)
    async def save_definition(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, definition_id: FromPath[int]
    ) -> Template | Redirect:
        values = await self._form_values(request)
        years = self._years_of(values)
        try:
            await indicators.save_definition(db, staff, definition_id, values, years)
        except (InvalidInput, Conflict) as exc:

            async def again(refusal: Refusal) -> Template:
                found = await indicators.get_definition(db, staff, definition_id)
                return await self._definition_form(db, staff, found, values, refusal.fields, years)

            return await rerender(db, exc, again)
        return see_other("/manage/indicators/definitions", done="definition_saved")

    @post("/window", opt=ADMIN)
    async def window(self, request: Request[Any, Any, Any], db: DB, staff: Staff) -> Redirect:
        year = await indicators.set_window_start(db, staff, await form_fields(request))
        return see_other(f"/manage/indicators/definitions?fy={year}", done="window_saved")

    @post("/definitions/{definition_id:int}/retire", opt=ADMIN)
    async def retire_definition(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, definition_id: FromPath[int]
    ) -> Redirect:
        form = await form_fields(request)
        await indicators.retire_definition(
            db, staff, definition_id, retire=form.get("restore") != "1"
        )
        return see_other("/manage/indicators/definitions", done="definition_retired")
