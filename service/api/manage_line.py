"""The LINE channel in the staff API: a one-time link code for a person on the phone, and news
of an event to followers (preview with the count, then send)."""

from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from service.domain.line import linking, news
from service.edge.dependencies import DB, AppSettings
from service.edge.staff_auth import Staff


class DeskCodeOut(msgspec.Struct):
    code: str
    expires_at: datetime


class NewsOut(msgspec.Struct):
    event_id: int
    audience: str
    text: str
    recipients: int
    status: str | None


class NewsIn(msgspec.Struct):
    audience: str = "subscribers"


def _news(p: news.NewsPreview) -> NewsOut:
    return NewsOut(p.event_id, p.audience, p.text, p.recipients, p.status)


class ManageLineController(Controller):
    tags = ["staff: LINE"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        "/bookings/{booking_id:int}/line-code",
        status_code=HTTP_200_OK,
        summary="A one-time code (8 digits, 30 minutes) to link the person's LINE",
        description=(
            "Read out on the phone to the person behind the booking: on the link page they "
            "type it with their phone number instead of a booking code. An earlier code of "
            "the same person stops working. Audited."
        ),
    )
    async def desk_code(
        self, db: DB, settings: AppSettings, staff: Staff, booking_id: FromPath[int]
    ) -> DeskCodeOut:
        issued = await linking.issue_desk_code(db, settings, staff, booking_id)
        return DeskCodeOut(issued.code, issued.expires_at)

    @get(
        "/events/{event_id:int}/line-news",
        summary="Preview of an event's LINE news: the message and how many it reaches",
        description=(
            "`audience`: `subscribers` (linked people who agreed to news of its sector or "
            "kind; a multicast) or `broadcast` (every follower; the count is LINE's, not ours: "
            "0 here). `status`: an earlier send's (`sending`, `sent`, `failed`) or null."
        ),
    )
    async def news_preview(
        self,
        db: DB,
        settings: AppSettings,
        staff: Staff,
        event_id: FromPath[int],
        audience: FromQuery[str | None] = None,
    ) -> NewsOut:
        return _news(await news.preview(db, settings, staff, event_id, audience))

    @post(
        "/events/{event_id:int}/line-news",
        status_code=HTTP_202_ACCEPTED,
        summary="Send an event's LINE news (once per event and audience); audited",
    )
    async def news_send(
        self,
        db: DB,
        settings: AppSettings,
        staff: Staff,
        event_id: FromPath[int],
        data: JSONBody[NewsIn | None] = None,
    ) -> NewsOut:
        audience = data.audience if data is not None else None
        return _news(await news.request_send(db, settings, staff, event_id, audience))
