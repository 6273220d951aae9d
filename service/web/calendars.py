"""The .ics files: GET /bookings/{code}/calendar.ics?t=..., /events.ics and the staff feeds.

Feeds answer conditional requests (ETag, Last-Modified, 304), HEAD and gzip, and never set a
cookie (calendar apps poll them; the public one may sit in shared caches)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from litestar import Controller, Request, Response, get, head
from litestar.params import FromPath, FromQuery
from litestar.status_codes import HTTP_200_OK, HTTP_304_NOT_MODIFIED

from service.domain import clock
from service.domain.calendars import service as calendars
from service.domain.calendars.feed_cache import FeedFile, FeedVersion
from service.domain.calendars.schemas import FeedWindow
from service.domain.errors import NotFound
from service.domain.notifications.calls import open_call_counts
from service.edge.dependencies import DB, AppSettings
from service.edge.rate_limit import client_address
from service.platform.settings import Settings

# Litestar adds "; charset=utf-8" to text/* types.
ICS_MEDIA_TYPE = "text/calendar"
TOKEN_MAX = 200
NO_CSRF = {"exclude_from_csrf": True}
PUBLIC_CACHE = "public, max-age=900"
STAFF_CACHE = "private, max-age=300"


def _secret_headers(headers: dict[str, str]) -> dict[str, str]:
    # The URL itself is the key: keep it out of search engines and other sites' logs.
    headers["X-Robots-Tag"] = "noindex, nofollow"
    headers["Referrer-Policy"] = "no-referrer"
    return headers


def _etag_matches(header: str, etag: str) -> bool:
    # Weak comparison (RFC 9110 13.1.2): W/ prefixes do not count.
    ours = etag.removeprefix("W/")
    return any(
        tag.strip() == "*" or tag.strip().removeprefix("W/") == ours for tag in header.split(",")
    )


def _not_modified(request: Request[Any, Any, Any], version: FeedVersion) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        # When both are sent, If-None-Match decides (RFC 9110 13.2.2).
        return _etag_matches(if_none_match, version.etag)
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return version.last_modified <= since
    return False


def _accepts_gzip(request: Request[Any, Any, Any]) -> bool:
    for part in request.headers.get("accept-encoding", "").lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


async def _feed_response(
    request: Request[Any, Any, Any],
    version: FeedVersion,
    load: Callable[[], Awaitable[FeedFile]],
    *,
    cache: str,
    filename: str,
    secret_url: bool,
    head_only: bool,
) -> Response[bytes]:
    headers = {
        "ETag": version.etag,
        "Last-Modified": _http_date(version.last_modified),
        "Cache-Control": cache,
        "Vary": "Accept-Encoding",
    }
    if secret_url:
        _secret_headers(headers)
    if _not_modified(request, version):
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
    headers["Content-Disposition"] = f'inline; filename="{filename}"'
    # HEAD too reads the (cached) file: its Content-Length must be the GET's (RFC 9110 9.3.2).
    feed = await load()
    body = feed.body
    if _accepts_gzip(request):
        headers["Content-Encoding"] = "gzip"
        body = feed.gzipped
    if head_only:
        headers["Content-Length"] = str(len(body))
        return Response(b"", status_code=HTTP_200_OK, media_type=ICS_MEDIA_TYPE, headers=headers)
    return Response(body, media_type=ICS_MEDIA_TYPE, headers=headers)


def _window(past_days: str | None, months_ahead: str | None) -> FeedWindow:
    return calendars.feed_window(datetime.now(UTC), past_days, months_ahead)


def _staff_token(feed_file: str) -> str:
    # The token and the extension share one path segment: /calendar/staff/{token}.ics
    token = feed_file.removesuffix(".ics")
    if token == feed_file or not token or len(token) > TOKEN_MAX:
        raise NotFound()
    return token


async def _public(
    request: Request[Any, Any, Any],
    db: DB,
    settings: Settings,
    past_days: str | None,
    months_ahead: str | None,
    *,
    head_only: bool,
) -> Response[bytes]:
    window = _window(past_days, months_ahead)
    version = await calendars.public_feed_version(db, settings, window)
    return await _feed_response(
        request,
        version,
        lambda: calendars.public_feed_file(db, settings, window, version),
        cache=PUBLIC_CACHE,
        filename="nextwork-events.ics",
        secret_url=False,
        head_only=head_only,
    )


async def _staff(
    request: Request[Any, Any, Any],
    db: DB,
    settings: Settings,
    feed_file: str,
    past_days: str | None,
    months_ahead: str | None,
    *,
    head_only: bool,
) -> Response[bytes]:
    token = _staff_token(feed_file)
    window = _window(past_days, months_ahead)
    feed = await calendars.open_staff_feed(db, settings, token, client_address(request))
    calls = await open_call_counts(db, clock.now(), feed.scope.cohost_organization_id)
    version = await calendars.staff_feed_version(db, settings, feed, window, calls.total)
    return await _feed_response(
        request,
        version,
        lambda: calendars.staff_feed_file(db, settings, feed, window, version, calls.total),
        cache=STAFF_CACHE,
        filename="nextwork-staff.ics",
        secret_url=True,
        head_only=head_only,
    )


def _without_body(response: Response[bytes]) -> Response[None]:
    """HEAD: the GET's status and headers (ETag, Last-Modified, length), no body."""
    return Response(
        None, status_code=response.status_code, media_type=ICS_MEDIA_TYPE, headers=response.headers
    )


