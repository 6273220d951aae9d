"""`POST /line/webhook`: LINE's calls to the desk's official account. Thin: the raw body and
the signature go to the domain, which checks, stores and queues (service/domain/line/webhook.py)."""

from __future__ import annotations

from typing import Any

from litestar import Request, post
from litestar.status_codes import HTTP_200_OK

from service.domain.line.webhook import receive
from service.edge.dependencies import DB, AppSettings


@post(
    "/line/webhook",
    status_code=HTTP_200_OK,
    include_in_schema=False,
    summary="LINE Messaging API webhook",
)
async def line_webhook(
    request: Request[Any, Any, Any], db: DB, settings: AppSettings
) -> dict[str, int]:
    body = await request.body()
    stored = await receive(db, settings, body, request.headers.get("x-line-signature"))
    return {"stored": stored}
