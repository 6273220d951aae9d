"""The public booking flow: form -> check what you typed -> done (with the booking code).

Everything works with plain HTML forms (no JavaScript). The typed values travel between the
steps in hidden fields and are validated again at the end. A person who was shown a free seat
is never silently put on the waiting list: the final step books with join_waitlist=False unless
they chose the waiting list, so if the last seat went while they were typing, nothing is booked
and they are asked whether they want the waiting list instead.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict
from functools import partial
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.dependencies import DB, AppSettings, Redis
from service.domain.bookings import service as bookings
from service.domain.bookings import use_cases
from service.domain.bookings.enums import AGE_BANDS, HEARD_FROM, PERSON_WARDS
from service.domain.bookings.errors import session_not_found
from service.domain.bookings.normalize import clean_text, format_phone
from service.domain.bookings.schemas import (
    COMPANIONS_MAX,
    NEEDS_EXAMPLES,
    BookingView,
    ValidBooking,
    format_code,
    validate_booking_input,
)
from service.domain.calendars import service as calendars
from service.domain.errors import DomainError, InvalidInput, NotFound
from service.domain.events import service as events
from service.domain.events.schemas import EventView, SessionView
from service.web.form_errors import Refusal, rerender
from service.web.party_form import companion_rows, companions_from_form
from service.web.public_common import form_values, limit_client, private_page
from service.web.public_receipts import Receipt, read_receipt, sign_receipt

# The order of the error summary is the order of the form.
FIELD_LABELS = {
    "name": "お名前",
    "name_kana": "ふりがな",
    "phone": "電話番号",
    "email": "メールアドレス",
    "age_band": "年代",
    "ward": "お住まいの区",
    "heard_from": "このイベントを知ったきっかけ",
    **{
        f"companions.{i}.{key}": f"同伴者{i + 1}の{label}"
        for i in range(COMPANIONS_MAX)
        for key, label in (("name", "氏名"), ("name_kana", "読みがな"))
    },
    "companions": "同伴者",
    "needs": "配慮事項",
}
BOOKING_FIELDS = tuple(k for k in FIELD_LABELS if k != "companions")
CHOICES = {"age_band": AGE_BANDS, "ward": PERSON_WARDS, "heard_from": HEARD_FROM}
EXPECT_SEAT, EXPECT_WAITLIST = "seat", "waitlist"
FORM_KEY_FIELD = "form_key"
FULL_CODES = ("session_full", "waitlist_full")


def _base(event_id: int, session_id: int) -> str:
    return f"/events/{event_id}/sessions/{session_id}/book"


async def _event_session(
    db: AsyncSession, event_id: int, session_id: int
) -> tuple[EventView, SessionView]:
    event = await events.get_event(db, event_id)
    for s in event.sessions:
        if s.id == session_id:
            return event, s
    raise session_not_found()


def _expect(s: SessionView) -> str:
    return EXPECT_SEAT if s.state == "open" else EXPECT_WAITLIST


def _form_page(
    event: EventView,
    s: SessionView,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    *,
    message: str | None = None,
    status: int = 200,
) -> Template:
    errors = {k: v for k, v in (errors or {}).items() if k in FIELD_LABELS}
    ordered = [(name, errors[name]) for name in FIELD_LABELS if name in errors]
    return private_page(
        "book_form.html",
        status,
        event=event,
        s=s,
        values=values,
        errors=errors,
        error_list=ordered,
        message=message,
        labels=FIELD_LABELS,
        choices=CHOICES,
        companion_rows=companion_rows(event.max_companions),
        needs_examples=NEEDS_EXAMPLES,
        action=_base(event.id, s.id) + "/confirm",
    )


def _unavailable_page(event: EventView, s: SessionView, message: str | None = None) -> Template:
    return private_page("book_unavailable.html", 409, event=event, s=s, message=message)


def _hidden(valid: ValidBooking) -> dict[str, str]:
    values = {k: v or "" for k, v in asdict(valid).items() if k != "companions"}
    for i, c in enumerate(valid.companions):
        values[f"companions.{i}.name"] = c.name
        values[f"companions.{i}.name_kana"] = c.name_kana
    return values


def _raw(values: dict[str, str]) -> dict[str, object]:
    """The form's values as the booking input: the companion rows become one list."""
    return {**values, "companions": companions_from_form(values)}


def _validate(values: dict[str, str]) -> ValidBooking:
    return validate_booking_input(_raw(values))


def _shown(valid: ValidBooking, typed_kana: str) -> list[tuple[str, str]]:
    """(label, value) as a person reads them back on the confirmation page."""
    shown = [
        ("お名前", valid.name),
        ("ふりがな", typed_kana or valid.name_kana),
        ("電話番号", format_phone(valid.phone)),
        ("メールアドレス", valid.email or ""),
        ("年代", AGE_BANDS.get(valid.age_band or "", "")),
        ("お住まいの区", PERSON_WARDS.get(valid.ward or "", "")),
        ("このイベントを知ったきっかけ", HEARD_FROM.get(valid.heard_from or "", "")),
    ]
    for i, c in enumerate(valid.companions, 1):
        shown.append((f"同伴者{i}", f"{c.name}（{c.name_kana}）"))
    shown.append(("人数", f"{valid.party_size}名"))
    shown.append(("配慮事項", valid.needs or ""))
    return shown


