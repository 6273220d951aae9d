"""News of a new event, sent by staff through the desk's LINE account: to linked people who
agreed to news and asked for its sector or kind (a multicast), or to every follower (a
broadcast, when staff choose it). Staff see the message and the count first; each event's news
goes once per audience. Who receives it is decided again when it is sent, so an unfollow or a
withdrawn consent in between is respected."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

import structlog
from linebot.v3.messaging import Message
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.access import require_role
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import record
from service.domain.errors import Conflict, InvalidInput
from service.domain.events.enums import EVENT_KINDS, SECTORS
from service.domain.events.schemas import EventView
from service.domain.events.service import get_event
from service.domain.line import messages
from service.domain.line.client import MULTICAST_MAX, line_client
from service.domain.line.models import NEWS_AUDIENCES
from service.domain.line.repository import LineRepository
from service.platform.job_names import SEND_LINE_NEWS
from service.platform.jobs import enqueue_after_commit
from service.platform.local_time import jp_date, jp_time
from service.platform.settings import Settings

log = structlog.get_logger("service.line.news")

SESSIONS_SHOWN = 3
UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass(frozen=True, slots=True)
class NewsPreview:
    event_id: int
    audience: str
    text: str
    recipients: int
    # None: never sent; else the earlier send's status (sending, sent, failed).
    status: str | None


def _audience(raw: str | None) -> str:
    value = (raw or "subscribers").strip()
    if value not in NEWS_AUDIENCES:
        raise InvalidInput(fields={"audience": "送り先は subscribers か broadcast です。"})
    return value


def news_text(event: EventView, settings: Settings) -> str:
    lines = [
        "【新しいイベントのお知らせ】",
        event.title.strip(),
        f"種類：{EVENT_KINDS.get(event.kind, '')}　分野：{SECTORS.get(event.sector, '')}",
    ]
    upcoming = [s for s in event.sessions if s.state not in ("cancelled", "past")]
    for s in upcoming[:SESSIONS_SHOWN]:
        lines.append(f"・{jp_date(s.starts_at)} {jp_time(s.starts_at)}〜 {s.venue.name.strip()}")
    if len(upcoming) > SESSIONS_SHOWN:
        lines.append(f"ほか{len(upcoming) - SESSIONS_SHOWN}回")
    if event.fee_yen == 0:
        lines.append("参加費：無料")
    lines += ["", f"ご予約・お問い合わせ：{settings.desk_name} {settings.desk_phone}"]
    lines.append(f"お知らせを止めるときは「{messages.NEWS_STOP_WORD}」と送ってください。")
    return "\n".join(lines)


def _message(event: EventView, settings: Settings) -> Message:
    url = f"{settings.base_url}/events/{event.id}"
    return messages.text(news_text(event, settings), [messages.Button("くわしく見る", uri=url)])


async def _recipients(db: AsyncSession, event: EventView, audience: str) -> list[str]:
    if audience == "broadcast":
        return []
    return await LineRepository(db).news_recipients(event.sector, event.kind)


async def preview(
    db: AsyncSession, settings: Settings, actor: Actor, event_id: int, audience: str | None
) -> NewsPreview:
    require_role(actor, "organizer")
    chosen = _audience(audience)
    event = await get_event(db, event_id)
    count = len(await _recipients(db, event, chosen))
    earlier = await LineRepository(db).news_send(event_id, chosen)
    return NewsPreview(
        event_id, chosen, news_text(event, settings), count, earlier.status if earlier else None
    )


async def request_send(
    db: AsyncSession, settings: Settings, actor: Actor, event_id: int, audience: str | None
) -> NewsPreview:
    """Queue the send (after commit). Refused when LINE is off or it was sent already; a send
    that failed may be asked for again (with its first retry key: LINE drops what it had)."""
    shown = await preview(db, settings, actor, event_id, audience)
    if not settings.line_enabled:
        raise Conflict("LINE が設定されていません。", code="line_off")
    if shown.audience == "subscribers" and shown.recipients == 0:
        raise Conflict("お知らせを希望している方がいません。", code="line_news_no_recipients")
    repo = LineRepository(db)
    send = await repo.claim_news_send(
        event_id, shown.audience, shown.recipients, str(uuid.uuid4()), actor.id
    )
    if send is None:
        earlier = await repo.news_send(event_id, shown.audience)
        if earlier is None or earlier.status != "failed":
            raise Conflict(
                "このイベントのお知らせは、すでに送っています。", code="line_news_already_sent"
            )
        await repo.retry_news_send(earlier.id)
        send = earlier
    await record(
        db,
        actor,
        "line.news",
        "event",
        event_id,
        after={"audience": shown.audience, "recipients": shown.recipients},
    )
    enqueue_after_commit(db, SEND_LINE_NEWS, f"line_news:{send.id}:{send.attempts}", send.id)
    return NewsPreview(event_id, shown.audience, shown.text, shown.recipients, "sending")


async def deliver(uow: UnitOfWork, settings: Settings, send_id: int) -> str:
    async with uow() as db:
        repo = LineRepository(db)
        send = await repo.news_send_by_id(send_id)
        if send is None or send.status != "sending":
            return "nothing_to_do"
        event = await get_event(db, send.event_id, include_unpublished=True)
        audience, retry_key = send.audience, send.retry_key
        to = await _recipients(db, event, audience)
        message = _message(event, settings)
    base = uuid.UUID(retry_key)
    async with line_client(settings) as client:
        if audience == "broadcast":
            results = [await client.broadcast([message], retry_key)]
        else:
            results = [
                # Each batch its own key, derived from the send's: a rerun repeats the same keys.
                await client.multicast(
                    to[i : i + MULTICAST_MAX], [message], str(uuid.uuid5(base, str(i)))
                )
                for i in range(0, len(to), MULTICAST_MAX)
            ]
    failed = [r for r in results if not r.sent]
    async with uow() as db:
        await LineRepository(db).finish_news_send(
            send_id,
            sent=not failed,
            error="; ".join(r.error or str(r.status) for r in failed)[:2000] or None,
        )
    log.info("line_news_sent", send_id=send_id, audience=audience, recipients=len(to))
    return "sent" if not failed else "failed"
