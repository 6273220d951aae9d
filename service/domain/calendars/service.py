"""Calendar files: a booking's own event, the public feed and the staff feeds.

What each holder gets: the booking file only what its holder already knows (the event, the
code); the public feed only published events; staff feeds counts, never names.

Feeds hold every session of a window (by default 60 days back to 18 months ahead, never cut);
cancelled sessions stay in it, marked CANCELLED, for 30 days after their start, so calendars
that subscribed remove or mark them instead of losing them silently."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from email.utils import parseaddr

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.bookings.normalize import format_code, normalize_code
from service.domain.calendars.feed_cache import FEEDS, FeedFile, FeedVersion
from service.domain.calendars.ics import CalendarFile, alarms_for, make_uid
from service.domain.calendars.repository import (
    BookingEntry,
    CalendarRepository,
    FeedLinkOwner,
    FeedScope,
    SessionEntry,
    StaffEntry,
)
from service.domain.calendars.schemas import FeedWindow
from service.domain.calendars.tokens import (
    calendar_path,
    legacy_calendar_token,
    link_token_hash,
    timetable_path,
)
from service.domain.errors import InvalidInput, NotFound
from service.domain.matching import sending as matching_sending
from service.platform.local_time import TOKYO
from service.platform.settings import Settings

PAST_DAYS = 60
PAST_DAYS_MAX = 366
MONTHS_AHEAD = 18
MONTHS_AHEAD_MAX = 36
CANCELLED_KEPT = timedelta(days=30)
PUBLIC_REFRESH = timedelta(hours=1)
STAFF_REFRESH = timedelta(minutes=30)
TITLE_MAX = 120
# An edit reaches the public feed's ETag within this many seconds (a poll in between is
# answered from memory).
PUBLIC_VERSION_TTL = 5.0


def _not_found() -> NotFound:
    return NotFound("お探しのカレンダーは見つかりませんでした。", code="calendar_not_found")


def event_url(settings: Settings, event_id: int) -> str:
    return f"{settings.base_url}/events/{event_id}"


def roster_url(settings: Settings, session_id: int) -> str:
    return f"{settings.base_url}/manage/sessions/{session_id}/"


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


def _is_cancelled(entry: SessionEntry) -> bool:
    return entry.session_status == "cancelled" or entry.event_status == "cancelled"


# -- the window ----------------------------------------------------------------------------


def _add_months(day: datetime, months: int) -> datetime:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return day.replace(year=year, month=month, day=1)


def _whole_number(value: str | None, field: str, lo: int, hi: int, label: str) -> int | None:
    if value is None or value == "":
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or not lo <= int(text) <= hi:
        raise InvalidInput(fields={field: f"{label}は{lo}から{hi}までの整数で指定してください。"})
    return int(text)


def feed_window(
    now: datetime, past_days: str | None = None, months_ahead: str | None = None
) -> FeedWindow:
    """From midnight (Japan time) `past_days` days ago to the end of the month `months_ahead`
    months on; whole days, so the window (and the ETag) moves once a day."""
    past = _whole_number(past_days, "past_days", 0, PAST_DAYS_MAX, "過去の日数")
    ahead = _whole_number(months_ahead, "months_ahead", 1, MONTHS_AHEAD_MAX, "先の月数")
    past = PAST_DAYS if past is None else past
    ahead = MONTHS_AHEAD if ahead is None else ahead
    today = datetime.combine(now.astimezone(TOKYO).date(), time(0), tzinfo=TOKYO)
    starts_from = today - timedelta(days=past)
    return FeedWindow(
        starts_from=starts_from,
        cancelled_from=max(starts_from, today - CANCELLED_KEPT),
        starts_before=_add_months(today, ahead + 1),
    )


def _version(
    key: str, digest: str, count: int, window: FeedWindow, modified: datetime | None
) -> FeedVersion:
    span = f"{window.starts_from.isoformat()}|{window.starts_before.isoformat()}"
    basis = f"{key}|{span}|{count}|{digest}"
    etag = 'W/"' + hashlib.sha256(basis.encode()).hexdigest()[:32] + '"'
    # The window's own start counts: a session leaving the window is a change too.
    last_modified = max(filter(None, [modified, window.starts_from.astimezone(UTC)]))
    return FeedVersion(key, etag, last_modified.replace(microsecond=0))


def _database(settings: Settings) -> str:
    # Part of every cache key: one process may serve several databases (the tests do), and
    # the base URL is written into the files.
    basis = f"{settings.database_url}|{settings.base_url}"
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


# -- one booking ---------------------------------------------------------------------------


def booking_sequence(booking: BookingEntry) -> int:
    """The booking's SEQUENCE: the session's revision plus the booking's own offset (raised by
    each staff change, and set by a move so that the number goes on from the old session's),
    one more once the booking is cancelled (a calendar that imported the file takes the
    cancelled one as the newer version). Bookings are never revived, so it never goes back."""
    cancelled = 1 if booking.status == "cancelled" else 0
    return booking.session.revision + booking.sequence_offset + cancelled


def _joining_lines(booking: BookingEntry) -> list[str]:
    """How to join an online session, for the confirmed person's own file only."""
    lines = ["参加方法：オンライン"]
    if booking.join_url and booking.join_url.strip():
        lines.append(f"参加用URL：{booking.join_url.strip()}")
    if booking.join_instructions and booking.join_instructions.strip():
        lines.append(" ".join(booking.join_instructions.split()))
    return lines


