"""Calendar files: a booking's own event, the public feed and the staff feeds.

What each holder gets: the booking file only what its holder already knows (the event, the
code); the public feed only published events; staff feeds counts, never names."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.bookings.normalize import format_code, normalize_code
from service.domain.calendars.ics import add_event, new_calendar, to_bytes, uid_domain
from service.domain.calendars.repository import (
    BookingEntry,
    CalendarRepository,
    FeedOwner,
    SessionEntry,
    StaffEntry,
)
from service.domain.calendars.tokens import calendar_token_is_valid, staff_feed_user_id
from service.domain.errors import NotFound
from service.settings import Settings

FEED_LIMIT = 1000
STAFF_FEED_PAST = timedelta(days=62)
PUBLIC_REFRESH = timedelta(hours=1)
STAFF_REFRESH = timedelta(minutes=30)
TITLE_MAX = 120


def _not_found() -> NotFound:
    return NotFound("お探しのカレンダーは見つかりませんでした。", code="calendar_not_found")


def event_url(settings: Settings, event_id: int) -> str:
    return f"{settings.base_url}/events/{event_id}"


def _desk_line(settings: Settings) -> str:
    return (
        f"お問い合わせ：{settings.desk_name} 電話 {settings.desk_phone}"
        f"（受付時間：{settings.desk_hours}）"
    )


def _venue_lines(entry: SessionEntry) -> list[str]:
    lines = [f"会場：{entry.venue_name.strip()}"]
    if entry.venue_ward != "online" and entry.venue_address.strip():
        lines.append(f"住所：{entry.venue_address.strip()}")
    if entry.access_notes.strip():
        lines.append(f"交通：{entry.access_notes.strip()}")
    return lines


def _title(entry: SessionEntry) -> str:
    title = entry.title.strip()
    return title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1] + "…"


# -- one booking ---------------------------------------------------------------------------


def _booking_uid(settings: Settings, code: str) -> str:
    # Stable per booking, and not the code itself: calendars get shared and synced.
    digest = hashlib.sha256(f"{settings.secret_key}:booking-uid:{code}".encode()).hexdigest()
    return f"booking-{digest[:24]}@{uid_domain(settings)}"


def booking_ics(settings: Settings, booking: BookingEntry, now: datetime) -> bytes:
    entry = booking.session
    if entry.session_status == "cancelled" or entry.event_status == "cancelled":
        prefix, status = "【中止】", "CANCELLED"
        state = "このイベントは中止になりました。"
    elif booking.status == "cancelled":
        prefix, status = "【取消済み】", "CANCELLED"
        state = "このご予約は取り消されています。"
    elif booking.status == "waitlisted":
        prefix, status = "【キャンセル待ち】", "TENTATIVE"
        state = (
            f"キャンセル待ち（{booking.waitlist_position}番目）です。"
            "繰り上がってご予約が確定したときは、メールでお知らせします。"
        )
    else:
        prefix, status = "", "CONFIRMED"
        state = "ご予約が確定しています。当日は受付で予約番号またはお名前をお伝えください。"
    lines = [f"予約番号：{format_code(booking.code)}", state, *_venue_lines(entry)]
    if entry.what_to_bring.strip():
        lines.append(f"持ち物：{entry.what_to_bring.strip()}")
    lines += [
        f"ご予約の確認・取り消し：{settings.base_url}/bookings/lookup",
        _desk_line(settings),
    ]
    calendar = new_calendar(settings.desk_name)
    add_event(
        calendar,
        uid=_booking_uid(settings, booking.code),
        entry=entry,
        summary=prefix + _title(entry),
        description="\n".join(lines),
        status=status,
        url=event_url(settings, entry.event_id),
        now=now,
    )
    return to_bytes(calendar)


async def booking_calendar(
    db: AsyncSession, settings: Settings, code: str, token: str | None
) -> tuple[str, bytes]:
    """(display code, .ics) for a booking link; an unknown code and a wrong token look the same."""
    canonical = normalize_code(code)
    if canonical is None or not token or not calendar_token_is_valid(settings, canonical, token):
        raise _not_found()
    booking = await CalendarRepository(db).booking(canonical)
    if booking is None:
        raise _not_found()
    return format_code(canonical), booking_ics(settings, booking, clock.now())


# -- the public feed -----------------------------------------------------------------------


def _session_uid(settings: Settings, session_id: int) -> str:
    return f"session-{session_id}@{uid_domain(settings)}"


def _session_status(entry: SessionEntry) -> tuple[str, str]:
    if entry.session_status == "cancelled" or entry.event_status == "cancelled":
        return "【中止】", "CANCELLED"
    return "", "CONFIRMED"


def public_ics(settings: Settings, entries: list[SessionEntry], now: datetime) -> bytes:
    calendar = new_calendar(f"{settings.desk_name} イベント・セミナー", refresh=PUBLIC_REFRESH)
    for entry in entries:
        prefix, status = _session_status(entry)
        lines = [*_venue_lines(entry)]
        if entry.description.strip():
            lines += ["", entry.description.strip()[:2000], ""]
        lines += [
            f"詳しい内容・お申し込み：{event_url(settings, entry.event_id)}",
            _desk_line(settings),
        ]
        add_event(
            calendar,
            uid=_session_uid(settings, entry.session_id),
            entry=entry,
            summary=prefix + _title(entry),
            description="\n".join(lines),
            status=status,
            url=event_url(settings, entry.event_id),
            now=now,
        )
    return to_bytes(calendar)


async def public_calendar(db: AsyncSession, settings: Settings) -> bytes:
    now = clock.now()
    entries = await CalendarRepository(db).public_sessions(now, FEED_LIMIT)
    return public_ics(settings, entries, now)


# -- staff feeds ---------------------------------------------------------------------------


async def resolve_staff_feed(db: AsyncSession, settings: Settings, token: str) -> FeedOwner:
    """The active staff user a feed token was made for; NotFound for anything else."""
    user_id = staff_feed_user_id(settings, token)
    owner = await CalendarRepository(db).feed_owner(user_id) if user_id is not None else None
    if owner is None:
        raise _not_found()
    return owner


def staff_ics(settings: Settings, entries: list[StaffEntry], now: datetime) -> bytes:
    calendar = new_calendar(f"{settings.desk_name} 開催予定（スタッフ用）", refresh=STAFF_REFRESH)
    for item in entries:
        entry = item.session
        prefix, status = _session_status(entry)
        if not prefix and entry.event_status == "draft":
            prefix, status = "【下書き】", "TENTATIVE"
        counts = f"予約{item.confirmed}/{item.capacity}・待ち{item.waitlisted}"
        lines = [
            f"予約確定：{item.confirmed}名（定員{item.capacity}名）",
            f"キャンセル待ち：{item.waitlisted}名",
            *_venue_lines(entry),
        ]
        add_event(
            calendar,
            uid=f"staff-{_session_uid(settings, entry.session_id)}",
            entry=entry,
            summary=f"{prefix}{_title(entry)}（{counts}）",
            description="\n".join(lines),
            status=status,
            now=now,
        )
    return to_bytes(calendar)


async def staff_calendar(db: AsyncSession, settings: Settings, token: str) -> bytes:
    owner = await resolve_staff_feed(db, settings, token)
    now = clock.now()
    cohost_org = owner.organization_id if owner.role == "cohost" else None
    if owner.role == "cohost" and cohost_org is None:
        raise _not_found()
    entries = await CalendarRepository(db).staff_sessions(
        now - STAFF_FEED_PAST, FEED_LIMIT, cohost_organization_id=cohost_org
    )
    return staff_ics(settings, entries, now)
