"""The rules of the outbox: which notice becomes a mail, when, and how often it is tried.

Sending is at least once, with a Message-ID that never changes, in three short transactions:
1. take a lease: the notice becomes "sending" until now + LEASE (committed before any SMTP), with
   its Message-ID chosen and stored on the first attempt; a job that runs twice, or two workers
   racing, find it leased and do nothing;
2. hand the mail to the SMTP server (at most SEND_DEADLINE, well inside the lease);
3. as soon as the server has accepted it, and before saying goodbye, mark it sent.
A worker killed before the server accepted leaves the notice "sending"; once the lease runs out
the sweep (every 30 s) hands it to a worker again and it is sent then. Killed after the server
accepted but before step 3 committed (a window of one UPDATE), the mail goes out twice with the
same Message-ID, so the receiving side can drop the copy."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from enum import StrEnum

import aiosmtplib
import structlog
from jinja2 import TemplateError
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.calendars import service as calendars
from service.domain.indicators.survey import SURVEYED_KINDS
from service.domain.indicators.survey import VALID_DAYS as SURVEY_VALID_DAYS
from service.domain.notifications.call_scripts import CALL_KINDS
from service.domain.notifications.calls import facts_with_address, needs_call, open_call_task
from service.domain.notifications.mail import (
    BadAddress,
    build_message,
    new_message_id,
    recipient,
    render,
    smtp_session,
)
from service.domain.notifications.models import Notification
from service.domain.notifications.repository import MailFacts, NotificationRepository
from service.jobs import enqueue_after_commit
from service.local_time import TOKYO
from service.settings import Settings

log = structlog.get_logger("service.notifications")

SEND_JOB = "send_notification"
# Mails that confirm a seat, or change its time or place, carry the booking's .ics beside its
# link (the same UID, a higher SEQUENCE after a change: calendars replace the entry); mails that
# take it away carry a cancelling one (METHOD:CANCEL), which removes it.
CALENDAR_ATTACHED = frozenset({"booking_confirmed", "booking_promoted", "session_changed"})
CALENDAR_CANCELLED = frozenset({"booking_cancelled", "session_cancelled"})
# Waits after the 1st, 2nd, ... failed attempt; after the last the notice is failed (and the
# person goes on the call list). Together a little over a day: an SMTP outage of a night or a
# weekend day loses no mail.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(hours=8),
    timedelta(hours=8),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
SWEEP_LIMIT = 500
# A worker may talk to the SMTP server for SEND_DEADLINE; its lease lasts longer, so a lease that
# ran out means the worker is gone, never that it is still sending.
SEND_DEADLINE = timedelta(seconds=30)
LEASE = timedelta(seconds=45)
# A notice this fresh most likely still has the job enqueued after its commit on its way.
SWEEP_SETTLE = timedelta(seconds=20)

# A transaction of the caller's (a worker job's): commits when the block ends without error.
UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class Outcome(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"
    RETRY = "retry"
    FAILED = "failed"
    NOTHING_TO_DO = "nothing_to_do"


def send_job_id(notification_id: int) -> str:
    return f"notify:{notification_id}"


def queue_pending(
    session: AsyncSession, notification_ids: Sequence[int], job_suffix: str = ""
) -> None:
    """Have the workers send these notices once `session` commits (the booking core calls this
    right after writing them). Lost enqueues are picked up by the sweep, which passes a suffix of
    its own: a job id of a killed worker stays blocked in arq until its in-progress key expires,
    and the sweep's fresh ids get past it (a job that finds nothing to send does nothing)."""
    for notification_id in notification_ids:
        job_id = send_job_id(notification_id) + job_suffix
        enqueue_after_commit(session, SEND_JOB, job_id, notification_id)


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
    if kind == "session_changed" and facts.booking_status == "cancelled":
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


@dataclass(frozen=True)
class Leased:
    """A notice this worker holds the lease on, with the mail to send."""

    notice: Notification
    message: EmailMessage


