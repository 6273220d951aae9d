"""HEAD answers as GET does, less the body (RFC 9110 9.3.2: the same Content-Length), for the
public feed, a staff feed and a booking's .ics, measured on the real app under uvicorn; CSV
downloads name their charset once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.service import book
from service.domain.calendars import service as calendars
from service.platform.settings import Settings
from tests.browser.live_server import serve
from tests.factories import person
from tests.mail_support import session_at, tokyo_day
from tests.manage_support import bearer, issue_token, make_staff
from tests.test_calendar_feeds import new_link, staff_user


async def test_head_lengths_equal_get_lengths(db: AsyncSession, settings: Settings) -> None:
    session = await session_at(db, tokyo_day(3) + timedelta(hours=10), title="説明会" * 20)
    booked = await book(db, session.id, person(1))
    await db.commit()
    booking_path = await calendars.booking_calendar_path(db, booked.code)
    assert booking_path is not None
    feed_path = await new_link(db, settings, await staff_user(db, "feeds"))

    def measure(base: str) -> list[tuple[str, str, int, str, int]]:
        rows = []
        with httpx.Client(base_url=base) as http:
            for path in ("/events.ics", feed_path, booking_path):
                for encoding in ("identity", "gzip"):
                    headers = {"Accept-Encoding": encoding}
                    got = http.get(path, headers=headers)
                    head = http.head(path, headers=headers)
                    assert got.status_code == head.status_code == 200, (path, head.status_code)
                    assert head.content == b""
                    rows.append(
                        (
                            path,
                            encoding,
                            len(got.read())
                            if encoding == "identity"
                            else int(got.headers["content-length"]),
                            head.headers.get("content-encoding", "identity"),
                            int(head.headers["content-length"]),
                        )
                    )
                    assert head.headers["content-length"] == got.headers["content-length"]
                    assert head.headers.get("etag") == got.headers.get("etag")
        return rows

    with serve(settings) as server:
        rows = await asyncio.to_thread(measure, server.base_url)
    for path, _, get_length, _, head_length in rows:
        assert get_length == head_length > 0, path


async def test_csv_downloads_name_their_charset_once(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    session = await session_at(db, tokyo_day(3) + timedelta(hours=10))
    await book(db, session.id, person(2))
    await db.commit()
    headers = bearer(await issue_token(db, await make_staff(db, "organizer")))
    for path in (
        f"/api/v1/manage/sessions/{session.id}/roster.csv",
        "/api/v1/manage/indicators/csv",
    ):
        r = await client.get(path, headers=headers)
        assert r.status_code == 200, (path, r.text)
        assert r.headers["content-type"] == "text/csv; charset=utf-8", path