def booking_ics(
    settings: Settings,
    booking: BookingEntry,
    now: datetime,
    installation: uuid.UUID,
    *,
    cancel: bool = False,
) -> bytes:
    """The booking's own .ics. `cancel`: the METHOD:CANCEL file a cancellation mail carries
    (the same UID, a higher SEQUENCE), which removes the entry the confirmation added."""
    entry = booking.session
    online = booking.is_online or entry.venue_ward == "online"
    alarms = []
    place = _venue_lines(entry) if not online else ["参加方法：オンライン"]
    if _is_cancelled(entry):
        prefix, status = "【中止】", "CANCELLED"
        state = "このイベントは中止になりました。"
    elif booking.status == "cancelled":
        prefix, status = "【取消済み】", "CANCELLED"
        state = "このご予約は取り消されています。"
    elif booking.status == "waitlisted":
        prefix, status = "【キャンセル待ち】", "TENTATIVE"
        state = (
            f"キャンセル待ち（{booking.waitlist_position}番目）です。"
            "繰り上がってご予約が確定したときは、メールか窓口からのお電話でお知らせします。"
        )
    elif online:
        prefix, status = "", "CONFIRMED"
        state = "ご予約が確定しています。開始の少し前に、次の方法で参加してください。"
        place = _joining_lines(booking)
        alarms = [a for a in alarms_for(entry) if a.trigger > now]
    else:
        prefix, status = "", "CONFIRMED"
        state = "ご予約が確定しています。当日は受付で予約番号またはお名前をお伝えください。"
        alarms = [a for a in alarms_for(entry) if a.trigger > now]
    lines = [f"予約番号：{format_code(booking.code)}", state, *place]
    if entry.what_to_bring.strip() and status != "CANCELLED":
        lines.append(f"持ち物：{entry.what_to_bring.strip()}")
    lines += [
        f"ご予約の確認・取り消し：{settings.base_url}/bookings/lookup",
        _desk_line(settings),
    ]
    calendar = CalendarFile(settings.desk_name, method="CANCEL" if cancel else "PUBLISH")
    calendar.add_event(
        uid=make_uid(settings, installation, "booking", booking.booking_id),
        entry=entry,
        summary=prefix + _title(entry),
        description="\n".join(lines),
        status="CANCELLED" if cancel else status,
        url=event_url(settings, entry.event_id),
        now=now,
        alarms=alarms,
        sequence=booking_sequence(booking),
        organizer=(parseaddr(settings.mail_from)[1] or None) if cancel else None,
    )
    return calendar.to_bytes()


def calendar_token_is_valid(settings: Settings, booking: BookingEntry, token: str) -> bool:
    """The stored token; links mailed before it existed (an HMAC of the code under the current
    SECRET_KEY) keep working until the key is rotated, as they always did."""
    if hmac.compare_digest(booking.calendar_token.encode(), token.encode()):
        return True
    legacy = legacy_calendar_token(settings, booking.code)
    return hmac.compare_digest(legacy.encode(), token.encode())


