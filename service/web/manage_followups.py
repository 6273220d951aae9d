"""The console's follow-up pages (organizers and admins): campaigns, a new campaign with its
counts by channel, sending (asked once more), the letters and labels PDFs, the call list, paper
and phone answers, response rates by channel and the placements found."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from service.domain.bookings.normalize import format_phone
from service.domain.errors import DomainError, InvalidInput
from service.domain.events.enums import SECTORS
from service.domain.followups import letters
from service.domain.followups import service as followups
from service.domain.followups.enums import (
    ANSWER_STATUSES,
    ANSWER_VIA,
    CAMPAIGN_STATUSES,
    EMPLOYMENT_TYPES,
    TARGET_CHANNELS,
)
from service.edge.dependencies import DB, AppSettings
from service.edge.staff_auth import Staff
from service.web.form_errors import rerender
from service.web.manage_common import done_message, form_fields, page, see_other

ORGANIZER = {"staff_role": "organizer"}
PerSheet = Annotated[int, QueryParameter(required=False)]
VOCABS: dict[str, Any] = {
    "ANSWER_STATUSES": ANSWER_STATUSES,
    "ANSWER_VIA": ANSWER_VIA,
    "CAMPAIGN_STATUSES": CAMPAIGN_STATUSES,
    "EMPLOYMENT_TYPES": EMPLOYMENT_TYPES,
    "TARGET_CHANNELS": TARGET_CHANNELS,
    "SECTORS": SECTORS,
    "format_phone": format_phone,
}


async def _campaign_page(
    db: DB,
    staff: Staff,
    campaign_id: int,
    *,
    flash: str | None = None,
    error: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    view = await followups.show(db, staff, campaign_id)
    calls: list[Any] = []
    post_people: list[Any] = []
    if view.status != "draft":
        calls = (await followups.targets(db, staff, campaign_id, "phone"))[1]
        post_people = (await followups.targets(db, staff, campaign_id, "post"))[1]
    return page(
        "manage/follow_up.html",
        staff,
        flash=flash,
        error=error,
        c=view,
        calls=calls,
        answerable=[t for t in post_people + calls if not t.answered],
        values=values or {},
        errors=errors or {},
        **VOCABS,
    )


def _pdf(body: bytes, filename: str) -> Response[bytes]:
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


class ManageFollowUpPages(Controller):
    path = "/follow-ups"
    include_in_schema = False

    @get("/", opt=ORGANIZER)
    async def index(self, request: Request[Any, Any, Any], db: DB, staff: Staff) -> Template:
        return page(
            "manage/follow_ups.html",
            staff,
            flash=done_message(request),
            campaigns=await followups.list_campaigns(db, staff),
            values={},
            errors={},
            **VOCABS,
        )

    @post("/", opt=ORGANIZER, status_code=303)
    async def create(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff
    ) -> Template | Redirect:
        values = await form_fields(request)
        try:
            view = await followups.create(db, staff, values)
        except DomainError as exc:

            async def again(r: Any) -> Template:
                return page(
                    "manage/follow_ups.html",
                    staff,
                    campaigns=await followups.list_campaigns(db, staff),
                    values=values,
                    errors=r.fields,
                    error=r.message,
                    **VOCABS,
                )

            return await rerender(db, exc, again)
        return see_other(f"/manage/follow-ups/{view.id}", done="follow_up_created")

    @get("/{campaign_id:int}", opt=ORGANIZER)
    async def show(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, campaign_id: FromPath[int]
    ) -> Template:
        return await _campaign_page(db, staff, campaign_id, flash=done_message(request))

    @get("/{campaign_id:int}/send", opt=ORGANIZER)
    async def send_question(self, db: DB, staff: Staff, campaign_id: FromPath[int]) -> Template:
        view = await followups.show(db, staff, campaign_id)
        return page("manage/follow_up_send.html", staff, c=view, **VOCABS)

    @post("/{campaign_id:int}/send", opt=ORGANIZER, status_code=303)
    async def send(self, db: DB, staff: Staff, campaign_id: FromPath[int]) -> Redirect:
        await followups.send(db, staff, campaign_id)
        return see_other(f"/manage/follow-ups/{campaign_id}", done="follow_up_sent")

    @post("/{campaign_id:int}/close", opt=ORGANIZER, status_code=303)
    async def close(self, db: DB, staff: Staff, campaign_id: FromPath[int]) -> Redirect:
        await followups.close(db, staff, campaign_id)
        return see_other(f"/manage/follow-ups/{campaign_id}", done="follow_up_closed")

    @post("/{campaign_id:int}/answers", opt=ORGANIZER, status_code=303)
    async def answer(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, campaign_id: FromPath[int]
    ) -> Template | Redirect:
        values = await form_fields(request)
        try:
            await followups.answer_for(db, staff, campaign_id, values)
        except DomainError as exc:
            return await rerender(
                db,
                exc,
                lambda r: _campaign_page(
                    db, staff, campaign_id, error=r.message, values=values, errors=r.fields
                ),
            )
        return see_other(f"/manage/follow-ups/{campaign_id}", done="follow_up_answer_saved")

    @get("/{campaign_id:int}/letters.pdf", opt=ORGANIZER)
    async def letters_pdf(
        self, db: DB, staff: Staff, settings: AppSettings, campaign_id: FromPath[int]
    ) -> Response[bytes]:
        view, people = await followups.targets(db, staff, campaign_id, "post")
        body = await asyncio.to_thread(letters.letters_pdf, settings, view, people)
        return _pdf(body, f"follow-up-{campaign_id}-letters.pdf")

    @get("/{campaign_id:int}/labels.pdf", opt=ORGANIZER)
    async def labels_pdf(
        self,
        db: DB,
        staff: Staff,
        settings: AppSettings,
        campaign_id: FromPath[int],
        per_sheet: PerSheet = 12,
    ) -> Response[bytes]:
        if per_sheet not in letters.LABEL_SHEETS:
            raise InvalidInput(fields={"per_sheet": "12 か 24 を指定してください。"})
        _view, people = await followups.targets(db, staff, campaign_id, "post")
        body = await asyncio.to_thread(letters.labels_pdf, settings, people, per_sheet)
        return _pdf(body, f"follow-up-{campaign_id}-labels-{per_sheet}.pdf")
