"""Notices by LINE, for a person linked to the desk's LINE account who prefers it.

The worker holds the notice's lease (service.py) while it pushes. The push carries the notice's
X-Line-Retry-Key, chosen once and kept in line_deliveries: a worker killed after LINE accepted
pushes again with the same key, and LINE sends nothing twice. A push that fails (a 4xx other
than 429, or 429/5xx until the retries and LINE's Retry-After run out) is recorded, and the
notice goes on by mail as it would without LINE, then to the call list."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from linebot.v3.messaging import Message
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.normalize import format_code
from service.domain.events.enums import EVENT_KINDS
from service.domain.indicators.survey import survey_path
from service.domain.line import deliveries, messages
from service.domain.line.client import PushResult, line_client
from service.domain.notifications.call_scripts import changes_of
from service.domain.notifications.formatting import jp_when
from service.domain.notifications.models import Notification
from service.domain.notifications.repository import MailFacts
from service.platform.settings import Settings

HEADLINES = {
    "booking_confirmed": "ご予約を承りました。",
    "booking_waitlisted": "キャンセル待ちで受け付けました。",
    "booking_promoted": "キャンセル待ちでお申し込みの回に空きが出て、ご予約が確定しました。",
    "booking_cancelled": "ご予約を取り消しました。",
    "session_cancelled": "申し訳ありません。ご予約の回は開催中止になりました。",
    "reminder": "ご予約の日が近づきました。",
    "survey": "ご参加ありがとうございました。よろしければアンケートにお答えください。",
    "session_changed": "ご予約のイベントの日時・会場が変わりました。",
    "booking_changed": "窓口で、ご予約の内容を変更しました。変更後の内容をご確認ください。",
    "matching_matched": "面談した企業とのマッチングが成立しました。企業から連絡があります。",
}
# Notices about a booking that is still on: a 「キャンセルする」 button (which only asks).
CANCELLABLE = frozenset(
    {
        "booking_confirmed",
        "booking_waitlisted",
        "booking_promoted",
        "reminder",
        "session_changed",
        "booking_changed",
    }
)


@dataclass(frozen=True, slots=True)
class LinePlan:
    """A notice to push: to whom, what, and the key every try carries."""

    notice: Notification
    to: str
    retry_key: str
    delivery_id: int
    message: Message


def notice_message(
    kind: str, facts: MailFacts, settings: Settings, payload: Mapping[str, Any] | None = None
) -> Message:
    code = format_code(facts.code)
    lines = [f"{facts.name.strip()} 様", HEADLINES[kind]]
    if kind == "session_changed":
        # Before → after, item by item, as the mail and the call script say it.
        for item in changes_of(facts, payload):
            lines += [f"【{item.label}】", f"変更前：{item.before}", f"変更後：{item.after}"]
    if kind == "booking_changed":
        # What staff changed, as the mail names it (the notice's own `changes`).
        if changed := [str(c) for c in (payload or {}).get("changes") or []]:
            lines.append(f"変更した項目：{'、'.join(changed)}")
        if facts.booking_status == "waitlisted":
            lines.append(f"ご予約の状態：キャンセル待ち（{facts.waitlist_position}番目）")
        lines.append("お心当たりのない変更でしたら、お電話でお知らせください。")
    if kind == "booking_waitlisted" and facts.waitlist_position:
        lines.append(f"キャンセル待ちの順番：{facts.waitlist_position}番目")
    if kind == "session_cancelled" and facts.session_cancel_reason:
        lines.append(f"理由：{facts.session_cancel_reason.strip()}")
    lines += [
        "",
        f"イベント：{facts.event_title.strip()}（{EVENT_KINDS.get(facts.event_kind, '')}）",
        f"日時：{jp_when(facts.starts_at, facts.ends_at)}",
        f"会場：{facts.venue_name.strip()}",
    ]
    if facts.venue_address.strip() and not facts.is_online:
        lines.append(f"住所：{facts.venue_address.strip()}")
    if facts.party_size > 1:
        lines.append(f"人数：{facts.party_size}名様")
    lines.append(f"予約番号：{code}")
    lines += [
        "",
        f"お問い合わせ：{settings.desk_name} {settings.desk_phone}（{settings.desk_hours}）",
    ]
    lookup = f"{settings.base_url}/bookings/lookup?code={code}"
    buttons = [messages.Button("予約を確認", uri=lookup)]
    if kind == "survey":
        url = settings.base_url + survey_path(settings, facts.booking_id, facts.ends_at)
        buttons = [messages.Button("アンケートに答える", uri=url)]
    elif kind in CANCELLABLE:
        buttons.append(messages.Button("キャンセルする", data=f"cancel:{facts.booking_id}"))
    return messages.text("\n".join(lines), buttons)


async def plan(
    db: AsyncSession, settings: Settings, notice: Notification, facts: MailFacts
) -> LinePlan | PushResult | None:
    """The push to make; a PushResult when an earlier try already settled it (sent: mark the
    notice sent; failed: go on by mail); None when the person is not reached by LINE."""
    if not settings.line_enabled or notice.kind not in HEADLINES:
        # No LINE wording (a kind added later), or a message that needs its attachment (the
        # matching timetable's .ics): by mail or the call list, as without LINE.
        return None
    to = await deliveries.push_target(db, facts.booking_id)
    if to is None:
        return None
    delivery = await deliveries.delivery_for(db, notice.id, str(uuid.uuid4()))
    if delivery.status != "sending":
        return PushResult(delivery.status == "sent", 0, delivery.last_error or "")
    return LinePlan(
        notice,
        to,
        delivery.retry_key,
        delivery.id,
        notice_message(notice.kind, facts, settings, notice.payload),
    )


async def push(settings: Settings, planned: LinePlan) -> PushResult:
    async with line_client(settings) as client:
        return await client.push(planned.to, [planned.message], planned.retry_key)


async def record(db: AsyncSession, planned: LinePlan, result: PushResult) -> None:
    await deliveries.finish_delivery(
        db,
        planned.delivery_id,
        sent=result.sent,
        attempts=result.attempts,
        error=None if result.sent else result.error or f"status {result.status}",
    )
