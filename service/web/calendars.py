"""The .ics files: GET /bookings/{code}/calendar.ics?t=..., /events.ics and the staff feeds."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.params import FromPath, FromQuery

from service.dependencies import DB, AppSettings
from service.domain.calendars import service as calendars
from service.domain.errors import NotFound

# Litestar adds "; charset=utf-8" to text/* types.
ICS_MEDIA_TYPE = "text/calendar"
TOKEN_MAX = 200


def _ics(body: bytes, *, cache: str, filename: str, secret_url: bool) -> Response[bytes]:
    headers = {
        "Cache-Control": cache,
        "Content-Disposition": f'inline; filename="{filename}"',
    }
    if secret_url:
        # The URL itself is the key: keep it out of search engines and other sites' logs.
        headers["X-Robots-Tag"] = "noindex, nofollow"
        headers["Referrer-Policy"] = "no-referrer"
    return Response(body, media_type=ICS_MEDIA_TYPE, headers=headers)


class CalendarFiles(Controller):
    include_in_schema = False

    @get("/bookings/{code:str}/calendar.ics", name="booking_calendar")
    async def booking(
        self, db: DB, settings: AppSettings, code: FromPath[str], t: FromQuery[str | None] = None
    ) -> Response[bytes]:
        if len(code) > 40 or (t is not None and len(t) > TOKEN_MAX):
            raise NotFound()
        display_code, body = await calendars.booking_calendar(db, settings, code, t)
        return _ics(
            body,
            cache="private, no-store",
            filename=f"nextwork-{display_code}.ics",
            secret_url=True,
        )

    @get("/events.ics", name="public_calendar")
    async def public_feed(self, db: DB, settings: AppSettings) -> Response[bytes]:
        body = await calendars.public_calendar(db, settings)
        return _ics(
            body, cache="public, max-age=900", filename="nextwork-events.ics", secret_url=False
        )

    @get("/calendar/staff/{feed_file:str}", name="staff_calendar")
    async def staff_feed(
        self, db: DB, settings: AppSettings, feed_file: FromPath[str]
    ) -> Response[bytes]:
        # The token and the extension share one path segment: /calendar/staff/{token}.ics
        token = feed_file.removesuffix(".ics")
        if token == feed_file or len(token) > TOKEN_MAX:
            raise NotFound()
        body = await calendars.staff_calendar(db, settings, token)
        return _ics(
            body, cache="private, max-age=300", filename="nextwork-staff.ics", secret_url=True
        )
