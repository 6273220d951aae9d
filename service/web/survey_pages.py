"""The one-question satisfaction page the survey mail links to: no login, the signed link is
the key; one answer per booking; expired links say so kindly."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Template

from service.domain.errors import Conflict, InvalidInput
from service.domain.indicators.survey import SCORES, answer_survey, survey_target
from service.edge.dependencies import DB, AppSettings, Redis
from service.platform.transaction import abandon
from service.web.public_common import form_values, limit_client, private_page

LABELS = {"score": "満足度", "comment": "ご意見・ご感想"}
THANKS = "ご回答ありがとうございました。今後の運営に役立てます。"


def _closed(exc: Conflict) -> Template:
    if exc.code == "survey_answered":
        return private_page(
            "survey_done.html", heading="ご回答ありがとうございました", message=exc.message
        )
    return private_page(
        "survey_done.html", 410, heading="回答の期限を過ぎました", message=exc.message
    )


def _form(
    token: str,
    target: Any,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Template:
    return private_page(
        "survey.html",
        status,
        token=token,
        target=target,
        values=values,
        errors=errors,
        error_list=[(n, errors[n]) for n in LABELS if n in errors],
        labels=LABELS,
        scores=SCORES,
    )


class SurveyPages(Controller):
    include_in_schema = False

    @get("/survey/{token:str}", name="survey")
    async def show(self, db: DB, settings: AppSettings, token: FromPath[str]) -> Template:
        try:
            target = await survey_target(db, settings, token[:80])
        except Conflict as exc:
            return _closed(exc)
        if target.answered:
            message = "このアンケートには、すでにお答えいただいています。"
            return private_page(
                "survey_done.html", heading="ご回答ありがとうございました", message=message
            )
        return _form(token, target, {}, {})

    @post("/survey/{token:str}", name="survey_answer")
    async def answer(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        redis: Redis,
        settings: AppSettings,
        token: FromPath[str],
    ) -> Template:
        await limit_client(request, redis, settings, "survey")
        values = await form_values(request, ("score", "comment"))
        try:
            await answer_survey(db, settings, token[:80], values)
        except InvalidInput as exc:
            await abandon(db)
            return _form(
                token, await survey_target(db, settings, token[:80]), values, exc.fields, 422
            )
        except Conflict as exc:
            return _closed(exc)
        return private_page(
            "survey_done.html", heading="ご回答ありがとうございました", message=THANKS
        )
