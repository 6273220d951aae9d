"""Mails from notices: Japanese plain text from templates/mail/<kind>.txt, headers built only
from cleaned values, sent with aiosmtplib."""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any

import aiosmtplib
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from service.domain import clock
from service.domain.bookings.normalize import format_code
from service.domain.calendars.tokens import calendar_path
from service.domain.email_address import UnmailableAddress, canonical_email
from service.domain.events.enums import EVENT_KINDS
from service.domain.events.session_changes import summary
from service.domain.indicators.survey import expires_on, survey_path
from service.domain.notifications.call_scripts import changes_of
from service.domain.notifications.formatting import jp_when, one_line
from service.domain.notifications.repository import MailFacts
from service.platform.local_time import TOKYO
from service.platform.settings import Settings

TEMPLATES = Path(__file__).resolve().parents[3] / "templates" / "mail"
SUBJECTS = {
    "booking_confirmed": "ご予約を承りました",
    "booking_waitlisted": "キャンセル待ちで受け付けました",
    "booking_promoted": "キャンセル待ちから予約が確定しました",
    "booking_cancelled": "ご予約を取り消しました",
    "session_cancelled": "開催中止のお知らせ",
    "reminder": "{day}のご予約のお知らせ",
    "survey": "アンケートのお願い",
    "session_changed": "【変更のお知らせ】{changed}が変わりました",
    "booking_changed": "【変更のお知らせ】ご予約の内容を変更しました",
    "matching_timetable": "面談の時間割のお知らせ",
    "matching_matched": "マッチング成立のお知らせ",
}
SMTP_TIMEOUT_SECONDS = 30


class BadAddress(ValueError):
    """The booking's e-mail address cannot be put in a To: header."""


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    body: str


@lru_cache(maxsize=1)
def mail_templates() -> Environment:
    """templates/mail/, for every area's mail (notices, follow-up campaigns)."""
    # Plain text: nothing to escape in the body; the headers never come from a template.
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=False,  # noqa: S701 - text/plain mail, never HTML
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def day_word(starts_at: datetime, now: datetime) -> str:
    """明日, あさって or N日後, counted in Tokyo days."""
    days = (starts_at.astimezone(TOKYO).date() - now.astimezone(TOKYO).date()).days
    if days <= 0:
        return "本日"
    return {1: "明日", 2: "あさって"}.get(days, f"{days}日後")


def render(
    kind: str,
    facts: MailFacts,
    settings: Settings,
    payload: Mapping[str, Any] | None = None,
    extra: Mapping[str, object] | None = None,
) -> RenderedMail:
    """The mail of a notice. `payload` is the notice's own: a change notice's before and after,
    or what staff changed in a booking (booking_changed's `changes`); `extra` holds what a
    matching day's notice adds (its meetings)."""
    day = day_word(facts.starts_at, clock.now())
    changes = changes_of(facts, payload) if kind == "session_changed" else []
    # What staff changed in the booking itself (its names, phone, party, needs).
    staff_changes = [str(c) for c in (payload or {}).get("changes") or []]
    online = facts.is_online or facts.venue_ward == "online"
    # The join link goes only to a confirmed booking (never to the waiting list).
    joins = online and facts.booking_status == "confirmed"
    context = {
        "name": facts.name.strip(),
        "code": format_code(facts.code),
        "title": facts.event_title.strip(),
        "kind_label": EVENT_KINDS.get(facts.event_kind, ""),
        "when": jp_when(facts.starts_at, facts.ends_at),
        "venue_name": facts.venue_name.strip(),
        "venue_address": "" if online else facts.venue_address.strip(),
        "access_notes": facts.access_notes.strip(),
        "online": online,
        "day": day,
        "join_url": (facts.join_url or "").strip() if joins else "",
        "join_instructions": (facts.join_instructions or "").strip() if joins else "",
        "what_to_bring": facts.what_to_bring.strip(),
        "contact": facts.contact.strip(),
        "waitlist_position": facts.waitlist_position,
        "status": facts.booking_status,
        "party_size": facts.party_size,
        "staff_changes": staff_changes if kind == "booking_changed" else [],
        "cancel_reason": (facts.session_cancel_reason or "").strip(),
        "changes": changes,
        "changed": summary(changes),
        # The look-up form opens with the code filled in: only the phone number is left to type.
        "lookup_url": f"{settings.base_url}/bookings/lookup?code={format_code(facts.code)}",
        "calendar_url": settings.base_url + calendar_path(facts.code, facts.calendar_token),
        "site_url": settings.base_url + "/",
        "survey_url": settings.base_url + survey_path(settings, facts.booking_id, facts.ends_at),
        "survey_expires": f"{expires_on(facts.ends_at):%-m月%-d日}",
        "desk": {
            "name": settings.desk_name,
            "phone": settings.desk_phone,
            "hours": settings.desk_hours,
        },
        # What a notice of another area adds (a matching day's timetable).
        **(extra or {}),
    }
    body = mail_templates().get_template(f"{kind}.txt").render(context)
    title = one_line(facts.event_title, 60)
    what = SUBJECTS[kind].format(day=day, changed=summary(changes))
    # 「：」 rather than （…）: titles often end in their own brackets, （…（…）） reads badly.
    subject = one_line(f"【{settings.desk_name}】{what}：{title}", 150)
    return RenderedMail(subject=subject, body=body)


