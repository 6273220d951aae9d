"""Checking and cancelling a booking: the booking code and the phone number it was made with,
then the details, then cancel with a confirmation step. Leaving the waiting list is the same."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import QueryParameter
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.dependencies import DB, AppSettings, Redis
from service.domain.bookings import service as bookings
from service.domain.bookings import use_cases
from service.domain.bookings.normalize import format_phone
from service.domain.bookings.schemas import BookingView
from service.domain.calendars import service as calendars
from service.domain.errors import DomainError, NotFound
from service.settings import Settings
from service.web.form_errors import Refusal, rerender
from service.web.public_common import form_values, limit_client, private_page

LOOKUP_FIELDS = ("code", "phone")
LOOKUP_LABELS = {"code": "予約番号", "phone": "電話番号"}


def _lookup_form(
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    *,
    message: str | None = None,
    status: int = 200,
) -> Template:
    errors = errors or {}
    ordered = [(name, errors[name]) for name in LOOKUP_LABELS if name in errors]
    return private_page(
        "lookup_form.html",
        status,
        values=values,
        errors=errors,
        error_list=ordered,
        message=message,
        labels=LOOKUP_LABELS,
    )


def _missing(values: dict[str, str]) -> dict[str, str]:
    errors = {}
    if not values["code"].strip():
        errors["code"] = "予約番号を入力してください（例：1234-5678-9012）。"
    if not values["phone"].strip():
        errors["phone"] = "お申し込みのときの電話番号を入力してください（例：090-1234-5678）。"
    return errors


async def _details(
    db: AsyncSession, booking: BookingView, values: dict[str, str], notice: str | None = None
) -> Template:
    live = booking.status in ("confirmed", "waitlisted")
    calendar_url = await calendars.booking_calendar_path(db, booking.code) if live else None
    return private_page(
        "booking_detail.html",
        booking=booking,
        notice=notice,
        phone_shown=format_phone(booking.phone),
        values=values,
        can_cancel=live and booking.session.status != "cancelled" and booking.checked_in_at is None,
        calendar_url=calendar_url,
    )


class LookupPages(Controller):
    include_in_schema = False

    @get("/bookings/lookup", name="booking_lookup")
    async def lookup_form(
        self, code: Annotated[str, QueryParameter(max_length=40)] = ""
    ) -> Template:
        # The done page and the mails link here with the code filled in.
        return _lookup_form({"code": code, "phone": ""})

    @post("/bookings/lookup", name="booking_lookup_post")
    async def lookup(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        redis: Redis,
        settings: AppSettings,
    ) -> Template:
        found = await _find_from_form(request, db, redis, settings, "lookup")
        if isinstance(found, Template):
            return found
        values, booking = found
        return await _details(db, booking, values)

    @post("/bookings/cancel", name="booking_cancel_confirm")
    async def cancel_confirm(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        redis: Redis,
        settings: AppSettings,
    ) -> Template:
        found = await _find_from_form(request, db, redis, settings, "cancel")
        if isinstance(found, Template):
            return found
        values, booking = found
        if booking.status == "cancelled" or booking.checked_in_at is not None:
            return await _details(db, booking, values)
        return private_page("cancel_confirm.html", booking=booking, values=values)

    @post("/bookings/cancel/complete", name="booking_cancel_complete")
    async def cancel(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        redis: Redis,
        settings: AppSettings,
    ) -> Template:
        await limit_client(request, redis, settings, "cancel")
        values = await form_values(request, LOOKUP_FIELDS)
        if errors := _missing(values):
            return _lookup_form(values, errors, status=422)
        try:
            outcome = await use_cases.cancel(db, values["code"], values["phone"], repeat_ok=True)
        except DomainError as exc:
            return await rerender(db, exc, partial(_refused, values))
        done = outcome.value
        # Pressed twice, or cancelled in another tab: it is done either way.
        return private_page(
            "cancel_done.html", booking=done.booking, was=done.was, again=done.was == "cancelled"
        )

    @post("/bookings/cancel-companion", name="booking_cancel_companion")
    async def cancel_companion(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        redis: Redis,
        settings: AppSettings,
    ) -> Template:
        """One companion no longer comes; the rest of the party keeps the booking."""
        found = await _find_from_form(request, db, redis, settings, "cancel")
        if isinstance(found, Template):
            return found
        values, booking = found
        raw = (await form_values(request, ("position",)))["position"]
        companion = next(
            (c for c in booking.live_companions if str(c.position) == raw.strip()), None
        )
        if companion is None or booking.status == "cancelled":
            return await _details(db, booking, values, "この同伴者はすでに取り消されています。")
        try:
            after = await use_cases.cancel_companion(
                db, values["code"], values["phone"], companion.position
            )
        except DomainError as exc:
            return await rerender(db, exc, partial(_companion_refused, db, booking, values))
        return await _details(
            db,
            after,
            values,
            f"同伴者 {companion.name} さんの参加を取り消しました。"
            f"ご予約は{after.party_size}名になりました。",
        )


def _refused(values: dict[str, str], refusal: Refusal) -> Template:
    return _lookup_form(values, refusal.fields, message=refusal.message)


async def _companion_refused(
    db: AsyncSession, booking: BookingView, values: dict[str, str], refusal: Refusal
) -> Template:
    return await _details(db, booking, values, refusal.message)


async def _find_from_form(
    request: Request[Any, Any, Any], db: DB, redis: Redis, settings: Settings, action: str
) -> tuple[dict[str, str], BookingView] | Template:
    """The booking named by the code and phone of a posted form, or the form again with what
    is wrong: every step of look-up and cancel starts this way."""
    await limit_client(request, redis, settings, action)
    values = await form_values(request, LOOKUP_FIELDS)
    if errors := _missing(values):
        return _lookup_form(values, errors, status=422)
    try:
        return values, await bookings.find_booking(db, values["code"], values["phone"])
    except NotFound as exc:
        return _lookup_form(values, message=exc.message, status=404)
