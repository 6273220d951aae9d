"""The LINE channel in the console: a one-time link code for a person on the phone (shown once,
on the page the button posts to), and an event's news with its preview and count before it is
sent (the preview is the confirmation step)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from service.domain.errors import DomainError
from service.domain.line import linking, news
from service.edge.dependencies import DB, AppSettings
from service.edge.staff_auth import Staff
from service.web.form_errors import rerender
from service.web.manage_common import done_message, form_fields, page, see_other

ORGANIZER = {"staff_role": "organizer"}
AUDIENCE_LABELS = {
    "subscribers": "お知らせを希望した連携済みの方（分野・種類が合う方）",
    "broadcast": "友だち全員（一斉配信）",
}


async def _news_page(
    db: DB,
    settings: AppSettings,
    staff: Staff,
    event_id: int,
    audience: str | None,
    *,
    flash: str | None = None,
    error: str | None = None,
) -> Template:
    preview = await news.preview(db, settings, staff, event_id, audience)
    return page(
        "manage/line_news.html",
        staff,
        flash=flash,
        error=error,
        preview=preview,
        audiences=AUDIENCE_LABELS,
    )


class ManageLinePages(Controller):
    include_in_schema = False

    @post("/bookings/{booking_id:int}/line-code", status_code=200)
    async def desk_code(
        self, db: DB, settings: AppSettings, staff: Staff, booking_id: FromPath[int]
    ) -> Template:
        issued = await linking.issue_desk_code(db, settings, staff, booking_id)
        return page(
            "manage/line_code.html",
            staff,
            code=issued.code,
            expires_at=issued.expires_at,
            booking_id=booking_id,
        )

    @get("/events/{event_id:int}/line-news", opt=ORGANIZER)
    async def news_preview(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        settings: AppSettings,
        staff: Staff,
        event_id: FromPath[int],
        audience: FromQuery[str | None] = None,
    ) -> Template:
        return await _news_page(
            db, settings, staff, event_id, audience, flash=done_message(request)
        )

    @post("/events/{event_id:int}/line-news", opt=ORGANIZER, status_code=303)
    async def news_send(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        settings: AppSettings,
        staff: Staff,
        event_id: FromPath[int],
    ) -> Template | Redirect:
        audience = (await form_fields(request)).get("audience") or "subscribers"
        try:
            await news.request_send(db, settings, staff, event_id, audience)
        except DomainError as exc:
            return await rerender(
                db,
                exc,
                lambda r: _news_page(db, settings, staff, event_id, audience, error=r.message),
            )
        return see_other(
            f"/manage/events/{event_id}/line-news?audience={audience}", done="line_news_queued"
        )
