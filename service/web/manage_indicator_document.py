"""Organizer pages for the yearly report as the desk files it: the PDF (console button
「報告書（PDF）」), the narrative 【評価】【取組】 and 新現役交流会 staff write for it, and (admins)
the plan periods whose years the report's tables show."""

from __future__ import annotations

import asyncio
from typing import Any

from jinja2 import Environment
from litestar import Controller, Request, Response, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from service.domain.accounts.actor import Actor
from service.domain.errors import InvalidInput
from service.domain.indicators import document as documents
from service.domain.indicators.chart import report_chart
from service.domain.indicators.schemas import fiscal_year_value
from service.edge.dependencies import DB
from service.edge.staff_auth import Staff
from service.web.form_errors import rerender
from service.web.manage_common import VOCABULARIES, done_message, form_fields, page, see_other
from service.web.manage_indicators import ADMIN, ORGANIZER, VOCABULARY, year_or_current
from service.web.report_pdf import render_pdf

_year = year_or_current


def report_html(env: Environment, doc: documents.Document, staff: Actor) -> str:
    """The report document's HTML, from the page's own partials (what the PDF is made of)."""
    template = env.get_template("manage/indicators_report.html")
    return template.render(
        **VOCABULARIES,
        **VOCABULARY,
        staff=staff,
        r=doc.report,
        doc=doc,
        chart=report_chart(doc.report),
    )


class ManageIndicatorDocumentPages(Controller):
    path = "/indicators"
    include_in_schema = False

    @get("/report.pdf", opt=ORGANIZER)
    async def report_pdf(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        staff: Staff,
        fy: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        """The yearly report as the desk files it (console button 「報告書（PDF）」)."""
        doc = await documents.read_document(db, staff, _year(fy))
        engine = request.app.template_engine
        assert engine is not None  # the app is built with its templates (service/app.py)
        html = report_html(engine.engine, doc, staff)
        pdf = await asyncio.to_thread(render_pdf, html)
        name = f"report-{doc.report.fiscal_year}.pdf"
        return Response(
            pdf,
            media_type="application/pdf",
            headers={
                "Cache-Control": "no-store",
                "X-Robots-Tag": "noindex",
                "Content-Disposition": f'inline; filename="{name}"',
            },
        )

    # the narrative and 新現役交流会 (staff write them; shown on the page and in the PDF)

    async def _narrative_page(
        self,
        db: DB,
        staff: Staff,
        year: int,
        *,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        status_code: int = 200,
        flash: str | None = None,
    ) -> Template:
        doc = await documents.read_document(db, staff, year)
        return page(
            "manage/indicator_narrative.html",
            staff,
            status_code=status_code,
            flash=flash,
            r=doc.report,
            doc=doc,
            history=await documents.exchange_history(db, staff, year + 30),
            errors=errors or {},
            values=values or {},
            **VOCABULARY,
        )

    @get("/narrative", opt=ORGANIZER)
    async def narrative(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        staff: Staff,
        fy: FromQuery[str | None] = None,
    ) -> Template:
        year = fiscal_year_value(_year(fy), "fy")
        return await self._narrative_page(db, staff, year, flash=done_message(request))

    @post("/narrative", opt=ORGANIZER)
    async def save_narrative(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff
    ) -> Template | Redirect:
        data = await form_fields(request)
        try:
            year = await documents.save_narrative(db, staff, data)
        except InvalidInput as exc:
            year = fiscal_year_value(_year(data.get("fiscal_year")), "fiscal_year")
            return await rerender(
                db,
                exc,
                lambda refusal: self._narrative_page(
                    db, staff, year, errors=refusal.fields, values=data, status_code=422
                ),
            )
        return see_other(f"/manage/indicators/narrative?fy={year}", done="narrative_saved")

    @post("/exchange", opt=ORGANIZER)
    async def save_exchange(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff
    ) -> Template | Redirect:
        data = await form_fields(request)
        shown = fiscal_year_value(_year(data.get("fy")), "fy")
        try:
            await documents.save_exchange(db, staff, data)
        except InvalidInput as exc:
            return await rerender(
                db,
                exc,
                lambda refusal: self._narrative_page(
                    db, staff, shown, errors=refusal.fields, values=data, status_code=422
                ),
            )
        return see_other(f"/manage/indicators/narrative?fy={shown}", done="exchange_saved")

    @post("/plan-period", opt=ADMIN)
    async def plan_period(self, request: Request[Any, Any, Any], db: DB, staff: Staff) -> Redirect:
        data = await form_fields(request)
        await documents.set_plan_period(db, staff, data)
        return see_other("/manage/indicators/definitions", done="plan_period_saved")
