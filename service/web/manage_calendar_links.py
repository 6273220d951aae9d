"""Console page /manage/calendar-links: each staff member's calendar subscription links (make,
name, list, revoke); admins also see and revoke everyone's."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from service.domain.accounts.actor import Actor
from service.domain.calendars import links
from service.domain.errors import InvalidInput
from service.edge.dependencies import DB, AppSettings
from service.edge.staff_auth import Staff
from service.web.form_errors import rerender
from service.web.manage_common import done_message, form_fields, page, see_other

PATH = "/manage/calendar-links"


async def _page(
    db: DB,
    staff: Actor,
    *,
    everyone: bool,
    flash: str | None = None,
    new_link: links.NewLink | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    return page(
        "manage/calendar_links.html",
        staff,
        status_code=status_code,
        flash=flash,
        links=await links.list_links(db, staff, everyone=everyone),
        everyone=everyone and staff.is_admin,
        new_link=new_link,
        organizations=await links.organizations(db),
        values=values or {},
        errors=errors or {},
    )


class ManageCalendarLinkPages(Controller):
    path = "/calendar-links"
    include_in_schema = False

    @get("/")
    async def list_links(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, all: FromQuery[str] = ""
    ) -> Template:
        return await _page(db, staff, everyone=all == "1", flash=done_message(request))

    @post("/", status_code=200)
    async def create(
        self, request: Request[Any, Any, Any], db: DB, settings: AppSettings, staff: Staff
    ) -> Template:
        data = await form_fields(request)
        try:
            made = await links.create_link(
                db,
                settings,
                staff,
                name=data.get("name", ""),
                sector=data.get("sector"),
                kind=data.get("kind"),
                organization_id=data.get("organization_id"),
            )
        except InvalidInput as exc:
            return await rerender(
                db,
                exc,
                lambda refusal: _page(
                    db, staff, everyone=False, values=data, errors=refusal.fields
                ),
            )
        # The address is shown this once: only its hash is kept.
        return await _page(db, staff, everyone=False, new_link=made)

    @post("/{link_id:int}/revoke", status_code=303)
    async def revoke(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, link_id: FromPath[int]
    ) -> Redirect:
        data = await form_fields(request)
        await links.revoke_link(db, staff, link_id)
        target = PATH + "/?all=1" if data.get("all") == "1" and staff.is_admin else PATH + "/"
        return see_other(target, done="calendar_link_revoked")
