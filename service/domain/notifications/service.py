"""The rules of the outbox: which notice becomes a mail, when, and how often it is tried.

A notice is claimed with a row lock (SKIP LOCKED) and the mail is sent while the lock is held,
then the row is marked in the same transaction: a job that runs twice, or two workers racing,
send at most one mail. A crash between the SMTP hand-over and the commit can still resend; the
Message-ID stays the same so receiving servers may drop the copy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from enum import StrEnum

import aiosmtplib
import structlog
from jinja2 import TemplateError
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.indicators.survey import SURVEYED_KINDS
from service.domain.indicators.survey import VALID_DAYS as SURVEY_VALID_DAYS
from service.domain.notifications.mail import BadAddress, build_message, recipient, render, send
from service.domain.notifications.repository import MailFacts, NotificationRepository
from service.jobs import enqueue_after_commit
from service.local_time import TOKYO
from service.settings import Settings

log = structlog.get_logger("service.notifications")

SEND_JOB = "send_notification"
MAX_ATTEMPTS = 5
# Waits after the 1st, 2nd, ... failed attempt; after MAX_ATTEMPTS the notice is failed.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
)
SWEEP_LIMIT = 500


class Outcome(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"
    RETRY = "retry"
    FAILED = "failed"
    NOTHING_TO_DO = "nothing_to_do"


def send_job_id(notification_id: int) -> str:
    return f"notify:{notification_id}"


def queue_pending(session: AsyncSession, notification_ids: Sequence[int]) -> None:
    """Have the workers send these notices once `session` commits (the booking core calls this
    right after writing them). Lost enqueues are picked up by the minute sweep."""
    for notification_id in notification_ids:
        enqueue_after_commit(session, SEND_JOB, send_job_id(notification_id), notification_id)


def skip_reason(kind: str, facts: MailFacts, now: datetime) -> str | None:
    """Why this notice should not be mailed now, judged on the booking as it is at send time
    (a late confirmation of a booking cancelled meanwhile would only confuse)."""
    if not facts.email or not facts.email.strip():
        return "no_email"
    if kind in ("booking_cancelled", "session_cancelled"):
        return None
    if kind == "survey":
        # Sent after the session; pointless once the link has expired.
        if facts.ends_at + timedelta(days=SURVEY_VALID_DAYS) <= now:
            return "survey_expired"
        return None
    if facts.session_status == "cancelled":
        return "session_cancelled"
    if kind == "booking_waitlisted" and facts.booking_status != "waitlisted":
        return "superseded"
    if kind in ("booking_confirmed", "booking_promoted", "reminder") and (
        facts.booking_status != "confirmed"
    ):
        return "superseded"
    if kind == "reminder" and facts.starts_at <= now:
        return "session_started"
    if facts.ends_at <= now:
        return "session_over"
    return None


def _retry_in(attempts_before: int) -> timedelta | None:
    attempt = attempts_before + 1
    if attempt >= MAX_ATTEMPTS:
        return None
    return RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1]


def _is_permanent(exc: aiosmtplib.SMTPException) -> bool:
    """5xx answers (unknown mailbox, refused address) will not get better by retrying."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(r.code >= 500 for r in exc.recipients)
    return isinstance(exc, aiosmtplib.SMTPResponseException) and exc.code >= 500


async def deliver(db: AsyncSession, settings: Settings, notification_id: int) -> Outcome:
    """Send one notice if it is pending and due. The caller commits."""
    repo = NotificationRepository(db)
    notice = await repo.claim(notification_id)
    if notice is None:
        return Outcome.NOTHING_TO_DO
    facts = await repo.mail_facts(notice.booking_id)
    if facts is None:
        await repo.mark_skipped(notice, "booking_missing")
        return Outcome.SKIPPED
    reason = skip_reason(notice.kind, facts, clock.now())
    if reason is None:
        try:
            to = recipient(facts.email or "")
        except BadAddress:
            reason = "invalid_email"
    if reason is not None:
        await repo.mark_skipped(notice, reason)
        log.info("notification_skipped", id=notice.id, kind=notice.kind, reason=reason)
        return Outcome.SKIPPED

    try:
        message = build_message(render(notice.kind, facts, settings), to, settings, notice.id)
    except (TemplateError, KeyError, ValueError) as exc:
        # A broken template fails the same way every time: no retries.
        await repo.mark_failed_attempt(notice, f"render: {exc!r}", None)
        log.error("notification_render_failed", id=notice.id, kind=notice.kind, error=repr(exc))
        return Outcome.FAILED

    try:
        await send(message, settings)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        retry_in = (
            None
            if isinstance(exc, aiosmtplib.SMTPException) and _is_permanent(exc)
            else (_retry_in(notice.attempts))
        )
        await repo.mark_failed_attempt(notice, f"smtp: {exc!r}", retry_in)
        log.warning(
            "notification_send_failed",
            id=notice.id,
            attempts=notice.attempts,
            retry_in=str(retry_in) if retry_in else None,
            error=repr(exc),
        )
        return Outcome.RETRY if retry_in is not None else Outcome.FAILED

    await repo.mark_sent(notice)
    log.info("notification_sent", id=notice.id, kind=notice.kind)
    return Outcome.SENT


async def due_notification_ids(db: AsyncSession, limit: int = SWEEP_LIMIT) -> list[int]:
    return await NotificationRepository(db).due_ids(limit)


def tomorrow_in_tokyo(now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the next calendar day in Asia/Tokyo."""
    day = now.astimezone(TOKYO).date() + timedelta(days=1)
    start = datetime.combine(day, time(0), tzinfo=TOKYO)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=TOKYO)


def yesterday_in_tokyo(now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the previous calendar day in Asia/Tokyo."""
    day = now.astimezone(TOKYO).date() - timedelta(days=1)
    start = datetime.combine(day, time(0), tzinfo=TOKYO)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=TOKYO)


async def write_survey_invitations(db: AsyncSession, now: datetime) -> list[int]:
    """The day after an attended consultation or seminar: the satisfaction survey, once per
    booking. Queues them for sending after the caller commits."""
    ended_from, ended_before = yesterday_in_tokyo(now)
    ids = await NotificationRepository(db).add_survey_invitations(
        ended_from, ended_before, SURVEYED_KINDS
    )
    queue_pending(db, ids)
    return ids


async def write_reminders(db: AsyncSession, now: datetime) -> list[int]:
    """Reminder notices for confirmed bookings of sessions starting tomorrow (Tokyo), each
    at most once ever. Queues them for sending after the caller commits."""
    starts_from, starts_before = tomorrow_in_tokyo(now)
    ids = await NotificationRepository(db).add_reminders(starts_from, starts_before)
    queue_pending(db, ids)
    return ids
