"""Mail delivery as staff see it: each booking's notices (what, when, failures and why), the
failed mails, and sending them again (one, or all after an outage)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.access import require_booking
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import record
from service.domain.errors import NotFound
from service.domain.notifications.repository import MailHistoryRepository, MailRecord
from service.domain.notifications.service import queue_pending

MAIL_KINDS = {
    "booking_confirmed": "予約の確認",
    "booking_waitlisted": "キャンセル待ちの受付",
    "booking_promoted": "キャンセル待ちから確定",
    "booking_cancelled": "取消の確認",
    "session_cancelled": "開催中止",
    "session_changed": "変更のお知らせ",
    "booking_changed": "予約内容の変更",
    "reminder": "事前のお知らせ",
    "survey": "アンケートのお願い",
}
MAIL_STATUSES = {
    "pending": "送信待ち",
    "sending": "送信中",
    "sent": "送信済",
    "skipped": "送らず",
    "failed": "送信できず",
}
SKIP_REASONS = {
    "no_email": "メールアドレスなし",
    "invalid_email": "メールアドレスの誤り",
    "superseded": "状況が変わったため不要",
    "session_cancelled": "開催中止のため不要",
    "session_started": "開始後のため不要",
    "session_over": "終了後のため不要",
    "booking_missing": "予約なし",
}


def _org(actor: Actor) -> int | None:
    return None if actor.sees_everything else actor.organization_id or -1


async def booking_mails(db: AsyncSession, actor: Actor, booking_id: int) -> list[MailRecord]:
    await require_booking(db, actor, booking_id)
    return await MailHistoryRepository(db).of_booking(booking_id)


async def failed_mails(db: AsyncSession, actor: Actor) -> list[MailRecord]:
    return await MailHistoryRepository(db).failed(_org(actor))


async def waiting_mails(db: AsyncSession, actor: Actor) -> list[MailRecord]:
    """Mails an SMTP failure put off until their next attempt (1, 5, 15 minutes ... later)."""
    return await MailHistoryRepository(db).waiting_for_retry(_org(actor))


async def send_waiting_now(db: AsyncSession, actor: Actor) -> list[int]:
    """Every mail this staff member may see that waits for its next attempt, sent now (after
    the caller commits): the mail server is back and nobody should wait for the timer."""
    ids = await MailHistoryRepository(db).send_waiting_now(_org(actor))
    queue_pending(db, ids, job_suffix=f":now:{int(clock.now().timestamp())}")
    if ids:
        await record(
            db,
            actor,
            "mail.send_now",
            "notification",
            ids[0] if len(ids) == 1 else None,
            after={"notifications": ids},
        )
    return ids


async def retry_mail(db: AsyncSession, actor: Actor, notification_id: int) -> list[int]:
    """Sends one failed mail again (after the caller commits)."""
    repo = MailHistoryRepository(db)
    booking_id = await repo.booking_of(notification_id)
    if booking_id is None:
        raise NotFound("そのメールは見つかりません。", code="notification_not_found")
    try:
        await require_booking(db, actor, booking_id)
    except NotFound:
        raise NotFound("そのメールは見つかりません。", code="notification_not_found") from None
    return await _retry(db, actor, [notification_id])


async def retry_all_failed(db: AsyncSession, actor: Actor) -> list[int]:
    """Every failed mail this staff member may see, again: after an SMTP outage."""
    failed = await MailHistoryRepository(db).failed(_org(actor), limit=5000)
    return await _retry(db, actor, [m.id for m in failed])


async def _retry(db: AsyncSession, actor: Actor, ids: list[int]) -> list[int]:
    retried = await MailHistoryRepository(db).retry(ids)
    queue_pending(db, retried)
    if retried:
        await record(
            db,
            actor,
            "mail.retry",
            "notification",
            retried[0] if len(retried) == 1 else None,
            after={"notifications": retried},
        )
    return retried
