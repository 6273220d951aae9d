"""Mail delivery for staff: the failed mails, with sending again one or all of them (after an
SMTP outage), and the mails waiting for their next attempt, sent now with one button. Each
booking's own history is on its page (manage_rosters)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from service.domain.notifications import history
from service.edge.dependencies import DB
from service.edge.staff_auth import Staff
from service.web.manage_common import done_message, page, see_other


class ManageMailPages(Controller):
    path = "/mails"
    include_in_schema = False

    @get("/failed")
    async def failed(self, request: Request[Any, Any, Any], db: DB, staff: Staff) -> Template:
        return page(
            "manage/mails_failed.html",
            staff,
            flash=done_message(request),
            mails=await history.failed_mails(db, staff),
            waiting=await history.waiting_mails(db, staff),
            MAIL_KINDS=history.MAIL_KINDS,
        )

    @post("/{notification_id:int}/retry", status_code=303)
    async def retry_one(self, db: DB, staff: Staff, notification_id: FromPath[int]) -> Redirect:
        await history.retry_mail(db, staff, notification_id)
        return see_other("/manage/mails/failed", done="mail_retried")

    @post("/send-now", status_code=303)
    async def send_now(self, db: DB, staff: Staff) -> Redirect:
        """The mails waiting for their next attempt after an SMTP failure, sent now."""
        sent = await history.send_waiting_now(db, staff)
        return see_other("/manage/mails/failed", done="mails_sent_now" if sent else "none_waiting")

    @post("/retry-all", status_code=303)
    async def retry_all(self, db: DB, staff: Staff) -> Redirect:
        await history.retry_all_failed(db, staff)
        return see_other("/manage/mails/failed", done="mails_retried")
