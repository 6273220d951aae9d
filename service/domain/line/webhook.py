"""What `POST /line/webhook` does: the signature first (HMAC-SHA256 of the raw body with the
channel secret, compared in constant time by the SDK's SignatureValidator), then the events are
stored in the request's transaction and handed to the workers after commit. LINE waits a few
seconds at most; nothing here talks to LINE or does an event's work."""

from __future__ import annotations

import json
from typing import Any

import structlog
from linebot.v3.webhook import SignatureValidator
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.errors import AuthenticationRequired, InvalidInput, NotFound
from service.domain.line.repository import IncomingEvent, LineRepository
from service.platform.job_names import PROCESS_LINE_EVENT
from service.platform.jobs import enqueue_after_commit
from service.platform.settings import Settings

log = structlog.get_logger("service.line.webhook")

MAX_EVENTS = 100


def process_job_id(event_row_id: int) -> str:
    return f"line_event:{event_row_id}"


def queue_processing(db: AsyncSession, event_row_ids: list[int], suffix: str = "") -> None:
    for row_id in event_row_ids:
        enqueue_after_commit(db, PROCESS_LINE_EVENT, process_job_id(row_id) + suffix, row_id)


def signature_valid(settings: Settings, body: bytes, signature: str | None) -> bool:
    if not signature:
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return bool(SignatureValidator(settings.line_channel_secret).validate(text, signature))


def _storable(value: Any) -> Any:
    """PostgreSQL's jsonb refuses NUL (\\u0000): it becomes U+FFFD, never a 500."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


def _events(body: bytes) -> list[IncomingEvent]:
    try:
        document = json.loads(body)
    except ValueError:
        raise InvalidInput("本文が JSON ではありません。", fields={"body": "JSON"}) from None
    raw = document.get("events") if isinstance(document, dict) else None
    if not isinstance(raw, list) or len(raw) > MAX_EVENTS:
        raise InvalidInput(fields={"events": "events の一覧がありません。"})
    out: list[IncomingEvent] = []
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidInput(fields={"events": "イベントの形が違います。"})
        event_id = item.get("webhookEventId")
        kind = item.get("type")
        if not isinstance(event_id, str) or not 0 < len(event_id) <= 64 or "\x00" in event_id:
            raise InvalidInput(fields={"webhookEventId": "webhookEventId がありません。"})
        if not isinstance(kind, str) or not 0 < len(kind) <= 40 or "\x00" in kind:
            raise InvalidInput(fields={"type": "type がありません。"})
        context: Any = item.get("deliveryContext") or {}
        redelivery = bool(context.get("isRedelivery")) if isinstance(context, dict) else False
        out.append(IncomingEvent(event_id, kind, redelivery, _storable(item)))
    return out


async def receive(db: AsyncSession, settings: Settings, body: bytes, signature: str | None) -> int:
    """Store the request's new events (a redelivered one is already there: skipped) and queue
    their processing after commit. How many were new."""
    if not settings.line_enabled:
        raise NotFound("LINE は設定されていません。", code="line_off")
    if not signature_valid(settings, body, signature):
        # Never the body: it holds user ids and what people wrote.
        log.warning(
            "line_webhook_bad_signature", signature_present=bool(signature), bytes=len(body)
        )
        raise AuthenticationRequired("署名が正しくありません。", code="line_signature_invalid")
    events = _events(body)
    new_ids = await LineRepository(db).store_events(events)
    queue_processing(db, new_ids)
    if len(new_ids) < len(events):
        log.info("line_webhook_redelivered", skipped=len(events) - len(new_ids))
    return len(new_ids)