async def _booking_behind_token(
    db: AsyncSession, settings: Settings, code: str, token: str | None
) -> tuple[str, BookingEntry]:
    """The booking a calendar link names; an unknown code and a wrong token look the same."""
    canonical = normalize_code(code)
    if canonical is None or not token:
        raise _not_found()
    booking = await CalendarRepository(db).booking(canonical)
    if booking is None or not calendar_token_is_valid(settings, booking, token):
        raise _not_found()
    return canonical, booking


async def booking_calendar(
    db: AsyncSession, settings: Settings, code: str, token: str | None
) -> tuple[str, bytes]:
    """(display code, .ics) for a booking link."""
    canonical, booking = await _booking_behind_token(db, settings, code, token)
    body = booking_ics(
        settings, booking, clock.now(), await CalendarRepository(db).installation_id()
    )
    return format_code(canonical), body


async def timetable_calendar(
    db: AsyncSession, settings: Settings, code: str, token: str | None
) -> tuple[str, bytes]:
    """(display code, .ics) of a matching-day participant's meetings, one VEVENT each (the
    file the timetable mail attaches), behind the booking's calendar token; not found without
    a timetable."""
    canonical, booking = await _booking_behind_token(db, settings, code, token)
    timetable = await matching_sending.participant_mail(db, booking.booking_id, settings.base_url)
    if timetable is None or not timetable[0]["meetings"]:
        raise _not_found()
    return format_code(canonical), timetable[1]


async def booking_calendar_path(db: AsyncSession, code: str) -> str | None:
    """The path (token included) of a booking's calendar link, for pages and mails."""
    links = await booking_calendar_links(db, code)
    return links[0] if links else None


async def booking_calendar_links(db: AsyncSession, code: str) -> tuple[str, str] | None:
    """The paths (token included) of a booking's .ics and of its matching-day meetings'."""
    canonical = normalize_code(code) or code
    token = await CalendarRepository(db).calendar_token(canonical)
    if token is None:
        return None
    return calendar_path(canonical, token), timetable_path(canonical, token)


async def booking_calendar_file(
    db: AsyncSession, settings: Settings, code: str, *, cancel: bool = False
) -> bytes | None:
    """The .ics of a booking for a mail attachment (the mail already proves who asks);
    `cancel`: the cancelling one (METHOD:CANCEL)."""
    repo = CalendarRepository(db)
    booking = await repo.booking(code)
    if booking is None:
        return None
    return booking_ics(settings, booking, clock.now(), await repo.installation_id(), cancel=cancel)


# -- the public feed -----------------------------------------------------------------------


def _session_status(entry: SessionEntry) -> tuple[str, str]:
    if _is_cancelled(entry):
        return "【中止】", "CANCELLED"
    return "", "CONFIRMED"


def public_ics(
    settings: Settings, entries: list[SessionEntry], now: datetime, installation: uuid.UUID
) -> bytes:
    calendar = CalendarFile(f"{settings.desk_name} イベント・セミナー", refresh=PUBLIC_REFRESH)
    for entry in entries:
        prefix, status = _session_status(entry)
        lines = [*_venue_lines(entry)]
        if entry.description.strip():
            lines += ["", entry.description.strip()[:2000], ""]
        lines += [
            f"詳しい内容・お申し込み：{event_url(settings, entry.event_id)}",
            _desk_line(settings),
        ]
        calendar.add_event(
            uid=make_uid(settings, installation, "session", entry.session_id),
            entry=entry,
            summary=prefix + _title(entry),
            description="\n".join(lines),
            status=status,
            url=event_url(settings, entry.event_id),
            now=now,
        )
    return calendar.to_bytes()


PUBLIC_SCOPE = FeedScope(public=True)


async def public_feed_version(
    db: AsyncSession, settings: Settings, window: FeedWindow
) -> FeedVersion:
    key = f"public|{_database(settings)}"

    async def look_up() -> FeedVersion:
        # One row read: the public feed shows no counts, so only edits (which raise the
        # generation, see migration calendars_01) change it.
        generation, changed_at = await CalendarRepository(db).public_generation()
        return _version(key, str(generation), 0, window, changed_at)

    span = f"{window.starts_from.isoformat()}|{window.starts_before.isoformat()}"
    return await FEEDS.version(f"{key}|{span}", PUBLIC_VERSION_TTL, look_up)


