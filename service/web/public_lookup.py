"""Checking and cancelling a booking: the booking code and the phone number it was made with,
then the details, then cancel with a confirmation step. Leaving the waiting list is the same.

Every POST answers 303 to a GET page (POST-redirect-GET), so Back and Reload never post again.
A look-up that passes the code-and-phone check (rate limited) is given a grant
(service.web.page_drafts.GRANT: 15 minutes, an unguessable token in the address) naming that one
booking; the details, the cancel question and the cancel-done page are GET pages of the grant,
read afresh each time (after cancelling, the details say so), and the cancel and companion
forms post the grant, not a code. A grant opens only its own booking, and the look-up form
again once it has expired. When Redis is away, no grant can be kept: the forms then carry the
code and phone in hidden fields and each POST answers with its page, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from redis.asyncio import Redis as RedisClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import errors as booking_errors
from service.domain.bookings import service as bookings
from service.domain.bookings import use_cases
from service.domain.bookings.normalize import code_length_problem, format_phone
from service.domain.bookings.schemas import BookingView, CompanionView
from service.domain.calendars import service as calendars
from service.domain.errors import DomainError, NotFound
from service.domain.line import linking
from service.domain.matching import public as matching_public
from service.edge import rate_limit
from service.edge.dependencies import DB, AppSettings, Redis
from service.platform.settings import Settings
from service.web import page_drafts
from service.web.form_errors import refusal_of
from service.web.public_common import form_values, limit_client, private_page

LOOKUP_FIELDS = ("code", "phone")
LOOKUP_LABELS = {"code": "予約番号", "phone": "電話番号"}
GRANT_FIELD = "g"
EXPIRED = (
    f"予約の内容を表示できる時間（{page_drafts.GRANT.ttl_seconds // 60}分）が過ぎました。"
    "お手数ですが、もう一度、予約番号と電話番号を入力してください。"
)
Token = Annotated[str, QueryParameter(max_length=64)]
Position = Annotated[str, QueryParameter(max_length=4)]
Answer = Template | Redirect


@dataclass(frozen=True, slots=True)
class Opened:
    """The booking a request may act on: by a grant (token), or by the code and phone posted
    with a form answered while Redis was away (token None)."""

    booking: BookingView
    values: dict[str, str]  # code and phone, for the hidden fields when there is no grant
    token: str | None
    grant: dict[str, Any] = field(default_factory=dict)  # with its notice and cancel outcome


def _lookup_form(
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    *,
    message: str | None = None,
    notice: str | None = None,
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
        notice=notice,
        labels=LOOKUP_LABELS,
    )


def _missing(values: dict[str, str]) -> dict[str, str]:
    errors = {}
    if not values["code"].strip():
        errors["code"] = "予約番号を入力してください（例：1234-5678-9012）。"
    elif problem := code_length_problem(values["code"]):
        errors["code"] = problem
    if not values["phone"].strip():
        errors["phone"] = "お申し込みのときの電話番号を入力してください（例：090-1234-5678）。"
    return errors


async def _back_to_lookup(
    redis: RedisClient, values: dict[str, str], status: int, **draft: Any
) -> Answer:
    """303 to the look-up form showing what was typed and what is wrong."""
    token = await page_drafts.save(redis, page_drafts.LOOKUP, {"values": values, **draft})
    if token is None:
        return _lookup_form(values, status=status, **draft)
    return Redirect(f"/bookings/lookup?d={token}", status_code=303)


async def _details(db: AsyncSession, opened: Opened, notice: str | None = None) -> Template:
    booking = opened.booking
    live = booking.status in ("confirmed", "waitlisted")
    # A matching day's participant: their timetable, and the companies to rank.
    matching = await matching_public.participant_page(db, booking.id) if live else None
    links = await calendars.booking_calendar_links(db, booking.code) if live else None
    calendar_url = links[0] if links else None
    timetable_url = links[1] if links and matching is not None and matching.meetings else None
    return private_page(
        "booking_detail.html",
        booking=booking,
        notice=notice,
        phone_shown=format_phone(booking.phone),
        values=opened.values,
        grant=opened.token,
        can_cancel=live and booking.session.status != "cancelled" and booking.checked_in_at is None,
        calendar_url=calendar_url,
        timetable_url=timetable_url,
        # Unlinking LINE needs the grant (its confirmation is a GET page of it).
        line_linked=opened.token is not None and await linking.is_linked(db, booking.id),
        matching=matching,
    )


def _cancellable(booking: BookingView) -> bool:
    return booking.status != "cancelled" and booking.checked_in_at is None


async def _granted(db: AsyncSession, redis: RedisClient, token: str) -> Opened | Template:
    """The booking a grant opens, read afresh; the look-up form again when it has expired."""
    grant = await page_drafts.load(redis, page_drafts.GRANT, token)
    if grant is None:
        return _lookup_form({"code": "", "phone": ""}, notice=EXPIRED)
    try:
        booking = await bookings.find_booking(db, grant["code"], grant["phone"])
    except NotFound as exc:  # purged meanwhile
        return _lookup_form({"code": "", "phone": ""}, message=exc.message, status=404)
    return Opened(booking, {"code": grant["code"], "phone": grant["phone"]}, token, grant)


async def _open(
    request: Request[Any, Any, Any], db: AsyncSession, redis: RedisClient, settings: Settings
) -> Opened | Answer:
    """The booking a POST acts on: its grant's (nothing else posted is read then), or the one
    the posted code and phone find, for which a grant is made when Redis is there. A posted
    code and phone is one guess in the address's one bucket (rate_limit.CODE_GUESS)."""
    values = await form_values(request, (*LOOKUP_FIELDS, GRANT_FIELD))
    posted = values.pop(GRANT_FIELD)
    grant: dict[str, Any] | None = None
    if posted:
        grant = await page_drafts.load(redis, page_drafts.GRANT, posted)
        if grant is None:
            # The details page says it has expired and offers the look-up form.
            kept = posted if page_drafts.is_token(posted) else ""
            return Redirect(f"/bookings/details?g={kept}", status_code=303)
        values = {"code": grant["code"], "phone": grant["phone"]}
    elif errors := _missing(values):
        return await _back_to_lookup(redis, values, 422, errors=errors)
    else:
        await rate_limit.count_code_guess(redis, request, settings)
    try:
        booking = await bookings.find_booking(db, values["code"], values["phone"])
    except NotFound as exc:
        return await _back_to_lookup(redis, values, 404, message=exc.message)
    if grant is not None:
        return Opened(booking, values, posted, grant)
    grant = {"code": booking.code, "phone": booking.phone}
    token = await page_drafts.save(redis, page_drafts.GRANT, grant)
    return Opened(booking, grant if token else values, token, grant)