def _full_page(
    event: EventView, s: SessionView, values: dict[str, str], *, can_waitlist: bool
) -> Template:
    return private_page(
        "book_full.html",
        409,
        event=event,
        s=s,
        can_waitlist=can_waitlist,
        hidden=values,
        form_key=secrets.token_urlsafe(16),
        action=_base(event.id, s.id) + "/complete",
    )


async def _refused(
    db: AsyncSession, event_id: int, session_id: int, values: dict[str, str], refusal: Refusal
) -> Template:
    """The final step refused: the form with what is wrong, the question whether to wait, or
    why the session cannot be booked."""
    if isinstance(refusal.error, NotFound):
        raise refusal.error
    event, s = await _event_session(db, event_id, session_id)
    if isinstance(refusal.error, InvalidInput):
        return _form_page(event, s, values, refusal.fields)
    if refusal.code == "waitlist_only":
        return _full_page(event, s, values, can_waitlist=True)
    if refusal.code in FULL_CODES:
        return _full_page(event, s, values, can_waitlist=False)
    if refusal.code in ("already_booked", "too_many_companions"):
        return _form_page(event, s, values, refusal.fields, message=refusal.message)
    return _unavailable_page(event, s, refusal.message)


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
    async def form(self, db: DB, event_id: FromPath[int], session_id: FromPath[int]) -> Template:
        event, s = await _event_session(db, event_id, session_id)
        if not s.bookable:
            return _unavailable_page(event, s)
        return _form_page(event, s, {})

    @post("/events/{event_id:int}/sessions/{session_id:int}/book", name="booking_edit")
    async def edit(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        event_id: FromPath[int],
        session_id: FromPath[int],
    ) -> Template:
        """Back from the confirmation page to the form, with everything still filled in."""
        values = await form_values(request, BOOKING_FIELDS)
        event, s = await _event_session(db, event_id, session_id)
        if not s.bookable:
            return _unavailable_page(event, s)
        return _form_page(event, s, values)

    @post("/events/{event_id:int}/sessions/{session_id:int}/book/confirm", name="booking_confirm")
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        redis: Redis,
        settings: AppSettings,
        event_id: FromPath[int],
        session_id: FromPath[int],
    ) -> Template:
        await limit_client(request, redis, settings, "booking")
        values = await form_values(request, BOOKING_FIELDS)
        event, s = await _event_session(db, event_id, session_id)
        if not s.bookable:
            return _unavailable_page(event, s)
        try:
            valid = _validate(values)
        except InvalidInput as exc:
            return _form_page(event, s, values, exc.fields, status=422)
        return private_page(
            "book_confirm.html",
            event=event,
            s=s,
            # The reading as they typed it (hiragana stays hiragana); katakana is what is stored.
            shown=_shown(valid, clean_text(values.get("name_kana", ""))),
            has_email=bool(valid.email),
            hidden=_hidden(valid),
            expect=_expect(s),
            form_key=secrets.token_urlsafe(16),
            action=_base(event.id, s.id) + "/complete",
            edit_action=_base(event.id, s.id),
        )

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
        values = await form_values(request, (*BOOKING_FIELDS, "expect", FORM_KEY_FIELD))
        expect = EXPECT_WAITLIST if values.pop("expect") == EXPECT_WAITLIST else EXPECT_SEAT
        form_key = values.pop(FORM_KEY_FIELD)
        try:
            outcome = await use_cases.book(
                db,
                session_id,
                _raw(values),
                key=form_key if 16 <= len(form_key) <= 64 else None,
                channel="web",
                join_waitlist=expect == EXPECT_WAITLIST,
            )
        except DomainError as exc:
            return await rerender(db, exc, partial(_refused, db, event_id, session_id, values))
        booking = outcome.value
        if booking.session.event_id != event_id:
            raise session_not_found()  # a form posted under another event's address
        location = "/bookings/done?r=" + sign_receipt(settings, _receipt(booking, event_id))
        return Redirect(location, status_code=303)

    @get("/bookings/done", name="booking_done")
    async def done(
        self, db: DB, settings: AppSettings, r: Annotated[str, QueryParameter(max_length=400)] = ""
    ) -> Template:
        receipt = read_receipt(settings, r)
        if receipt is None:
            raise NotFound(
                "この画面は表示できません。予約の内容は「予約の確認・取り消し」で確かめられます。",
                code="receipt_not_found",
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
            display_code=format_code(receipt.code),
            calendar_url=await calendars.booking_calendar_path(db, receipt.code),
            joining=await bookings.joining(db, receipt.code),
        )