async def public_feed_file(
    db: AsyncSession, settings: Settings, window: FeedWindow, version: FeedVersion
) -> FeedFile:
    async def render() -> bytes:
        repo = CalendarRepository(db)
        entries = await repo.public_sessions(window, PUBLIC_SCOPE)
        installation = await repo.installation_id()
        # icalendar builds every line in Python: seconds for thousands of sessions, off the loop.
        return await asyncio.to_thread(public_ics, settings, entries, clock.now(), installation)

    return await FEEDS.file(version, render)


# -- staff feeds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffFeed:
    owner: FeedLinkOwner
    scope: FeedScope


async def open_staff_feed(
    db: AsyncSession, settings: Settings, token: str, address: str
) -> StaffFeed:
    """The live link of an active staff member this token belongs to (its fetch recorded);
    NotFound for anything else, the moment a link is revoked or its user disabled."""
    repo = CalendarRepository(db)
    owner = await repo.link_owner(link_token_hash(token))
    if owner is None:
        raise _not_found()
    cohost_org = owner.organization_id if owner.role == "cohost" else None
    if owner.role == "cohost" and cohost_org is None:
        raise _not_found()
    await repo.record_fetch(owner.link_id, address[:64], await repo.now())
    scope = FeedScope(
        public=False,
        cohost_organization_id=cohost_org,
        sector=owner.sector,
        kind=owner.kind,
        organization_id=owner.filter_organization_id,
    )
    return StaffFeed(owner, scope)


def calls_url(settings: Settings) -> str:
    return f"{settings.base_url}/manage/calls"


def staff_ics(
    settings: Settings,
    entries: list[StaffEntry],
    now: datetime,
    installation: uuid.UUID,
    open_calls: int = 0,
) -> bytes:
    calendar = CalendarFile(f"{settings.desk_name} 開催予定（スタッフ用）", refresh=STAFF_REFRESH)
    if open_calls:
        day = now.astimezone(TOKYO).date()
        calendar.add_day_note(
            uid=make_uid(settings, installation, "staff-calls", int(f"{day:%Y%m%d}")),
            day=day,
            summary=f"電話連絡 {open_calls}件（要連絡）",
            description=(
                f"メールで連絡できない方への電話連絡が {open_calls}件 残っています。\n"
                f"電話連絡リスト：{calls_url(settings)}"
            ),
            url=calls_url(settings),
            now=now,
        )
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
            f"名簿：{roster_url(settings, entry.session_id)}",
        ]
        calendar.add_event(
            uid=make_uid(settings, installation, "staff-session", entry.session_id),
            entry=entry,
            summary=f"{prefix}{_title(entry)}（{counts}）",
            description="\n".join(lines),
            status=status,
            url=roster_url(settings, entry.session_id),
            now=now,
        )
    return calendar.to_bytes()


def _staff_key(settings: Settings, feed: StaffFeed) -> str:
    # Links with the same view share one rendering.
    s = feed.scope
    return (
        f"staff|{_database(settings)}|{s.cohost_organization_id}|{s.sector}|{s.kind}"
        f"|{s.organization_id}"
    )


async def staff_feed_version(
    db: AsyncSession, settings: Settings, feed: StaffFeed, window: FeedWindow, open_calls: int = 0
) -> FeedVersion:
    """`open_calls`: the open call tasks the feed's owner may see (the note for today), part
    of the version so a handled call or a new day is a new file."""
    state = await CalendarRepository(db).feed_state(window, feed.scope, staff=True)
    today = clock.now().astimezone(TOKYO).date()
    return _version(
        f"{_staff_key(settings, feed)}|calls={open_calls}@{today}",
        state.digest,
        state.count,
        window,
        state.last_modified,
    )


async def staff_feed_file(
    db: AsyncSession,
    settings: Settings,
    feed: StaffFeed,
    window: FeedWindow,
    version: FeedVersion,
    open_calls: int = 0,
) -> FeedFile:
    async def render() -> bytes:
        repo = CalendarRepository(db)
        entries = await repo.staff_sessions(window, feed.scope)
        installation = await repo.installation_id()
        return await asyncio.to_thread(
            staff_ics, settings, entries, clock.now(), installation, open_calls
        )

    return await FEEDS.file(version, render)
