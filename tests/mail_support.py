"""Helpers for the mail and worker tests: a real SMTP server on loopback (aiosmtpd), a real arq
worker in burst mode with the service's own functions, and booking data made by the core."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, time, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.worker import Worker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.devtools.embedded_servers import free_port
from service.domain.bookings.schemas import BookingView, ValidBooking
from service.domain.bookings.service import book
from service.domain.events.models import EventSession
from service.platform.jobs import JobDispatcher, enqueue_after_commit_jobs
from service.platform.local_time import TOKYO
from service.platform.settings import Settings
from tests.factories import make_event, make_session, make_venue
from workers.context import close_context, open_context
from workers.schedule import FUNCTIONS

REFUSED_PREFIX = "nobody@"


class Mailbox:
    """An aiosmtpd handler that keeps every accepted message; RCPT to nobody@... gets a 550."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        # The client's (address, port) per message: one per SMTP connection it came over.
        self.peers: list[object] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.startswith(REFUSED_PREFIX):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = message_from_bytes(raw, policy=default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        self.peers.append(session.peer)
        return "250 Message accepted for delivery"


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def with_smtp_port(settings: Settings, port: int) -> Settings:
    return dataclasses.replace(settings, smtp_port=port)


def dead_smtp(settings: Settings) -> Settings:
    """SMTP settings pointing at a loopback port where nothing listens."""
    return dataclasses.replace(settings, smtp_port=free_port())


# The dispatchers of the apps a test has open: a request's jobs reach Redis from a background
# task a moment after the response, and a burst worker started before they arrive finds an
# empty queue and stops (test_matching_indicators failed so in CI).
_OPEN_DISPATCHERS: list[JobDispatcher] = []


@contextmanager
def open_dispatcher(dispatcher: JobDispatcher) -> Iterator[None]:
    _OPEN_DISPATCHERS.append(dispatcher)
    try:
        yield
    finally:
        _OPEN_DISPATCHERS.remove(dispatcher)


async def run_worker(settings: Settings) -> Worker:
    """The service's real functions in a real arq Worker, until the queue is empty (after every
    open app has sent the jobs its requests made)."""
    for dispatcher in list(_OPEN_DISPATCHERS):
        await dispatcher.flush()

    async def startup(ctx: dict[str, Any]) -> None:
        await open_context(ctx, settings)

    worker = Worker(
        functions=FUNCTIONS,
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        queue_name="arq:queue",
        burst=True,
        poll_delay=0.01,
        handle_signals=False,
        on_startup=startup,
        on_shutdown=close_context,
    )
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker


@asynccontextmanager
async def worker_context(settings: Settings) -> AsyncIterator[dict[str, Any]]:
    """The ctx a worker hands to crons, for calling them the way arq does."""
    redis = await create_pool(
        RedisSettings.from_dsn(settings.redis_url), default_queue_name="arq:queue"
    )
    ctx: dict[str, Any] = {"redis": redis}
    await open_context(ctx, settings)
    try:
        yield ctx
    finally:
        await close_context(ctx)
        await redis.aclose()


@asynccontextmanager
async def arq_pool(settings: Settings) -> AsyncIterator[ArqRedis]:
    redis = await create_pool(
        RedisSettings.from_dsn(settings.redis_url), default_queue_name="arq:queue"
    )
    try:
        yield redis
    finally:
        await redis.aclose()


def tokyo_day(days_ahead: int) -> datetime:
    """Midnight in Tokyo, `days_ahead` days after today in Tokyo."""
    today = datetime.now(UTC).astimezone(TOKYO).date()
    return datetime.combine(today + timedelta(days=days_ahead), time(0), tzinfo=TOKYO)


async def session_at(
    db: AsyncSession,
    starts: datetime,
    *,
    title: str = "介護のお仕事説明会",
    capacity: int = 15,
    waitlist_limit: int = 10,
) -> EventSession:
    """A published session starting at `starts` (for five hours), open for booking now."""
    event = await make_event(db, title=title, kind="job_fair", sector="care")
    event.what_to_bring = "筆記用具"
    venue = await make_venue(db)
    return await make_session(
        db,
        event=event,
        venue=venue,
        capacity=capacity,
        waitlist_limit=waitlist_limit,
        starts_in=starts - datetime.now(UTC),
        closes_before_start=timedelta(minutes=30),
    )


async def book_and_commit(
    db: AsyncSession, redis: ArqRedis, session_id: int, who: ValidBooking
) -> BookingView:
    """What a booking request does: the core books, the request commits, then the jobs the
    core queued are enqueued."""
    view = await book(db, session_id, who)
    await db.commit()
    await enqueue_after_commit_jobs(db, redis)
    return view


async def notices(db: AsyncSession, booking_id: int) -> list[dict[str, Any]]:
    rows = await db.execute(
        text(
            "SELECT id, kind, status, attempts, last_error, sent_at, send_after "
            "FROM notifications WHERE booking_id = :b ORDER BY id"
        ),
        {"b": booking_id},
    )
    return [dict(r._mapping) for r in rows]
