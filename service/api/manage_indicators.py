"""Staff API: the programme's indicators (compiled figures against targets), asking for a
compile, the desk's records, hand figures, paper survey answers and (admins) definitions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, delete, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from service.domain.indicators import document as documents
from service.domain.indicators import service as indicators
from service.domain.indicators.csv_export import report_csv, report_filename
from service.domain.indicators.report import Report, plain_number, read_report
from service.domain.indicators.schemas import DefinitionView, RecordView, fiscal_year_value
from service.edge.dependencies import DB
from service.edge.downloads import csv_download
from service.edge.staff_auth import Staff

ORGANIZER = {"staff_role": "organizer"}
ADMIN = {"staff_role": "admin"}


class IndicatorOut(msgspec.Struct):
    code: str
    name: str
    unit: str
    section: str
    sector: str
    actual: int | float | None
    target: int | float | None
    achieved: bool | None
    answers: int | None
    months: dict[str, int | float | None]


class HeardFromOut(msgspec.Struct):
    heard_from: str
    label: str
    people: int


class ReportOut(msgspec.Struct):
    fiscal_year: int
    label: str
    compiled_at: datetime | None
    stale: bool
    window_starts_on: str
    note: str
    indicators: list[IndicatorOut]
    heard_from: list[HeardFromOut]


def report_out(r: Report) -> ReportOut:
    return ReportOut(
        fiscal_year=r.fiscal_year,
        label=r.label,
        compiled_at=r.compiled_at,
        stale=r.is_stale,
        window_starts_on=r.window.starts_on.isoformat(),
        note=r.window.note if r.window.is_partial else "",
        indicators=[
            IndicatorOut(
                code=row.code,
                name=row.name,
                unit=row.unit_label,
                section=row.section,
                sector=row.policy,
                actual=plain_number(row.actual),
                target=plain_number(row.target),
                achieved=row.achieved,
                answers=row.answers,
                months={m: plain_number(v) for m, v in row.months.items()},
            )
            for row in r.all_rows
        ],
        heard_from=[HeardFromOut(h, label, n) for h, label, n in r.heard_from],
    )


class CompileBody(msgspec.Struct, forbid_unknown_fields=True):
    fiscal_year: int | str


class CompileQueued(msgspec.Struct):
    fiscal_year: int
    job_id: str
    status: str = "queued"


class RecordBody(msgspec.Struct, forbid_unknown_fields=True):
    kind: str
    occurred_on: str
    sector: str | None = None
    channel: str | None = None
    person_name: str | None = None
    company: str | None = None
    senior: bool | None = None
    quantity: int = 1
    note: str = ""
    contact_phone: str | None = None
    contact_email: str | None = None
    survey_consent: bool = False
    # The person (登録者) the record is of; left out, a record keeps the one it has (null unlinks).
    person_id: int | msgspec.UnsetType | None = msgspec.UNSET


def _record_data(data: RecordBody) -> dict[str, Any]:
    return {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}


class RecordOut(msgspec.Struct):
    id: int
    kind: str
    occurred_on: str
    sector: str
    channel: str | None
    person_name: str | None
    company: str | None
    senior: bool | None
    quantity: int
    note: str
    person_id: int | None = None


class RecordsOut(msgspec.Struct):
    fiscal_year: int
    total: int
    page: int
    per_page: int
    items: list[RecordOut]


def record_out(r: RecordView) -> RecordOut:
    return RecordOut(
        r.id,
        r.kind,
        r.occurred_on.isoformat(),
        r.sector,
        r.channel,
        r.person_name,
        r.company,
        r.senior,
        r.quantity,
        r.note,
        r.person_id,
    )


class HandFigureBody(msgspec.Struct, forbid_unknown_fields=True):
    definition_id: int
    month: str
    value: str | int | float | None
    answers: int | None = None


class YearFigureBody(msgspec.Struct, forbid_unknown_fields=True):
    definition_id: int
    fiscal_year: int | str
    value: str | int | float | None
    answers: int | None = None


class NarrativeBody(msgspec.Struct, forbid_unknown_fields=True):
    fiscal_year: int | str
    section: str
    part: str  # evaluation (【評価】) or plan (【取組】)
    body: str = ""


class PaperAnswerBody(msgspec.Struct, forbid_unknown_fields=True):
    answered_on: str
    score: int
    comment: str = ""
    # desk (default) or event; paper (default) or tablet; the consultation's record, if known.
    subject: str | None = None
    source: str | None = None
    desk_record_id: int | None = None


class WindowBody(msgspec.Struct, forbid_unknown_fields=True):
    fiscal_year: int | str
    # The first day the year's report covers (R4: "2022-08-01"); null: April 1.
    starts_on: str | None = None


class DefinitionBody(msgspec.Struct, forbid_unknown_fields=True):
    code: str
    name: str
    unit: str
    section: str
    measure: str
    policy: str = ""
    kinds: list[str] = msgspec.field(default_factory=list)
    sectors: list[str] = msgspec.field(default_factory=list)
    sub_kinds: list[str] = msgspec.field(default_factory=list)
    exclude_sub_kinds: list[str] = msgspec.field(default_factory=list)
    survey_subjects: list[str] = msgspec.field(default_factory=list)
    record_kind: str | None = None
    channels: list[str] = msgspec.field(default_factory=list)
    senior: bool | None = None
    position: int | None = None
    # Targets by fiscal year (2022: R4); a null target removes it.
    targets: dict[str, str | int | float | None] = msgspec.field(default_factory=dict)


class DefinitionOut(msgspec.Struct):
    id: int
    code: str
    name: str
    unit: str
    section: str
    policy: str
    measure: str
    kinds: list[str]
    sectors: list[str]
    sub_kinds: list[str]
    record_kind: str | None
    channels: list[str]
    senior: bool | None
    position: int
    retired: bool


def definition_out(d: DefinitionView) -> DefinitionOut:
    return DefinitionOut(
        d.id,
        d.code,
        d.name,
        d.unit,
        d.section,
        d.policy,
        d.measure,
        list(d.kinds or []),
        list(d.sectors or []),
        list(d.sub_kinds or []),
        d.record_kind,
        list(d.channels or []),
        d.senior,
        d.position,
        d.retired_at is not None,
    )


def _definition_data(data: DefinitionBody) -> tuple[dict[str, Any], list[int]]:
    values: dict[str, Any] = msgspec.structs.asdict(data)
    targets = values.pop("targets")
    years = [fiscal_year_value(y, "targets") for y in targets]
    for y, t in zip(years, targets.values(), strict=True):
        values[f"target_{y}"] = "" if t is None else str(t)
    if values["senior"] is None:
        values["senior"] = "any"
    return values, years


Year = Annotated[int | None, QueryParameter(ge=2019, le=2100)]


class ManageIndicatorsController(Controller):
    path = "/indicators"
    tags = ["staff: indicators"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get(
        "/",
        summary="The year's compiled indicators against targets, per month",
        description="Co-host staff get the figures of the events their organization co-hosts "
        "(the desk's own records: null). compiled_at says when the figures were compiled.",
    )
    async def report(self, db: DB, staff: Staff, fiscal_year: Year = None) -> ReportOut:
        year = fiscal_year if fiscal_year is not None else indicators.current_fiscal_year()
        return report_out(await read_report(db, staff, year, field_name="fiscal_year"))

    @get(
        "/csv",
        summary="The report as CSV for Excel (UTF-8 with BOM, CRLF)",
        media_type="text/csv; charset=utf-8",
    )
    async def report_csv(self, db: DB, staff: Staff, fiscal_year: Year = None) -> Response[bytes]:
        year = fiscal_year if fiscal_year is not None else indicators.current_fiscal_year()
        r = await read_report(db, staff, year, field_name="fiscal_year")
        return csv_download(report_csv(r), report_filename(r))

    @post(
        "/compile",
        status_code=HTTP_202_ACCEPTED,
        summary="Compile a fiscal year now (answers at once; a worker compiles)",
        opt=ORGANIZER,
    )
    async def compile(self, db: DB, staff: Staff, data: JSONBody[CompileBody]) -> CompileQueued:
        year, job_id = await indicators.request_compile(db, staff, data.fiscal_year)
        return CompileQueued(fiscal_year=year, job_id=job_id)

    @get("/records", summary="The desk's records of a fiscal year, newest first", opt=ORGANIZER)
    async def records(
        self,
        db: DB,
        staff: Staff,
        fiscal_year: Year = None,
        kind: Annotated[str | None, QueryParameter(max_length=30)] = None,
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> RecordsOut:
        year = fiscal_year if fiscal_year is not None else indicators.current_fiscal_year()
        p = await indicators.list_records(db, staff, year, kind, page)
        return RecordsOut(
            p.fiscal_year, p.total, p.page, p.per_page, [record_out(r) for r in p.items]
        )

    @post(
        "/records",
        status_code=HTTP_201_CREATED,
        summary="Add a desk record. Audited.",
        opt=ORGANIZER,
    )
    async def add_record(self, db: DB, staff: Staff, data: JSONBody[RecordBody]) -> RecordOut:
        return record_out(await indicators.add_record(db, staff, _record_data(data)))

    @get("/records/{record_id:int}", summary="One desk record", opt=ORGANIZER)
    async def show_record(self, db: DB, staff: Staff, record_id: FromPath[int]) -> RecordOut:
        return record_out(await indicators.get_record(db, staff, record_id))

    @put("/records/{record_id:int}", summary="Change a desk record. Audited.", opt=ORGANIZER)
    async def change_record(
        self, db: DB, staff: Staff, record_id: FromPath[int], data: JSONBody[RecordBody]
    ) -> RecordOut:
        row = await indicators.update_record(db, staff, record_id, _record_data(data))
        return record_out(row)

    @delete(
        "/records/{record_id:int}",
        status_code=HTTP_200_OK,
        summary="Remove a desk record. Audited.",
        opt=ORGANIZER,
    )
    async def delete_record(self, db: DB, staff: Staff, record_id: FromPath[int]) -> dict[str, int]:
        await indicators.delete_record(db, staff, record_id)
        return {"deleted": record_id}

    @put(
        "/hand-figures",
        summary="Set (value null: clear) an indicator's hand-entered figure for a month",
        opt=ORGANIZER,
    )
    async def hand_figure(
        self, db: DB, staff: Staff, data: JSONBody[HandFigureBody]
    ) -> dict[str, str]:
        values = msgspec.structs.asdict(data)
        if values["value"] is not None:
            values["value"] = str(values["value"])
        await indicators.set_hand_figure(db, staff, values)
        return {"status": "saved"}

    @put(
        "/year-figures",
        summary="Set (value null: clear) an indicator's figure for a whole year (no months)",
        opt=ORGANIZER,
    )
    async def year_figure(
        self, db: DB, staff: Staff, data: JSONBody[YearFigureBody]
    ) -> dict[str, str]:
        values = msgspec.structs.asdict(data)
        if values["value"] is not None:
            values["value"] = str(values["value"])
        await indicators.set_year_figure(db, staff, values)
        return {"status": "saved"}

    @put(
        "/narrative",
        summary="Set (body empty: clear) a section's 【評価】 or 【取組】 for a year's report",
        opt=ORGANIZER,
    )
    async def narrative(
        self, db: DB, staff: Staff, data: JSONBody[NarrativeBody]
    ) -> dict[str, str]:
        await documents.save_narrative(db, staff, msgspec.structs.asdict(data))
        return {"status": "saved"}

    @post(
        "/survey-answers",
        status_code=HTTP_201_CREATED,
        summary="Enter a paper satisfaction answer (1-5)",
        opt=ORGANIZER,
    )
    async def paper_answer(
        self, db: DB, staff: Staff, data: JSONBody[PaperAnswerBody]
    ) -> dict[str, str]:
        await indicators.add_paper_answer(db, staff, msgspec.structs.asdict(data))
        return {"status": "saved"}

    @put(
        "/window",
        summary="Where a fiscal year's report starts (admins; R4: 2022-08-01); recompiles it",
        opt=ADMIN,
    )
    async def window(self, db: DB, staff: Staff, data: JSONBody[WindowBody]) -> dict[str, int]:
        year = await indicators.set_window_start(db, staff, msgspec.structs.asdict(data))
        return {"fiscal_year": year}

    @get("/definitions", summary="Indicator definitions, retired ones included", opt=ORGANIZER)
    async def definitions(self, db: DB, staff: Staff) -> list[DefinitionOut]:
        return [definition_out(d) for d in await indicators.list_definitions(db, staff)]

    @post(
        "/definitions",
        status_code=HTTP_201_CREATED,
        summary="Add an indicator (admins); every compiled year is compiled again",
        opt=ADMIN,
    )
    async def add_definition(
        self, db: DB, staff: Staff, data: JSONBody[DefinitionBody]
    ) -> DefinitionOut:
        values, years = _definition_data(data)
        return definition_out(await indicators.save_definition(db, staff, None, values, years))

    @put(
        "/definitions/{definition_id:int}",
        summary="Change an indicator and its targets (admins); compiled years are recompiled",
        opt=ADMIN,
    )
    async def change_definition(
        self, db: DB, staff: Staff, definition_id: FromPath[int], data: JSONBody[DefinitionBody]
    ) -> DefinitionOut:
        values, years = _definition_data(data)
        row = await indicators.save_definition(db, staff, definition_id, values, years)
        return definition_out(row)

    @post(
        "/definitions/{definition_id:int}/retire",
        status_code=HTTP_200_OK,
        summary="Retire an indicator (admins): it leaves the report; its history stays",
        opt=ADMIN,
    )
    async def retire_definition(
        self, db: DB, staff: Staff, definition_id: FromPath[int]
    ) -> DefinitionOut:
        return definition_out(await indicators.retire_definition(db, staff, definition_id))
