"""The LINE account-link page: LINE's chat sends the person here with a link token; they prove
who they are (a booking code, or the desk's one-time code, and their phone number) and are sent
back to LINE with a nonce (service/domain/line/linking.py). POST-redirect-GET as every public
form: success is a 303 to LINE, a mistake a 303 to this page with what is wrong."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from service.domain.errors import DomainError, NotFound
from service.domain.events.enums import EVENT_KINDS, SECTORS
from service.domain.line import linking
from service.edge.dependencies import DB, AppSettings, Redis
from service.web import page_drafts
from service.web.public_common import form_values, limit_client, private_page

FIELDS = ("code", "phone", "linkToken", "news")
LABELS = {
    "code": "予約番号または連携コード",
    "phone": "電話番号",
    "linkToken": "LINEからの案内",
    "sectors": "お知らせを受け取る分野",
    "kinds": "お知らせを受け取る種類",
}
Query = Annotated[str | None, QueryParameter(max_length=120, required=False)]
# LINE's own name for it, in the address its chat opens.
LinkTokenQuery = Annotated[
    str | None, QueryParameter(name="linkToken", max_length=120, required=False)
]


def _form(
    link_token: str,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Template:
    errors = errors or {}
    return private_page(
        "line_link.html",
        status,
        link_token=link_token,
        values=values,
        errors=errors,
        error_list=[(n, errors[n]) for n in LABELS if n in errors],
        message=message,
        labels=LABELS,
        sectors=SECTORS,
        kinds=EVENT_KINDS,
    )


def _off() -> NotFound:
    return NotFound("お探しのページは見つかりませんでした。", code="line_off")


class LinePages(Controller):
    path = "/line/link"

    @get("/", name="line_link_form")
    async def form(
        self,
        settings: AppSettings,
        redis: Redis,
        link_token: LinkTokenQuery = None,
        d: Query = None,
    ) -> Template:
        if not settings.line_enabled:
            raise _off()
        if d and page_drafts.is_token(d):
            draft = await page_drafts.load(redis, page_drafts.LINE_LINK, d)
            if draft is not None:
                return _form(
                    draft["linkToken"],
                    draft["values"],
                    draft["errors"],
                    draft.get("message"),
                )
        try:
            token = linking.valid_link_token(link_token)
        except DomainError as exc:
            return _form("", {}, exc.fields, exc.message, status=400)
        return _form(token, {})

    @post("/", name="line_link_submit")
    async def submit(
        self, request: Request[Any, Any, Any], db: DB, settings: AppSettings, redis: Redis
    ) -> Template | Redirect:
        if not settings.line_enabled:
            raise _off()
        await limit_client(request, redis, settings, "line_link")
        values = await form_values(request, FIELDS)
        form = await request.form()
        sectors = [v for v in form.getall("sectors", []) if isinstance(v, str)][:20]
        kinds = [v for v in form.getall("kinds", []) if isinstance(v, str)][:20]
        shown: dict[str, Any] = {
            "code": values["code"],
            "phone": values["phone"],
            "news": values["news"] == "yes",
            "sectors": sectors,
            "kinds": kinds,
        }
        try:
            prefs = linking.news_prefs(shown["news"], sectors, kinds)
            started = await linking.start_link(
                db,
                settings,
                link_token=values["linkToken"],
                code=values["code"],
                phone=values["phone"],
                prefs=prefs,
            )
        except DomainError as exc:
            draft = {
                "linkToken": values["linkToken"],
                "values": shown,
                "errors": exc.fields,
                "message": exc.message,
            }
            token = await page_drafts.save(redis, page_drafts.LINE_LINK, draft)
            if token is None:
                return _form(values["linkToken"], shown, exc.fields, exc.message, 422)
            return Redirect(f"/line/link?d={token}", status_code=303)
        return Redirect(started.redirect_url, status_code=303)
