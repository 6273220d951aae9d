"""Campaign mail in batches: the workers lease a batch of mail targets in one statement, send
them over a few SMTP connections kept open for the batch (CONCURRENCY at a time), and mark the
whole batch sent or back to pending in one statement. A worker that dies mid-batch leaves its
lease to expire; the next run sends those again (a receiving server sees the same Message-ID).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.followups.repository import FollowUpRepository
from service.domain.followups.schemas import MailLease
from service.domain.followups.tokens import form_path, last_day
from service.domain.notifications.formatting import one_line
from service.domain.notifications.mail import (
    BadAddress,
    MailBytes,
    RenderedMail,
    mail_templates,
    message_id_domain,
    recipient,
    smtp_session,
)
from service.platform.settings import Settings

BATCH = 200
CONCURRENCY = 10
LEASE_SECONDS = 300
MAX_ATTEMPTS = 3
SUBJECT = "就業状況のおたずね（ご協力のお願い）"


@dataclass(slots=True)
class BatchOutcome:
    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def render(lease: MailLease, settings: Settings) -> RenderedMail:
    context = {
        "name": lease.name.strip(),
        "form_url": settings.base_url + form_path(settings, lease.target_id, lease.sent_at),
        "expires": f"{last_day(lease.sent_at):%-m月%-d日}",
        "settings_url": settings.base_url + "/my",
        "site_url": settings.base_url + "/",
        "desk": {
            "name": settings.desk_name,
            "phone": settings.desk_phone,
            "hours": settings.desk_hours,
        },
    }
    body = mail_templates().get_template("follow_up.txt").render(context)
    return RenderedMail(one_line(f"【{settings.desk_name}】{SUBJECT}", 150), body)


def follow_up_mail(raw: MailBytes, lease: MailLease, settings: Settings) -> tuple[str, bytes]:
    """(the recipient, the whole message); BadAddress for an address that cannot be mailed."""
    to = recipient(lease.email)
    domain = message_id_domain(settings)
    message_id = f"<follow-up-{lease.target_id}.{secrets.token_hex(6)}@{domain}>"
    return str(to), raw.build(render(lease, settings), to, message_id)


async def lease_batch(db: AsyncSession, campaign_id: int, limit: int = BATCH) -> list[MailLease]:
    repo = FollowUpRepository(db)
    await repo.drop_unmailable(campaign_id)
    return await repo.lease_mail(campaign_id, limit, LEASE_SECONDS)


async def deliver(
    settings: Settings, leases: list[MailLease], concurrency: int = CONCURRENCY
) -> BatchOutcome:
    """Sends the batch over up to `concurrency` connections, each reused for its share."""
    outcome = BatchOutcome()
    raw = MailBytes(settings)
    queue: asyncio.Queue[MailLease] = asyncio.Queue()
    for lease in leases:
        queue.put_nowait(lease)

    def failed(lease: MailLease, error: str) -> None:
        outcome.failed.append(lease.target_id)
        outcome.errors.append(error[:500])

    async def lane() -> None:
        broken = 0
        while not queue.empty():
            try:
                async with smtp_session(settings) as client:
                    broken = 0
                    while not queue.empty():
                        lease = queue.get_nowait()
                        try:
                            to, message = follow_up_mail(raw, lease, settings)
                        except BadAddress:
                            failed(lease, "bad address")
                            continue
                        try:
                            await client.sendmail(raw.sender, [to], message)
                        except aiosmtplib.SMTPRecipientsRefused as exc:
                            failed(lease, repr(exc))
                            continue
                        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                            failed(lease, repr(exc))
                            raise
                        outcome.sent.append(lease.target_id)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                # The connection is gone: one new one is tried; when that fails too, the rest
                # of this lane's share waits for a later run (each attempt counted).
                broken += 1
                if broken >= 2:
                    while not queue.empty():
                        failed(queue.get_nowait(), repr(exc))
                    return
                await asyncio.sleep(0.2)

    await asyncio.gather(*(lane() for _ in range(max(1, min(concurrency, len(leases))))))
    return outcome


async def record_batch(db: AsyncSession, outcome: BatchOutcome) -> None:
    repo = FollowUpRepository(db)
    if outcome.sent:
        await repo.mark_mailed(outcome.sent)
    if outcome.failed:
        await repo.mark_unsent(outcome.failed, outcome.errors, MAX_ATTEMPTS)


async def finish(db: AsyncSession, campaign_id: int) -> bool:
    """'sent' once no mail is left to try; True then."""
    repo = FollowUpRepository(db)
    if await repo.mail_left(campaign_id):
        return False
    campaign = await repo.campaign(campaign_id, lock=True)
    if campaign is not None and campaign.status == "sending":
        campaign.status = "sent"
        await repo.refresh(campaign)
    return True


async def sending_campaigns(db: AsyncSession) -> list[int]:
    return [c.id for c in await FollowUpRepository(db).campaigns(50) if c.status == "sending"]