async def _take(db: AsyncSession, settings: Settings, notification_id: int) -> Leased | Outcome:
    """Step 1: the lease, and every decision that needs no SMTP server (skip, render)."""
    repo = NotificationRepository(db)
    notice = await repo.take_lease(
        notification_id, LEASE, new_message_id(settings, notification_id)
    )
    if notice is None:
        return Outcome.NOTHING_TO_DO
    facts = await repo.mail_facts(notice.booking_id)
    if facts is None:
        await repo.mark_skipped(notice, "booking_missing")
        return Outcome.SKIPPED
    now = clock.now()
    reason = skip_reason(notice.kind, facts, now)
    if reason is None:
        try:
            to = recipient(facts.email or "")
        except BadAddress:
            reason = "invalid_email"
    if reason is not None:
        await repo.mark_skipped(notice, reason)
        log.info("notification_skipped", id=notice.id, kind=notice.kind, reason=reason)
        if (
            reason in ("no_email", "invalid_email")
            and needs_call(notice.kind, facts, notice.payload)
            and skip_reason(notice.kind, facts_with_address(facts), now) is None
        ):
            # Nobody to mail: the desk phones them instead (電話連絡リスト).
            await open_call_task(
                db,
                notification_id=notice.id,
                kind=notice.kind,
                facts=facts,
                reason="no_email",
                now=now,
                payload=notice.payload,
            )
        return Outcome.SKIPPED
    calendar = None
    if notice.kind in CALENDAR_ATTACHED:
        calendar = await calendars.booking_calendar_file(db, settings, facts.code)
    elif notice.kind in CALENDAR_CANCELLED:
        calendar = await calendars.booking_calendar_file(db, settings, facts.code, cancel=True)
    try:
        rendered = render(notice.kind, facts, settings, notice.payload)
        message = build_message(
            rendered,
            to,
            settings,
            notice.message_id or "",
            calendar=calendar,
            calendar_method="CANCEL" if notice.kind in CALENDAR_CANCELLED else "PUBLISH",
        )
    except (TemplateError, KeyError, ValueError) as exc:
        # A broken template fails the same way every time: no retries.
        await repo.mark_failed_attempt(notice, f"render: {exc!r}", None)
        log.error("notification_render_failed", id=notice.id, kind=notice.kind, error=repr(exc))
        return Outcome.FAILED
    return Leased(notice, message)


async def deliver(unit_of_work: UnitOfWork, settings: Settings, notification_id: int) -> Outcome:
    """Send one notice if it is due (see the module's docstring for the steps)."""
    async with unit_of_work() as db:
        taken = await _take(db, settings, notification_id)
    if isinstance(taken, Outcome):
        return taken
    notice = taken.notice
    accepted = False
    marked: bool | None = None
    try:
        async with asyncio.timeout(SEND_DEADLINE.total_seconds()):
            async with smtp_session(settings) as smtp:
                await smtp.send_message(taken.message)
                accepted = True
                async with unit_of_work() as db:
                    marked = await NotificationRepository(db).mark_sent(notice)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        if not accepted:
            return await _record_failure(unit_of_work, notice, exc)
        if marked is None:
            raise  # the database, not SMTP: the lease runs out and the mail goes again
        # Only the goodbye ran out of time: the mail is accepted and recorded.
    if not marked:
        log.warning("notification_lease_lost", id=notice.id, message_id=notice.message_id)
    log.info("notification_sent", id=notice.id, kind=notice.kind)
    return Outcome.SENT


async def _record_failure(
    unit_of_work: UnitOfWork, notice: Notification, exc: BaseException
) -> Outcome:
    permanent = isinstance(exc, aiosmtplib.SMTPException) and _is_permanent(exc)
    retry_in = None if permanent else _retry_in(notice.attempts)
    async with unit_of_work() as db:
        repo = NotificationRepository(db)
        await repo.mark_failed_attempt(notice, f"smtp: {exc!r}", retry_in)
        facts = await repo.mail_facts(notice.booking_id)
        if retry_in is None and facts is not None and notice.kind in CALL_KINDS:
            # Failed for good: the person still has to be told, so the desk phones them
            # (not about the survey: nobody is phoned about that).
            await open_call_task(
                db,
                notification_id=notice.id,
                kind=notice.kind,
                facts=facts,
                reason="mail_failed",
                now=clock.now(),
                payload=notice.payload,
            )
    log.warning(
        "notification_send_failed",
        id=notice.id,
        attempts=notice.attempts + 1,
        retry_in=str(retry_in) if retry_in else None,
        error=repr(exc),
    )
    return Outcome.RETRY if retry_in is not None else Outcome.FAILED


async def queue_due(db: AsyncSession, now: float, limit: int = SWEEP_LIMIT) -> int:
    """Queue (after commit) a job for every notice that is due. Fresh notices keep their usual job
    id, so this and the job from their commit are one job. Older ones, and lapsed leases, get job
    ids of this minute: the usual id may belong to a killed worker, and arq keeps such an id
    blocked for minutes (a second job for a notice that is sent meanwhile does nothing)."""
    due = await NotificationRepository(db).due_ids(limit, SWEEP_SETTLE)
    queue_pending(db, [i for i, fresh in due if fresh])
    queue_pending(db, [i for i, fresh in due if not fresh], job_suffix=f":sweep:{int(now // 60)}")
    return len(due)


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
    """The reminders that are due (each event's days before, at 9:00 Tokyo) for confirmed
    bookings of sessions yet to start: each at most once per booking and day. After a worker
    outage only the latest due one goes out (not a 3-day and a 1-day reminder together), and
    none for a booking confirmed after it was due (its confirmation said it all). Queues them
    for sending after the caller commits."""
    ids = await NotificationRepository(db).add_reminders(now)
    queue_pending(db, ids)
    return ids