async def _to_details(
    db: AsyncSession, redis: RedisClient, opened: Opened, notice: str | None
) -> Answer:
    if opened.token is None:
        return await _details(db, opened, notice)
    await page_drafts.update(redis, page_drafts.GRANT, opened.token, {"notice": notice})
    return Redirect(f"/bookings/details?g={opened.token}", status_code=303)


class LookupPages(Controller):
    include_in_schema = False

    @get("/bookings/lookup", name="booking_lookup")
    async def lookup_form(
        self, redis: Redis, code: Annotated[str, QueryParameter(max_length=40)] = "", d: Token = ""
    ) -> Template:
        if not d:
            # The done page and the mails link here with the code filled in.
            return _lookup_form({"code": code, "phone": ""})
        draft = await page_drafts.load(redis, page_drafts.LOOKUP, d)
        if draft is None:
            return _lookup_form({"code": code, "phone": ""}, notice=EXPIRED)
        return _lookup_form(
            draft["values"], draft.get("errors"), message=draft.get("message"), status=200
        )

    @post("/bookings/lookup", name="booking_lookup_post")
    async def lookup(
        self, request: Request[Any, Any, Any], db: DB, redis: Redis, settings: AppSettings
    ) -> Answer:
        opened = await _open(request, db, redis, settings)
        if not isinstance(opened, Opened):
            return opened
        return await _to_details(db, redis, opened, None)

    @get("/bookings/details", name="booking_details")
    async def details(self, db: DB, redis: Redis, g: Token = "") -> Template:
        opened = await _granted(db, redis, g)
        if not isinstance(opened, Opened):
            return opened
        return await _details(db, opened, opened.grant.get("notice"))

    @get("/bookings/cancel", name="booking_cancel_question")
    async def cancel_question(self, db: DB, redis: Redis, g: Token = "") -> Template:
        opened = await _granted(db, redis, g)
        if not isinstance(opened, Opened):
            return opened
        if not _cancellable(opened.booking):
            # Back from the cancel-done page lands here: the details say it is cancelled.
            return await _details(db, opened)
        return _cancel_question(opened)

    @post("/bookings/cancel", name="booking_cancel_confirm")
    async def cancel_confirm(
        self, request: Request[Any, Any, Any], db: DB, redis: Redis, settings: AppSettings
    ) -> Answer:
        """The question from a details page answered without a grant (Redis was away)."""
        await limit_client(request, redis, settings, "cancel")
        opened = await _open(request, db, redis, settings)
        if not isinstance(opened, Opened):
            return opened
        if opened.token:
            return Redirect(f"/bookings/cancel?g={opened.token}", status_code=303)
        if not _cancellable(opened.booking):
            return await _details(db, opened)
        return _cancel_question(opened)

    @post("/bookings/cancel/complete", name="booking_cancel_complete")
    async def cancel(
        self, request: Request[Any, Any, Any], db: DB, redis: Redis, settings: AppSettings
    ) -> Answer:
        await limit_client(request, redis, settings, "cancel")
        opened = await _open(request, db, redis, settings)
        if not isinstance(opened, Opened):
            return opened
        code, phone = opened.values["code"], opened.values["phone"]
        try:
            outcome = await use_cases.cancel(db, code, phone, repeat_ok=True)
        except DomainError as exc:
            refusal = await refusal_of(db, exc)
            return await _to_details(db, redis, opened, refusal.message)
        done = outcome.value
        if opened.token is None:
            return _cancel_done(done.booking, done.was)
        # Pressed twice, or cancelled in another tab: it is done either way.
        await page_drafts.update(redis, page_drafts.GRANT, opened.token, {"was": done.was})
        return Redirect(f"/bookings/cancel/done?g={opened.token}", status_code=303)

    @get("/bookings/cancel/done", name="booking_cancel_done")
    async def cancel_done(self, db: DB, redis: Redis, g: Token = "") -> Template:
        opened = await _granted(db, redis, g)
        if not isinstance(opened, Opened):
            return opened
        was = opened.grant.get("was")
        if not was or opened.booking.status != "cancelled":
            return await _details(db, opened)
        return _cancel_done(opened.booking, was)

    @get("/bookings/cancel-companion", name="booking_companion_question")
    async def companion_question(
        self, db: DB, redis: Redis, g: Token = "", position: Position = ""
    ) -> Template:
        """「〇〇さんだけ取り消す」 asks once more: nothing changes until it is answered."""
        opened = await _granted(db, redis, g)
        if not isinstance(opened, Opened):
            return opened
        return await _companion_question(db, opened, position)

    @post("/bookings/cancel-companion", name="booking_companion_question_post")
    async def companion_question_post(
        self, request: Request[Any, Any, Any], db: DB, redis: Redis, settings: AppSettings
    ) -> Answer:
        """The question from a details page answered without a grant (Redis was away)."""
        await limit_client(request, redis, settings, "cancel")
        opened = await _open(request, db, redis, settings)
        if not isinstance(opened, Opened):
            return opened
        raw = (await form_values(request, ("position",)))["position"].strip()
        if opened.token:
            return Redirect(
                f"/bookings/cancel-companion?g={opened.token}&position={quote(raw[:4])}",
                status_code=303,
            )
        return await _companion_question(db, opened, raw)

    @post("/bookings/matching-choices", name="booking_matching_choices")
    async def matching_choices(
        self, request: Request[Any, Any, Any], db: DB, redis: Redis, settings: AppSettings
    ) -> Answer:
        """A participant ranks the companies of their matching day."""
        await limit_client(request, redis, settings, "cancel")
        opened = await _open(request, db, redis, settings)
        if not isinstance(opened, Opened):
            return opened
        form = await request.form()
        ranks = {k: v for k, v in form.items() if k.startswith("rank_") and isinstance(v, str)}
        try:
            await matching_public.save_choices_from_form(db, opened.booking.id, ranks)
        except DomainError as exc:
            refusal = await refusal_of(db, exc)
            message = " ".join(refusal.fields.values()) or refusal.message
            return await _to_details(db, redis, opened, message)
        return await _to_details(db, redis, opened, "面談したい企業の希望を保存しました。")

    @post("/bookings/cancel-companion/complete", name="booking_cancel_companion")
    async def cancel_companion(
        self, request: Request[Any, Any, Any], db: DB, redis: Redis, settings: AppSettings
    ) -> Answer:
        """One companion no longer comes; the rest of the party keeps the booking."""
        await limit_client(request, redis, settings, "cancel")
        opened = await _open(request, db, redis, settings)
        if not isinstance(opened, Opened):
            return opened
        booking = opened.booking
        raw = (await form_values(request, ("position",)))["position"]
        companion = _companion(booking, raw)
        if companion is None or booking.status == "cancelled":
            return await _to_details(db, redis, opened, "この同伴者はすでに取り消されています。")
        try:
            after = await use_cases.cancel_companion(
                db, opened.values["code"], opened.values["phone"], companion.position
            )
        except DomainError as exc:
            refusal = await refusal_of(db, exc)
            return await _to_details(db, redis, opened, refusal.message)
        notice = (
            f"同伴者 {companion.name} さんの参加を取り消しました。"
            f"ご予約は{after.party_size}名になりました。"
        )
        return await _to_details(db, redis, Opened(after, opened.values, opened.token), notice)


