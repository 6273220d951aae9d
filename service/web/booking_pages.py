"""The public booking flow: form -> check what you typed -> done (with the booking code).

Everything works with plain HTML forms (no JavaScript). Every POST answers 303 to a GET page
(POST-redirect-GET), so Back and Reload never post again: what the next page shows is kept in a
booking draft (service.web.page_drafts: an hour, under a random token in the address). The
confirmation page and the waiting-list question still carry the checked values in hidden fields
to the final step, which validates them again and does not need the draft, and their one-time
form key is the draft's: the page reached again with Back posts the same key, which the booking
Idempotency-Key records answer with the same done page, never a second booking.

A person who was shown a free seat is never silently put on the waiting list: the final step
books with join_waitlist=False unless they chose the waiting list, so if the last seat went
while they were typing, nothing is booked and they are asked whether they want the waiting list.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from redis.asyncio import Redis as RedisClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.domain.bookings.errors import session_not_found
from service.domain.bookings.normalize import clean_text
from service.domain.bookings.schemas import BookingView, format_code
from service.domain.calendars import service as calendars
from service.domain.errors import DomainError, InvalidInput, NotFound
from service.domain.events import service as events
from service.domain.events.schemas import EventView, SessionView
from service.domain.matching import service as matching
from service.edge import rate_limit
from service.edge.dependencies import DB, AppSettings, Redis
from service.web import page_drafts
from service.web.booking_form import (
    BOOKING_FIELDS,
    EXPECT_SEAT,
    EXPECT_WAITLIST,
    FORM_KEY_FIELD,
    FULL_CODES,
    MATCHING_FLAG,
    base,
    event_session,
    expectation,
    form_page,
    hidden,
    matching_hidden,
    raw,
    shown,
    shown_matching,
    unavailable_page,
    validate,
)
from service.web.form_errors import Refusal, refusal_of
from service.web.public_common import form_values, limit_client, private_page
from service.web.public_receipts import Receipt, read_receipt, sign_receipt

DRAFT_FIELD = "d"
# The steps a booking draft can be at, and the page each is shown on.
FORM, CONFIRM, FULL, UNAVAILABLE = "form", "confirm", "full", "unavailable"
EXPIRED = (
    "入力の途中の内容は、安全のため"
    f"{page_drafts.BOOKING.ttl_seconds // 60}分で消えるようになっています。"
    "お手数ですが、もう一度はじめから入力してください。"
)
Token = Annotated[str, QueryParameter(max_length=64)]


def _url(event_id: int, session_id: int, step: str, token: str) -> str:
    page = {FORM: "", UNAVAILABLE: "", CONFIRM: "/confirm", FULL: "/full"}[step]
    return f"{base(event_id, session_id)}{page}?{DRAFT_FIELD}={token}"


def _draft(
    event: EventView, s: SessionView, step: str, values: dict[str, str], **more: Any
) -> dict[str, Any]:
    return {"event_id": event.id, "session_id": s.id, "step": step, "values": values, **more}


def _confirm_draft(event: EventView, s: SessionView, typed: dict[str, str]) -> dict[str, Any]:
    valid = validate(typed)
    return _draft(
        event,
        s,
        CONFIRM,
        {**hidden(valid), **matching_hidden(typed)},
        # The reading as they typed it (hiragana stays hiragana); katakana is what is stored.
        typed_kana=clean_text(typed.get("name_kana", "")),
        # Fixed here, with the key: the page reached again with Back posts what it posted.
        expect=expectation(s),
        form_key=secrets.token_urlsafe(16),
    )


def _refusal_draft(
    event: EventView, s: SessionView, values: dict[str, str], refusal: Refusal
) -> dict[str, Any]:
    """The final step refused: the form with what is wrong, the question whether to wait, or
    why the session cannot be booked."""
    if isinstance(refusal.error, InvalidInput):
        return _draft(event, s, FORM, values, errors=refusal.fields)
    if refusal.code == "waitlist_only" or refusal.code in FULL_CODES:
        return _draft(
            event,
            s,
            FULL,
            values,
            can_waitlist=refusal.code == "waitlist_only",
            expect=EXPECT_WAITLIST,
            form_key=secrets.token_urlsafe(16),
        )
    if refusal.code in ("already_booked", "too_many_companions"):
        return _draft(event, s, FORM, values, errors=refusal.fields, message=refusal.message)
    return _draft(event, s, UNAVAILABLE, values, message=refusal.message)


def _page(
    event: EventView, s: SessionView, draft: dict[str, Any], token: str | None, status: int
) -> Template:
    """The page a draft is at. token None: answering the POST itself (Redis is away)."""
    step, values = draft["step"], draft["values"]
    if step == UNAVAILABLE or (step == FORM and not s.bookable):
        return unavailable_page(event, s, draft.get("message"))
    if step == FORM:
        return form_page(
            event, s, values, draft.get("errors"), message=draft.get("message"), status=status
        )
    if step == FULL:
        return private_page(
            "book_full.html",
            status,
            event=event,
            s=s,
            can_waitlist=draft["can_waitlist"],
            hidden=values,
            form_key=draft["form_key"],
            draft=token,
            done_url=draft.get("done"),
            action=base(event.id, s.id) + "/complete",
        )
    valid = validate(values)
    return private_page(
        "book_confirm.html",
        status,
        event=event,
        s=s,
        shown=shown(valid, draft["typed_kana"]) + shown_matching(values),
        has_email=bool(valid.email),
        hidden=values,
        expect=draft["expect"],
        form_key=draft["form_key"],
        draft=token,
        done_url=draft.get("done"),
        action=base(event.id, s.id) + "/complete",
        edit_url=_url(event.id, s.id, FORM, token) if token else None,
        edit_action=base(event.id, s.id),
    )


# What the POST answers with when the draft cannot be kept (Redis away).
_DIRECT_STATUS = {FORM: 422, CONFIRM: 200, FULL: 409, UNAVAILABLE: 409}


async def _answer(
    redis: RedisClient, event: EventView, s: SessionView, draft: dict[str, Any]
) -> Template | Redirect:
    """303 to the GET page of the draft: Back and Reload are then always safe."""
    token = await page_drafts.save(redis, page_drafts.BOOKING, draft)
    if token is None:
        return _page(event, s, draft, None, _DIRECT_STATUS[draft["step"]])
    return Redirect(_url(event.id, s.id, draft["step"], token), status_code=303)


async def _shown_draft(
    db: AsyncSession,
    redis: RedisClient,
    event_id: int,
    session_id: int,
    token: str,
    steps: tuple[str, ...],
) -> tuple[EventView, SessionView, dict[str, Any] | None]:
    """The session and the draft behind a GET page; None for a token that is not a live draft
    of this session at one of these steps (expired, mistyped or another session's)."""
    event, s = await event_session(db, event_id, session_id)
    draft = await page_drafts.load(redis, page_drafts.BOOKING, token)
    if draft is None or (draft.get("event_id"), draft.get("session_id")) != (event_id, session_id):
        return event, s, None
    return event, s, draft if draft.get("step") in steps else None


def _start_again(event: EventView, s: SessionView) -> Template:
    """An unknown or expired draft: the empty form, saying why (or why it cannot be booked)."""
    if not s.bookable:
        return unavailable_page(event, s)
    return form_page(event, s, {}, notice=EXPIRED)


async def _draft_at(
    db: AsyncSession, redis: RedisClient, event_id: int, session_id: int, token: str, step: str
) -> Template:
    """The page of a draft at this step, or the form to start again."""
    event, s, draft = await _shown_draft(db, redis, event_id, session_id, token, (step,))
    return _start_again(event, s) if draft is None else _page(event, s, draft, token, 200)


DONE_EXPIRED = (
    "お申し込みの完了画面は、しばらくたつと表示できなくなります（その後のご予約の状態を"
    "正しくお見せするためです）。電話番号を入力すると、いまのご予約の状態を確認できます。"
)


def _receipt(booking: BookingView, event_id: int) -> Receipt:
    return Receipt(
        code=booking.code,
        status=booking.status,
        waitlist_position=booking.waitlist_position,
        event_id=event_id,
        session_id=booking.session.id,
        mail=bool(booking.email),
    )


class BookingPages(Controller):
    include_in_schema = False

    @get("/events/{event_id:int}/sessions/{session_id:int}/book", name="booking_form")
    async def form(
        self,
        db: DB,
        redis: Redis,
        event_id: FromPath[int],
        session_id: FromPath[int],
        d: Token = "",
    ) -> Template:
        if not d:
            event, s = await event_session(db, event_id, session_id)
            if not s.bookable:
                return unavailable_page(event, s)
            # A matching day's form asks for the profile and the consent too.
            matching_day = await matching.is_matching_session(db, session_id)
            return form_page(event, s, {MATCHING_FLAG: "1"} if matching_day else {})
        event, s, draft = await _shown_draft(
            db, redis, event_id, session_id, d, (FORM, UNAVAILABLE, CONFIRM, FULL)
        )
        if draft is None:
            return _start_again(event, s)
        if draft["step"] in (CONFIRM, FULL):
            # 入力内容を直す: the checked values back on the form, the reading as typed.
            values = dict(draft["values"])
            values["name_kana"] = draft.get("typed_kana") or values.get("name_kana", "")
            draft = {**draft, "step": FORM, "values": values}
        return _page(event, s, draft, d, 200)

    @get("/events/{event_id:int}/sessions/{session_id:int}/book/confirm", name="booking_check")
    async def check(
        self,
        db: DB,
        redis: Redis,
        event_id: FromPath[int],
        session_id: FromPath[int],
        d: Token = "",
    ) -> Template:
        return await _draft_at(db, redis, event_id, session_id, d, CONFIRM)

    @get("/events/{event_id:int}/sessions/{session_id:int}/book/full", name="booking_full")
    async def full(
        self,
        db: DB,
        redis: Redis,
        event_id: FromPath[int],
        session_id: FromPath[int],
        d: Token = "",
    ) -> Template:
        return await _draft_at(db, redis, event_id, session_id, d, FULL)

    @post("/events/{event_id:int}/sessions/{session_id:int}/book", name="booking_edit")
    async def edit(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        redis: Redis,
        event_id: FromPath[int],
        session_id: FromPath[int],
    ) -> Template | Redirect:
        """Back from a confirmation page answered without a draft (Redis was away) to the form,
        with everything still filled in."""
        values = await form_values(request, BOOKING_FIELDS)
        event, s = await event_session(db, event_id, session_id)
        return await _answer(redis, event, s, _draft(event, s, FORM, values))

    @post("/events/{event_id:int}/sessions/{session_id:int}/book/confirm", name="booking_confirm")
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        redis: Redis,
        settings: AppSettings,
        event_id: FromPath[int],
        session_id: FromPath[int],
    ) -> Template | Redirect:
        await limit_client(request, redis, settings, "booking")
        values = await form_values(request, BOOKING_FIELDS)
        event, s = await event_session(db, event_id, session_id)
        if not s.bookable:
            return await _answer(redis, event, s, _draft(event, s, UNAVAILABLE, {}))
        try:
            draft = _confirm_draft(event, s, values)
        except InvalidInput as exc:
            draft = _draft(event, s, FORM, values, errors=exc.fields)
        return await _answer(redis, event, s, draft)

    @post("/events/{event_id:int}/sessions/{session_id:int}/book/complete", name="booking_complete")
    async def complete(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        redis: Redis,
        settings: AppSettings,
        event_id: FromPath[int],
        session_id: FromPath[int],
    ) -> Template | Redirect:
        await limit_client(request, redis, settings, "booking")
        await rate_limit.count_booking(redis, request, settings)
        values = await form_values(
            request, (*BOOKING_FIELDS, "expect", FORM_KEY_FIELD, DRAFT_FIELD)
        )
        expect = EXPECT_WAITLIST if values.pop("expect") == EXPECT_WAITLIST else EXPECT_SEAT
        form_key = values.pop(FORM_KEY_FIELD)
        token = values.pop(DRAFT_FIELD)
        try:
            # The booking core, with a matching day's profile stored beside it.
            outcome = await matching.book(
                db,
                session_id,
                raw(values),
                key=form_key if 16 <= len(form_key) <= 64 else None,
                channel="web",
                join_waitlist=expect == EXPECT_WAITLIST,
            )
        except DomainError as exc:
            refusal = await refusal_of(db, exc)
            if isinstance(refusal.error, NotFound):
                raise refusal.error from exc
            event, s = await event_session(db, event_id, session_id)
            return await _answer(redis, event, s, _refusal_draft(event, s, values, refusal))
        booking = outcome.value
        if booking.session.event_id != event_id:
            raise session_not_found()  # a form posted under another event's address
        location = "/bookings/done?r=" + sign_receipt(settings, _receipt(booking, event_id))
        # A look-up grant for the done page: it shows the booking as it is each time it is
        # opened (promoted, cancelled ...) while the grant lasts, the look-up form after.
        grant = await page_drafts.save(
            redis, page_drafts.GRANT, {"code": booking.code, "phone": booking.phone}
        )
        if grant is not None:
            location += "&g=" + grant
        if token:
            # The confirmation page reached again with Back then says it is done.
            await page_drafts.update(redis, page_drafts.BOOKING, token, {"done": location})
        return Redirect(location, status_code=303)

    @get("/bookings/done", name="booking_done")
    async def done(
        self,
        db: DB,
        redis: Redis,
        settings: AppSettings,
        r: Annotated[str, QueryParameter(max_length=400)] = "",
        g: Token = "",
    ) -> Template:
        receipt = read_receipt(settings, r)
        if receipt is None:
            raise NotFound(
                "この画面は表示できません。予約の内容は「予約の確認・取り消し」で確かめられます。",
                code="receipt_not_found",
            )
        current: BookingView | None = None
        if g:
            grant = await page_drafts.load(redis, page_drafts.GRANT, g)
            if grant is not None and grant.get("code") == receipt.code:
                try:
                    current = await bookings.find_booking(db, grant["code"], grant["phone"])
                except NotFound:
                    current = None
            if current is None:
                # The grant has run out: the booking may have changed since, and this page
                # shows nothing it cannot vouch for. The look-up, with the code filled in.
                return private_page(
                    "lookup_form.html",
                    values={"code": format_code(receipt.code), "phone": ""},
                    errors={},
                    error_list=[],
                    message=None,
                    notice=DONE_EXPIRED,
                    labels={"code": "予約番号", "phone": "電話番号"},
                )
        event = await events.get_event(db, receipt.event_id, include_unpublished=True)
        s = next((x for x in event.sessions if x.id == receipt.session_id), None)
        if s is None:
            raise session_not_found()
        return private_page(
            "book_done.html",
            event=event,
            s=s,
            receipt=receipt,
            current=current,
            booking_status=current.status if current else receipt.status,
            position=current.waitlist_position if current else receipt.waitlist_position,
            display_code=format_code(receipt.code),
            calendar_url=await calendars.booking_calendar_path(db, receipt.code),
            joining=await bookings.joining(db, receipt.code),
        )
