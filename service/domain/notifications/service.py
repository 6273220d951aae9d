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
same Message-ID, so the receiving side can drop the copy.

The database down at step 3 is not such a window: the lease is a time in the database, and an
outage longer than it (45 s) let the sweep after the restart take the notice again and send the
mail a second time (8 confirmations went out twice, 50-55 s apart, after a PostgreSQL stop).
So a mail the server accepted but the database could not record is remembered outside the
database (Receipts: a key in the workers' Redis, kept a week), and whoever takes the notice next
records it as sent without sending it again.

After an SMTP outage, mail waiting for its next attempt (1, 5, 15 minutes ... later) goes as soon
as the server answers again: the sweep knocks on the server while such mail waits, and brings
it all forward (retry_after_recovery)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from enum import StrEnum
from typing import Any, Protocol

import aiosmtplib
import structlog
from jinja2 import TemplateError
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.calendars import service as calendars
from service.domain.indicators.survey import SURVEYED_KINDS
from service.domain.indicators.survey import VALID_DAYS as SURVEY_VALID_DAYS
from service.domain.matching import sending as matching_sending
from service.domain.notifications import line_channel
from service.domain.notifications.call_scripts import CALL_KINDS
from service.domain.notifications.calls import facts_with_address, needs_call, open_call_task
from service.domain.notifications.mail import (
    BadAddress,
    MailBytes,
    build_message,
    new_message_id,
    recipient,
    render,
    smtp_session,
)
from service.domain.notifications.models import Notification
from service.domain.notifications.repository import MailFacts, NotificationRepository
from service.platform.job_names import SEND_DUE_NOTICES, SEND_NOTIFICATION, send_notification_id
from service.platform.jobs import enqueue_after_commit
from service.platform.local_time import TOKYO
from service.platform.settings import Settings

log = structlog.get_logger("service.notifications")

# Mails that confirm a seat, or change its time or place, carry the booking's .ics beside its
# link (the same UID, a higher SEQUENCE after a change: calendars replace the entry); mails that
# take it away carry a cancelling one (METHOD:CANCEL), which removes it.
CALENDAR_ATTACHED = frozenset(
    {"booking_confirmed", "booking_promoted", "session_changed", "booking_changed"}
)
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
# Knocking on an SMTP server that may be back (retry_after_recovery).
PROBE_DEADLINE = timedelta(seconds=10)
# A notice this fresh most likely still has the job enqueued after its commit on its way.
SWEEP_SETTLE = timedelta(seconds=20)

# A transaction of the caller's (a worker job's): commits when the block ends without error.
UnitOfWork = Callable[[], AbstractAsyncContextManager[AsyncSession]]


class Receipts(Protocol):
    """Mails an SMTP server accepted that the database could not record as sent, kept outside
    the database (the workers' Redis)."""

    async def remember(self, notification_id: int, message_id: str) -> None: ...

    async def accepted(self, notification_id: int) -> bool: ...

    async def forget(self, notification_id: int) -> None: ...


class Outcome(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"
    RETRY = "retry"
    FAILED = "failed"
    NOTHING_TO_DO = "nothing_to_do"


def queue_pending(
    session: AsyncSession, notification_ids: Sequence[int], job_suffix: str = ""
) -> None:
    """Have the workers send these notices once `session` commits (the booking core calls this
    right after writing them). Lost enqueues are picked up by the sweep, which passes a suffix of
    its own: a job id of a killed worker stays blocked in arq until its in-progress key expires,
    and the sweep's fresh ids get past it (a job that finds nothing to send does nothing)."""
    for notification_id in notification_ids:
        job_id = send_notification_id(notification_id) + job_suffix
        enqueue_after_commit(session, SEND_NOTIFICATION, job_id, notification_id)


def queue_batch(session: AsyncSession, kind: str, notification_ids: Sequence[int]) -> None:
    """Have the workers send the notices a cron just wrote (thousands, on a busy morning) in
    batches (notifications/batches.py) once `session` commits: one job, named after the first
    of them, so a cron run twice makes one job."""
    if notification_ids:
        job_id = f"{SEND_DUE_NOTICES}:{kind}:{min(notification_ids)}"
        enqueue_after_commit(session, SEND_DUE_NOTICES, job_id, kind)


def skip_reason(kind: str, facts: MailFacts, now: datetime) -> str | None:
    """Why this notice should not be mailed now, judged on the booking as it is at send time
    (a late confirmation of a booking cancelled meanwhile would only confuse)."""
    if not facts.email or not facts.email.strip():
        return "no_email"
    if kind in ("booking_cancelled", "session_cancelled", "matching_matched"):
        # A match is recorded on the day or after it: told whenever it is.
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
    if kind in ("session_changed", "booking_changed") and facts.booking_status == "cancelled":
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
    """A notice this worker holds the lease on, with the mail to send (bytes when a batch
    built it, batches.py) and its recipient."""

    notice: Notification
    message: EmailMessage | bytes
    to: str


async def hand_over(smtp: aiosmtplib.SMTP, settings: Settings, mail: Leased) -> None:
    """The mail to the SMTP server; returns once the server has accepted it."""
    if isinstance(mail.message, bytes):
        await smtp.sendmail(parseaddr(settings.mail_from)[1], [mail.to], mail.message)
    else:
        await smtp.send_message(mail.message)


async def _take(
    db: AsyncSession, settings: Settings, notification_id: int
) -> Leased | line_channel.LinePlan | Outcome:
    """Step 1: the lease, and every decision that needs no SMTP server (LINE, skip, render)."""
    repo = NotificationRepository(db)
    notice = await repo.take_lease(
        notification_id, LEASE, new_message_id(settings, notification_id)
    )
    if notice is None:
        return Outcome.NOTHING_TO_DO
    return await decide(db, settings, notice, await repo.mail_facts(notice.booking_id))


async def decide(
    db: AsyncSession,
    settings: Settings,
    notice: Notification,
    facts: MailFacts | None,
    as_bytes: MailBytes | None = None,
) -> Leased | line_channel.LinePlan | Outcome:
    """For a notice this worker holds the lease on: skipped, sent by LINE (or to be pushed),
    or the mail to send."""
    repo = NotificationRepository(db)
    if facts is None:
        await repo.mark_skipped(notice, "booking_missing")
        return Outcome.SKIPPED
    if skip_reason(notice.kind, facts_with_address(facts), clock.now()) is None:
        # Still worth telling: by LINE first, for a linked person who prefers it.
        planned = await line_channel.plan(db, settings, notice, facts)
        if isinstance(planned, line_channel.LinePlan):
            return planned
        if planned is not None and planned.sent:
            await repo.mark_sent(notice)
            return Outcome.SENT
    return await _prepare_mail(db, settings, notice, facts, as_bytes)


async def _prepare_mail(
    db: AsyncSession,
    settings: Settings,
    notice: Notification,
    facts: MailFacts,
    as_bytes: MailBytes | None = None,
) -> Leased | Outcome:
    repo = NotificationRepository(db)
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
                payload=await _call_payload(db, notice),
            )
        return Outcome.SKIPPED
    calendar = None
    extra: dict[str, object] | None = None
    if notice.kind in CALENDAR_ATTACHED:
        calendar = await calendars.booking_calendar_file(db, settings, facts.code)
    elif notice.kind in CALENDAR_CANCELLED:
        calendar = await calendars.booking_calendar_file(db, settings, facts.code, cancel=True)
    elif notice.kind == "matching_timetable":
        # The timetable as it is when the mail goes (one VEVENT per meeting attached).
        before = notice.payload.get("before")
        timetable = await matching_sending.participant_mail(
            db, facts.booking_id, settings.base_url, before if isinstance(before, list) else None
        )
        if timetable is None:
            await repo.mark_skipped(notice, "superseded")
            return Outcome.SKIPPED
        extra, calendar = timetable
    try:
        rendered = render(notice.kind, facts, settings, notice.payload, extra)
        message: EmailMessage | bytes
        if as_bytes is not None and calendar is None:
            message = as_bytes.build(rendered, to, notice.message_id or "")
        else:
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
    return Leased(notice, message, str(to))


async def deliver(
    unit_of_work: UnitOfWork,
    settings: Settings,
    notification_id: int,
    receipts: Receipts | None = None,
) -> Outcome:
    """Send one notice if it is due (see the module's docstring for the steps)."""
    async with unit_of_work() as db:
        taken = await _take(db, settings, notification_id)
    if isinstance(taken, line_channel.LinePlan):
        taken = await push_by_line(unit_of_work, settings, taken)
    if isinstance(taken, Outcome):
        return taken
    notice = taken.notice
    # Taken before (claims > 1): a server may already have accepted it while the database
    # could not record that. Then it is recorded now, not sent again.
    if receipts is not None and notice.claims > 1 and await receipts.accepted(notice.id):
        async with unit_of_work() as db:
            await NotificationRepository(db).mark_sent(notice)
        await receipts.forget(notice.id)
        log.info("notification_recorded_as_sent", id=notice.id, message_id=notice.message_id)
        return Outcome.SENT
    accepted = False
    marked: bool | None = None
    try:
        async with asyncio.timeout(SEND_DEADLINE.total_seconds()):
            async with smtp_session(settings) as smtp:
                await hand_over(smtp, settings, taken)
                accepted = True
                marked = await _mark_sent(unit_of_work, notice, receipts)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        if not accepted:
            return await record_failure(unit_of_work, notice, exc)
        if marked is None:
            raise  # the database, not SMTP: remembered in receipts, recorded when it is back
        # Only the goodbye ran out of time: the mail is accepted and recorded.
    if not marked:
        log.warning("notification_lease_lost", id=notice.id, message_id=notice.message_id)
    log.info("notification_sent", id=notice.id, kind=notice.kind)
    return Outcome.SENT


async def push_by_line(
    unit_of_work: UnitOfWork, settings: Settings, planned: line_channel.LinePlan
) -> Leased | Outcome:
    """Push (outside any transaction, under the notice's lease); sent, or on by mail."""
    result = await line_channel.push(settings, planned)
    async with unit_of_work() as db:
        await line_channel.record(db, planned, result)
        repo = NotificationRepository(db)
        if result.sent:
            if not await repo.mark_sent(planned.notice):
                log.warning("notification_lease_lost", id=planned.notice.id)
            log.info("notification_sent", id=planned.notice.id, kind=planned.notice.kind, by="line")
            return Outcome.SENT
        log.warning(
            "notification_line_failed",
            id=planned.notice.id,
            status=result.status,
            attempts=result.attempts,
        )
        if not await repo.extend_lease(planned.notice, LEASE):
            return Outcome.NOTHING_TO_DO  # another worker took it over meanwhile
        facts = await repo.mail_facts(planned.notice.booking_id)
        if facts is None:
            await repo.mark_skipped(planned.notice, "booking_missing")
            return Outcome.SKIPPED
        return await _prepare_mail(db, settings, planned.notice, facts)


async def _mark_sent(
    unit_of_work: UnitOfWork, notice: Notification, receipts: Receipts | None
) -> bool:
    """Step 3. When the database cannot take it (down, restarting), the acceptance is kept in
    receipts before the error goes on, so the mail is not sent again when it is back."""
    try:
        async with unit_of_work() as db:
            return await NotificationRepository(db).mark_sent(notice)
    except Exception as exc:
        if receipts is not None:
            try:
                await receipts.remember(notice.id, notice.message_id or "")
            except Exception:
                log.exception("notification_receipt_not_kept", id=notice.id)
            else:
                log.warning("notification_sent_not_recorded", id=notice.id, error=repr(exc)[:300])
        raise


async def retry_after_recovery(unit_of_work: UnitOfWork, settings: Settings) -> int:
    """While mail waits for a retry after an SMTP failure, knock on the server (connect, EHLO,
    QUIT); when it answers, every such mail is due now and queued. Returns how many."""
    async with unit_of_work() as db:
        if not await NotificationRepository(db).any_waiting_for_smtp():
            return 0
    try:
        async with asyncio.timeout(PROBE_DEADLINE.total_seconds()):
            async with smtp_session(settings) as smtp:
                await smtp.noop()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        log.info("smtp_still_down", error=repr(exc)[:200])
        return 0
    async with unit_of_work() as db:
        ids = await NotificationRepository(db).bring_forward_smtp_retries()
        queue_pending(db, ids, job_suffix=f":recovered:{int(clock.now().timestamp())}")
    if ids:
        log.info("smtp_recovered_mail_brought_forward", count=len(ids))
    return len(ids)


async def _call_payload(db: AsyncSession, notice: Notification) -> dict[str, Any]:
    """What the call script reads out: the notice's payload, and for a timetable the meetings
    as they are now (the mail lists them; the script must too)."""
    payload = dict(notice.payload or {})
    if notice.kind == "matching_timetable":
        payload["meetings"] = await matching_sending.participant_lines(db, notice.booking_id)
    return payload


async def record_failure(
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
                payload=await _call_payload(db, notice),
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
    queue_batch(db, "survey", ids)
    return ids


async def write_reminders(db: AsyncSession, now: datetime) -> list[int]:
    """The reminders that are due (each event's days before, at 9:00 Tokyo) for confirmed
    bookings of sessions yet to start: each at most once per booking and day. After a worker
    outage only the latest due one goes out (not a 3-day and a 1-day reminder together), and
    none for a booking confirmed after it was due (its confirmation said it all). Queues them
    for sending after the caller commits."""
    ids = await NotificationRepository(db).add_reminders(now)
    queue_batch(db, "reminder", ids)
    return ids