def _companion(booking: BookingView, raw: str) -> CompanionView | None:
    return next((c for c in booking.live_companions if str(c.position) == raw.strip()), None)


async def _companion_question(db: AsyncSession, opened: Opened, raw: str) -> Template:
    booking = opened.booking
    companion = _companion(booking, raw)
    if booking.checked_in_at is not None and booking.status != "cancelled":
        # A party that has checked in stays whole (the button is hidden; a hand-made link too).
        return await _details(
            db, opened, booking_errors.companion_checked_in_self_service().message
        )
    if companion is None or not _cancellable(booking) or booking.session.status == "cancelled":
        # Back after it was done, or a stale link: the details say how things are now.
        return await _details(db, opened, "この同伴者は、すでに取り消されています。")
    # Only a confirmed party gives a seat back; say so only when someone waits for it.
    promotes = booking.status == "confirmed" and await bookings.someone_waits(
        db, booking.session.id
    )
    return private_page(
        "companion_cancel_confirm.html",
        booking=booking,
        companion=companion,
        promotes=promotes,
        values=opened.values,
        grant=opened.token,
    )


class LineUnlinkPages(Controller):
    """Unlinking the person's LINE from the look-up page, with a confirmation step."""

    include_in_schema = False

    @get("/bookings/line-unlink", name="booking_line_unlink_question")
    async def question(self, db: DB, redis: Redis, g: Token = "") -> Template:
        opened = await _granted(db, redis, g)
        if not isinstance(opened, Opened):
            return opened
        if not await linking.is_linked(db, opened.booking.id):
            return await _details(db, opened)
        return private_page("line_unlink_confirm.html", booking=opened.booking, grant=opened.token)

    @post("/bookings/line-unlink", name="booking_line_unlink")
    async def unlink(
        self, request: Request[Any, Any, Any], db: DB, redis: Redis, settings: AppSettings
    ) -> Answer:
        await limit_client(request, redis, settings, "cancel")
        opened = await _open(request, db, redis, settings)
        if not isinstance(opened, Opened):
            return opened
        done = await linking.unlink_booking_person(db, opened.booking)
        notice = "LINEとの連携をやめました。" if done else "LINEとは連携していません。"
        return await _to_details(db, redis, opened, notice)


def _cancel_question(opened: Opened) -> Template:
    return private_page(
        "cancel_confirm.html", booking=opened.booking, values=opened.values, grant=opened.token
    )


def _cancel_done(booking: BookingView, was: str) -> Template:
    return private_page("cancel_done.html", booking=booking, was=was, again=was == "cancelled")