async def _booking_file(
    db: DB, settings: Settings, code: str, t: str | None, *, timetable: bool = False
) -> tuple[bytes, dict[str, str]]:
    """A booking's own .ics, or (timetable) its matching-day meetings, behind its token."""
    if len(code) > 40 or (t is not None and len(t) > TOKEN_MAX):
        raise NotFound()
    read = calendars.timetable_calendar if timetable else calendars.booking_calendar
    display_code, body = await read(db, settings, code, t)
    name = f"nextwork-{display_code}{'-timetable' if timetable else ''}.ics"
    headers = _secret_headers(
        {"Cache-Control": "private, no-store", "Content-Disposition": f'inline; filename="{name}"'}
    )
    return body, headers


class CalendarFiles(Controller):
    include_in_schema = False

    @get("/bookings/{code:str}/timetable.ics", name="booking_timetable", opt=NO_CSRF)
    async def timetable(
        self, db: DB, settings: AppSettings, code: FromPath[str], t: FromQuery[str | None] = None
    ) -> Response[bytes]:
        """A matching-day participant's meetings (the look-up page links it)."""
        body, headers = await _booking_file(db, settings, code, t, timetable=True)
        return Response(body, media_type=ICS_MEDIA_TYPE, headers=headers)

    @head("/bookings/{code:str}/timetable.ics", name="booking_timetable_head", opt=NO_CSRF)
    async def timetable_head(
        self, db: DB, settings: AppSettings, code: FromPath[str], t: FromQuery[str | None] = None
    ) -> Response[None]:
        body, headers = await _booking_file(db, settings, code, t, timetable=True)
        headers["Content-Length"] = str(len(body))
        return Response(None, media_type=ICS_MEDIA_TYPE, headers=headers)

    @get("/bookings/{code:str}/calendar.ics", name="booking_calendar", opt=NO_CSRF)
    async def booking(
        self, db: DB, settings: AppSettings, code: FromPath[str], t: FromQuery[str | None] = None
    ) -> Response[bytes]:
        body, headers = await _booking_file(db, settings, code, t)
        return Response(body, media_type=ICS_MEDIA_TYPE, headers=headers)

    @head("/bookings/{code:str}/calendar.ics", name="booking_calendar_head", opt=NO_CSRF)
    async def booking_head(
        self, db: DB, settings: AppSettings, code: FromPath[str], t: FromQuery[str | None] = None
    ) -> Response[None]:
        body, headers = await _booking_file(db, settings, code, t)
        headers["Content-Length"] = str(len(body))
        return Response(None, media_type=ICS_MEDIA_TYPE, headers=headers)

    @get("/events.ics", name="public_calendar", opt=NO_CSRF)
    async def public_feed(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        settings: AppSettings,
        past_days: FromQuery[str | None] = None,
        months_ahead: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        return await _public(request, db, settings, past_days, months_ahead, head_only=False)

    @head("/events.ics", name="public_calendar_head", opt=NO_CSRF)
    async def public_feed_head(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        settings: AppSettings,
        past_days: FromQuery[str | None] = None,
        months_ahead: FromQuery[str | None] = None,
    ) -> Response[None]:
        response = await _public(request, db, settings, past_days, months_ahead, head_only=True)
        return _without_body(response)

    @get("/calendar/staff/{feed_file:str}", name="staff_calendar", opt=NO_CSRF)
    async def staff_feed(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        settings: AppSettings,
        feed_file: FromPath[str],
        past_days: FromQuery[str | None] = None,
        months_ahead: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        return await _staff(
            request, db, settings, feed_file, past_days, months_ahead, head_only=False
        )

    @head("/calendar/staff/{feed_file:str}", name="staff_calendar_head", opt=NO_CSRF)
    async def staff_feed_head(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        settings: AppSettings,
        feed_file: FromPath[str],
        past_days: FromQuery[str | None] = None,
        months_ahead: FromQuery[str | None] = None,
    ) -> Response[None]:
        response = await _staff(
            request, db, settings, feed_file, past_days, months_ahead, head_only=True
        )
        return _without_body(response)