def recipient(email: str) -> Address:
    """The To: address, by the same rule the booking forms apply (canonical_email): one plain
    addr-spec, no display names, no second address, no line breaks."""
    try:
        address = canonical_email(email)
    except UnmailableAddress:
        raise BadAddress(email) from None
    if address is None:
        raise BadAddress(email)
    return Address(addr_spec=address)


def new_message_id(settings: Settings, notification_id: int) -> str:
    """A Message-ID for a notice's first attempt (stored, then reused by every resend). The
    random part keeps two databases (test, staging) from ever sharing one."""
    domain = message_id_domain(settings)
    return f"<notification-{notification_id}.{secrets.token_hex(6)}@{domain}>"


def build_message(
    mail: RenderedMail,
    to: Address,
    settings: Settings,
    message_id: str,
    *,
    calendar: bytes | None = None,
    calendar_method: str = "PUBLISH",
) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(clock.now())
    # The same id on every attempt, so a receiving server can drop a resend after a crash.
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body, charset="utf-8")
    if calendar is not None:
        # Phones add it with one tap; METHOD:PUBLISH, so no client reads it as an invitation.
        # A cancellation's is METHOD:CANCEL: the entry it added goes away.
        message.add_attachment(
            calendar,
            maintype="text",
            subtype="calendar",
            filename="nextwork.ics",
            params={"method": calendar_method, "charset": "utf-8"},
        )
    return message


class MailBytes:
    """Mails of a batch as bytes, built fast. The email package's header parsing and folding
    cost more per mail than the SMTP exchange, so a batch's mails share their headers (one
    message build_message made per subject, so they are the same headers) but To and
    Message-ID, and each body is base64 of its own text. A mail to an address that is not plain
    ASCII goes the full way; one with an attachment is built by build_message."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sender = parseaddr(settings.mail_from)[1]
        self._heads: dict[str, bytes] = {}

    def _head(self, subject: str) -> bytes:
        head = self._heads.get(subject)
        if head is None:
            prototype = build_message(
                # A long Japanese body: the email package then encodes it as base64.
                RenderedMail(subject, "本文" * 100),
                recipient("to@example.invalid"),
                self.settings,
                "<id@example.invalid>",
            )
            lines = prototype.as_bytes().partition(b"\r\n\r\n")[0].split(b"\r\n")
            # Folded header lines start with whitespace and stay with their header.
            head = b"\r\n".join(
                line for line in lines if not line.lower().startswith((b"to:", b"message-id:"))
            )
            assert b"base64" in head.lower(), "the prototype's body must be base64"
            self._heads[subject] = head
        return head

    def build(self, mail: RenderedMail, to: Address, message_id: str) -> bytes:
        address = str(to)
        if not address.isascii():
            return build_message(mail, to, self.settings, message_id).as_bytes()
        body = base64.encodebytes(mail.body.encode()).replace(b"\n", b"\r\n")
        head = f"To: {address}\r\nMessage-ID: {message_id}\r\n".encode()
        return head + self._head(mail.subject) + b"\r\n\r\n" + body


@asynccontextmanager
async def smtp_session(settings: Settings) -> AsyncIterator[aiosmtplib.SMTP]:
    """A connected (and, when configured, STARTTLS'd and logged-in) SMTP client. The goodbye
    (QUIT) comes after the caller's block, so a sender can record a mail as sent as soon as the
    server has accepted it; a failed goodbye changes nothing."""
    client = await smtp_connect(settings)
    try:
        yield client
    finally:
        await smtp_goodbye(client)


async def smtp_connect(settings: Settings) -> aiosmtplib.SMTP:
    """A connected (STARTTLS'd, logged-in) client, for a sender that keeps it for many mails."""
    client = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password,
        start_tls=settings.smtp_starttls,
        timeout=SMTP_TIMEOUT_SECONDS,
    )
    await client.connect()
    return client


async def smtp_goodbye(client: aiosmtplib.SMTP) -> None:
    """QUIT; a failed goodbye changes nothing (what the server accepted stays accepted)."""
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()


def message_id_domain(settings: Settings) -> str:
    return parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
