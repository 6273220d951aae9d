"""The workers' side of the webhook: each stored event is processed once (claimed with SKIP
LOCKED, marked processed in the same transaction as its effects), then its reply is sent after
commit. Replies are best effort: a reply token works once and for about a minute, and a person
whose reply was lost taps again; nothing of the database depends on them."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from linebot.v3.messaging import Message
from linebot.v3.webhooks import (
    AccountLinkEvent,
    Event,
    FollowEvent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
)
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.bookings.normalize import format_code
from service.domain.bookings.service import cancel_found_booking, find_booking
from service.domain.errors import DomainError
from service.domain.line import messages
from service.domain.line.client import line_client
from service.domain.line.linking import finish_link, user_hash
from service.domain.line.repository import LineRepository
from service.domain.line.webhook import queue_processing
from service.platform.settings import Settings

log = structlog.get_logger("service.line.inbound")

UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]
# An event this fresh most likely still has its job on the way.
SWEEP_SETTLE = timedelta(seconds=20)
SWEEP_LIMIT = 500
MAX_ATTEMPTS = 5
# Processed events are kept this long (to look into a problem), then deleted: they hold user
# ids and what people wrote. The follows counted from them are kept apart, hashed.
EVENTS_KEPT = timedelta(days=30)


@dataclass
class Outgoing:
    """What to say once the event's transaction has committed."""

    reply_token: str | None = None
    messages: list[Message] = field(default_factory=list)
    # Issue a link token for this user first, and reply with our page's address.
    link_for: str | None = None


def _word(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip()


def _when(event: Event) -> datetime:
    millis = getattr(event, "timestamp", None)
    if isinstance(millis, int) and millis > 0:
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    return clock.now()


def _user(event: Event) -> str | None:
    source = getattr(event, "source", None)
    user_id = getattr(source, "user_id", None)
    return str(user_id) if user_id else None


async def _handle(
    db: AsyncSession, settings: Settings, row_event_id: str, event: Event
) -> Outgoing:
    repo = LineRepository(db)
    user = _user(event)
    out = Outgoing(reply_token=getattr(event, "reply_token", None))
    if user is None:
        return out  # a group or room: the desk's account is for one-to-one chats
    if isinstance(event, FollowEvent):
        await repo.add_follow(row_event_id, user_hash(settings, user), "follow", _when(event))
        await repo.set_following(user, True)
        out.messages.append(messages.welcome(settings.desk_name))
    elif isinstance(event, UnfollowEvent):
        await repo.add_follow(row_event_id, user_hash(settings, user), "unfollow", _when(event))
        await repo.set_following(user, False)
    elif isinstance(event, AccountLinkEvent):
        nonce = getattr(event.link, "nonce", None)
        ok = getattr(event.link, "result", None) == "ok"
        name = await finish_link(db, user, str(nonce)) if ok and nonce else None
        out.messages.append(messages.linked(name) if name is not None else messages.link_refused())
        if name is not None:
            log.info("line_linked")
    elif isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent):
        await _on_text(repo, settings, user, _word(event.message.text or ""), out)
    elif isinstance(event, PostbackEvent):
        await _on_postback(db, repo, user, str(event.postback.data or ""), out)
    return out


async def _on_text(
    repo: LineRepository, settings: Settings, user: str, word: str, out: Outgoing
) -> None:
    link = await repo.link_of_user(user)
    if word == messages.LINK_WORD:
        out.link_for = user
    elif word == messages.UNLINK_WORD:
        out.messages.append(messages.ask_unlink() if link else messages.not_linked())
    elif word in (messages.NEWS_STOP_WORD, messages.NEWS_START_WORD):
        consent = word == messages.NEWS_START_WORD
        if await repo.set_news_consent(user, consent):
            out.messages.append(messages.news_changed(consent))
        else:
            out.messages.append(messages.not_linked())
    else:
        out.messages.append(
            messages.help_text(settings.desk_name, settings.desk_phone, link is not None)
        )


async def _on_postback(
    db: AsyncSession, repo: LineRepository, user: str, data: str, out: Outgoing
) -> None:
    link = await repo.link_of_user(user)
    if data == "unlink":
        await repo.unlink_user(user)
        out.messages.append(messages.unlinked())
        return
    if data == "keep":
        out.messages.append(messages.plain("そのままにしました。"))
        return
    kind, _, raw_id = data.partition(":")
    if kind not in ("cancel", "cancel_yes") or not raw_id.isdigit() or len(raw_id) > 18:
        return
    if link is None:
        out.messages.append(messages.not_linked())
        return
    # Only the linked person's own booking; anyone else's id reads as unknown.
    own = await repo.booking_of_person(int(raw_id), link.person_id)
    if own is None:
        out.messages.append(messages.plain("ご予約が見つかりませんでした。"))
        return
    code, phone = own
    try:
        booking = await find_booking(db, code, phone)
        if kind == "cancel":
            what = f"予約番号 {format_code(code)}"
            out.messages.append(messages.ask_cancel(int(raw_id), what))
            return
        await cancel_found_booking(db, booking, reason="LINEから取り消し")
    except DomainError as exc:
        out.messages.append(messages.plain(exc.message))
        return
    out.messages.append(messages.cancelled(format_code(code)))


async def process_event(uow: UnitOfWork, settings: Settings, event_row_id: int) -> str:
    """One stored event, its effects and its "processed" mark in one transaction. Safe to run
    twice: the second run finds it processed (or claimed by the first, and moves on)."""
    try:
        async with uow() as db:
            repo = LineRepository(db)
            row = await repo.claim_event(event_row_id)
            if row is None:
                return "nothing_to_do"
            try:
                event = Event.from_dict(row.payload)
            except (ValueError, TypeError) as exc:
                # An event type the SDK does not know (LINE adds some): kept, not retried.
                await repo.mark_processed(row.id, f"unparsed: {exc!r}"[:2000])
                return "unparsed"
            out = await _handle(db, settings, row.webhook_event_id, event)
            await repo.mark_processed(row.id)
    except Exception as exc:
        async with uow() as db:
            repo = LineRepository(db)
            row = await repo.claim_event(event_row_id)
            if row is not None and row.attempts + 1 >= MAX_ATTEMPTS:
                await repo.mark_processed(row.id, f"gave up: {exc!r}"[:2000])
            elif row is not None:
                await repo.mark_attempt_failed(row.id, repr(exc))
        log.error("line_event_failed", id=event_row_id, error=repr(exc))
        raise
    await _say(settings, out)
    return "processed"


async def _say(settings: Settings, out: Outgoing) -> None:
    if out.reply_token is None or (not out.messages and out.link_for is None):
        return
    if not settings.line_enabled:
        return  # events stored before LINE was turned off: counted, not answered
    async with line_client(settings) as client:
        if out.link_for is not None:
            token = await client.issue_link_token(out.link_for)
            if token is None:
                out.messages.append(messages.link_failed(settings.desk_phone))
            else:
                url = f"{settings.base_url}/line/link?linkToken={token}"
                out.messages.append(messages.link_invitation(url))
        await client.reply(out.reply_token, out.messages[:5])


async def queue_unprocessed(db: AsyncSession, now: float) -> int:
    """The minute's sweep: events whose job was lost (Redis away, a worker killed)."""
    ids = await LineRepository(db).unprocessed_ids(SWEEP_SETTLE, SWEEP_LIMIT)
    queue_processing(db, ids, suffix=f":sweep:{int(now // 60)}")
    return len(ids)


async def purge_old(db: AsyncSession) -> dict[str, int]:
    now = clock.now()
    return await LineRepository(db).purge(now - EVENTS_KEPT, now)
