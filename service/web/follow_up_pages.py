"""The follow-up form (就業状況のおたずね), phone-sized, no login: the mailed link (signed, 60
days) or the letter's short URL (/f/<code>) opens it; one answer per person per campaign,
changed from the same page until the campaign closes. POST answers 303 to the GET page."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from service.domain.errors import DomainError
from service.domain.events.enums import SECTORS
from service.domain.followups import service as followups
from service.domain.followups.enums import ANSWER_STATUSES, EMPLOYMENT_TYPES
from service.domain.followups.schemas import AnswerInput, FormContext
from service.edge import rate_limit
from service.edge.dependencies import DB, AppSettings, Redis
from service.web import page_drafts
from service.web.form_errors import refusal_of
from service.web.public_common import form_values, limit_client, private_page

FIELDS = ("status", "employer", "started_on", "employment_type", "sector", "comment")
LABELS = {
    "status": "いまの状況",
    "employer": "勤務先",
    "started_on": "働き始めた月",
    "employment_type": "働き方",
    "sector": "仕事の分野",
    "comment": "ご意見・ご要望",
}
Token = Annotated[str, QueryParameter(max_length=64)]
Answer = Template | Redirect


def _values(answer: AnswerInput | None) -> dict[str, str]:
    if answer is None:
        return {}
    return {
        "status": answer.status,
        "employer": answer.employer or "",
        "started_on": f"{answer.started_on:%Y-%m}" if answer.started_on else "",
        "employment_type": answer.employment_type or "",
        "sector": answer.sector or "",
        "comment": answer.comment,
    }


def _page(
    form: FormContext,
    action: str,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    done: bool = False,
) -> Template:
    return private_page(
        "follow_up_form.html",
        422 if errors else 200,
        form=form,
        action=action,
        values=values,
        errors=errors,
        error_list=[(n, errors[n]) for n in LABELS if n in errors],
        labels=LABELS,
        done=done,
        STATUSES=ANSWER_STATUSES,
        TYPES=EMPLOYMENT_TYPES,
        SECTORS=SECTORS,
    )


async def _show(
    request: Request[Any, Any, Any],
    db: DB,
    redis: Redis,
    settings: AppSettings,
    path: str,
    d: str,
    **key: str,
) -> Template:
    try:
        form = await followups.form_context(db, settings, **key)
    except DomainError as exc:
        refusal = await refusal_of(db, exc)
        if "short_code" in key:
            # A letter's code is short enough to guess and opens a page with a name on it: a
            # wrong code counts in the booking-code guesses' bucket (a mistyped code from
            # paper is rare; a guesser makes nothing else).
            await rate_limit.count_code_guess(redis, request, settings)
        return private_page("follow_up_closed.html", 404, message=refusal.message)
    draft = await page_drafts.load(redis, page_drafts.FOLLOW_UP, d) if d else None
    if draft is not None and draft.get("target_id") == form.target_id:
        return _page(
            form, path, draft["values"], draft.get("errors") or {}, done=draft.get("done", False)
        )
    return _page(form, path, _values(form.answer), {})


async def _answer(
    request: Request[Any, Any, Any],
    db: DB,
    redis: Redis,
    settings: AppSettings,
    path: str,
    **key: str,
) -> Answer:
    await limit_client(request, redis, settings, "survey")
    values = await form_values(request, FIELDS)
    draft: dict[str, Any]
    try:
        form = await followups.form_context(db, settings, **key)
        await followups.answer_by_form(db, form.target_id, values)
    except DomainError as exc:
        refusal = await refusal_of(db, exc)
        if not refusal.fields:
            return private_page("follow_up_closed.html", refusal.status, message=refusal.message)
        draft = {"target_id": form.target_id, "values": values, "errors": refusal.fields}
    else:
        draft = {"target_id": form.target_id, "values": values, "done": True}
    token = await page_drafts.save(redis, page_drafts.FOLLOW_UP, draft)
    if token is None:
        return _page(form, path, values, draft.get("errors") or {}, done=bool(draft.get("done")))
    return Redirect(f"{path}?d={token}", status_code=303)


class FollowUpPages(Controller):
    include_in_schema = False

    @get("/follow-up/{token:str}", name="follow_up_form")
    async def by_link(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        redis: Redis,
        settings: AppSettings,
        token: FromPath[str],
        d: Token = "",
    ) -> Template:
        path = f"/follow-up/{token[:80]}"
        return await _show(request, db, redis, settings, path, d, token=token[:80])

    @post("/follow-up/{token:str}", name="follow_up_answer")
    async def answer_by_link(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        redis: Redis,
        settings: AppSettings,
        token: FromPath[str],
    ) -> Answer:
        path = f"/follow-up/{token[:80]}"
        return await _answer(request, db, redis, settings, path, token=token[:80])

    @get("/f/{code:str}", name="follow_up_short")
    async def by_code(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        redis: Redis,
        settings: AppSettings,
        code: FromPath[str],
        d: Token = "",
    ) -> Template:
        path = f"/f/{code[:16]}"
        return await _show(request, db, redis, settings, path, d, short_code=code[:16])

    @post("/f/{code:str}", name="follow_up_short_answer")
    async def answer_by_code(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        redis: Redis,
        settings: AppSettings,
        code: FromPath[str],
    ) -> Answer:
        path = f"/f/{code[:16]}"
        return await _answer(request, db, redis, settings, path, short_code=code[:16])
