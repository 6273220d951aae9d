"""The public booking API: book a session, look a booking up, cancel it.

Look-up and cancel take the phone number the booking was made with as a second factor; a wrong
phone and an unknown code give the same 404. Both POSTs honour an Idempotency-Key header.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from service.api.schemas_bookings import BookingOut, BookingRequest, CancelRequest, booking_out
from service.api.schemas_common import ErrorBody
from service.dependencies import DB, AppSettings, Redis
from service.domain.bookings import idempotency
from service.domain.bookings import service as bookings
from service.domain.bookings.errors import companion_not_found, session_not_found
from service.domain.bookings.normalize import clean_text, normalize_code
from service.domain.bookings.schemas import validate_booking_input
from service.domain.errors import InvalidInput
from service.rate_limit import hit_per_client

MAX_BODY_BYTES = 16 * 1024
MAX_ID = 2**63 - 1
REASON_MAX = 200
PHONE_HEADER = "X-Booking-Phone"
CREATE_SCOPE = "bookings.create"
CANCEL_SCOPE = "bookings.cancel"

_ERRORS = {
    422: ResponseSpec(
        ErrorBody,
        description="`validation_error` (each bad field named in `fields`) or "
        "`idempotency_key_reused`",
    ),
    404: ResponseSpec(ErrorBody, description="Unknown id or code, or wrong phone number"),
    413: ResponseSpec(ErrorBody, description="`too_large`: the body is over 16 KiB"),
}
_BOOKING_CONFLICTS = ResponseSpec(
    ErrorBody,
    description="The booking cannot be taken: `session_not_open`, `booking_closed`, "
    "`session_cancelled`, `session_past`, `event_not_published`, `waitlist_full`, "
    "`session_full` (no waiting list), `already_booked` (this phone or e-mail address already "
    "holds a live booking for the session), `try_again`.",
)
_IDEMPOTENCY_DOC = (
    "Optional. A retry carrying the same key gets the first successful response again (with "
    "the `Idempotent-Replayed: true` header), never a second booking; the same key with a "
    "different body is a 422 `idempotency_key_reused`. Refused requests are not stored, so a "
    "retry of one is judged again. Keys are kept at least 24 hours."
)


def _reason(raw: str | None) -> str | None:
    if raw is None:
        return None
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") for c in raw):
        raise InvalidInput(fields={"reason": "使えない文字が含まれています。"})
    value = clean_text(raw)
    if len(value) > REASON_MAX:
        raise InvalidInput(fields={"reason": f"理由は{REASON_MAX}文字以内で入力してください。"})
    return value or None


def _header_text(value: str) -> str:
    """Header values arrive decoded as latin-1; a phone typed in full width was sent as UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _replayed(replay: idempotency.Replay) -> Response[Any]:
    """The first response again, byte for byte (rebuilt through BookingOut, as jsonb does not
    keep key order); as stored if BookingOut has changed since it was stored."""
    body: BookingOut | dict[str, Any]
    try:
        body = msgspec.convert(replay.body, BookingOut)
    except msgspec.ValidationError:
        body = replay.body
    return Response(
        body,
        status_code=replay.status_code,
        media_type=MediaType.JSON,
        headers={idempotency.REPLAY_HEADER: "true"},
    )


IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(name=idempotency.HEADER, required=False, description=_IDEMPOTENCY_DOC),
]


class BookingsController(Controller):
    tags = ["bookings"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        "/sessions/{session_id:int}/bookings",
        status_code=HTTP_201_CREATED,
        request_max_body_size=MAX_BODY_BYTES,
        summary="Book a seat: confirmed while seats last, then the waiting list",
        description=(
            "First come, first served: the first `capacity` requests are confirmed, later ones "
            "join the waiting list in arrival order (`waitlist_position` 1, 2, ...) up to its "
            "limit. Text is normalised (full-width digits and hyphens, hiragana and half-width "
            "katakana, spaces); every bad field is named in `fields`. Keep the `code` and the "
            "phone number: both are needed to look the booking up or cancel it."
        ),
        responses={**_ERRORS, 409: _BOOKING_CONFLICTS},
    )
    async def create_booking(
        self,
        session_id: FromPath[int],
        data: JSONBody[BookingRequest],
        db: DB,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[BookingOut]:
        key = idempotency.check_key(idempotency_key) if idempotency_key is not None else None
        if key is not None:
            request_hash = idempotency.fingerprint(
                CREATE_SCOPE, str(session_id), msgspec.json.encode(data)
            )
            if replay := await idempotency.claim(db, CREATE_SCOPE, key, request_hash):
                return _replayed(replay)
        valid = validate_booking_input(msgspec.to_builtins(data))
        if not 1 <= session_id <= MAX_ID:
            raise session_not_found()
        out = booking_out(await bookings.book(db, session_id, valid), just_now=True)
        if key is not None:
            await idempotency.store(db, CREATE_SCOPE, key, HTTP_201_CREATED, out)
        return Response(out, status_code=HTTP_201_CREATED)

    @get(
        "/bookings/{code:str}",
        summary="Look a booking up by its code and phone number",
        description=(
            f"The phone number goes in the `{PHONE_HEADER}` header (kept out of URLs and logs). "
            "An unknown code and a wrong phone number give the same 404. Limited per address."
        ),
        responses={404: _ERRORS[404], 422: _ERRORS[422]},
    )
    async def get_booking(
        self,
        request: Request[Any, Any, Any],
        code: FromPath[str],
        db: DB,
        redis: Redis,
        settings: AppSettings,
        phone: Annotated[
            str | None,
            HeaderParameter(
                name=PHONE_HEADER,
                required=False,
                description="The phone number the booking was made with.",
            ),
        ] = None,
    ) -> BookingOut:
        if not phone or not phone.strip():
            raise InvalidInput(fields={PHONE_HEADER: "電話番号を入力してください。"})
        await hit_per_client(redis, request, "booking-lookup", settings.rate_limit_per_minute)
        return booking_out(await bookings.find_booking(db, code, _header_text(phone)))

    @post(
        "/bookings/{code:str}/cancel",
        status_code=HTTP_200_OK,
        request_max_body_size=MAX_BODY_BYTES,
        summary="Cancel a booking, or leave the waiting list",
        description=(
            "Cancelling a confirmed booking gives its seat to the first person on the waiting "
            "list in the same transaction; leaving the waiting list moves everyone behind up "
            "one place. An unknown code and a wrong phone number give the same 404. Limited per "
            "address."
        ),
        responses={
            **_ERRORS,
            409: ResponseSpec(
                ErrorBody,
                description="`already_cancelled`, or `session_past` (it has already started)",
            ),
        },
    )
    async def cancel_booking(
        self,
        request: Request[Any, Any, Any],
        code: FromPath[str],
        data: JSONBody[CancelRequest],
        db: DB,
        redis: Redis,
        settings: AppSettings,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[BookingOut]:
        key = idempotency.check_key(idempotency_key) if idempotency_key is not None else None
        if key is not None:
            request_hash = idempotency.fingerprint(
                CANCEL_SCOPE, normalize_code(code) or code, msgspec.json.encode(data)
            )
            if replay := await idempotency.claim(db, CANCEL_SCOPE, key, request_hash):
                return _replayed(replay)
        reason = _reason(data.reason)
        if not data.phone or not data.phone.strip():
            raise InvalidInput(fields={"phone": "電話番号を入力してください。"})
        await hit_per_client(redis, request, "booking-cancel", settings.rate_limit_per_minute)
        view = await bookings.cancel_booking(db, code, data.phone, reason=reason)
        out = booking_out(view, just_now=True)
        if key is not None:
            await idempotency.store(db, CANCEL_SCOPE, key, HTTP_200_OK, out)
        return Response(out, status_code=HTTP_200_OK)

    @post(
        "/bookings/{code:str}/companions/{position:int}/cancel",
        status_code=HTTP_200_OK,
        request_max_body_size=MAX_BODY_BYTES,
        summary="Cancel one companion of a booking",
        description=(
            "The companion at `position` no longer comes: the party keeps its booking, gives "
            "back one seat (the first party on the waiting list moves up when it now fits) "
            "and `party_size` goes down by one. To cancel the whole party, cancel the booking. "
            "Same phone check and limits as cancelling."
        ),
        responses={
            **_ERRORS,
            409: ResponseSpec(ErrorBody, description="`already_cancelled` or `session_past`"),
        },
    )
    async def cancel_companion(
        self,
        request: Request[Any, Any, Any],
        code: FromPath[str],
        position: FromPath[int],
        data: JSONBody[CancelRequest],
        db: DB,
        redis: Redis,
        settings: AppSettings,
    ) -> BookingOut:
        if not data.phone or not data.phone.strip():
            raise InvalidInput(fields={"phone": "電話番号を入力してください。"})
        await hit_per_client(redis, request, "booking-cancel", settings.rate_limit_per_minute)
        found = await bookings.find_booking(db, code, data.phone)
        if not 1 <= position <= MAX_ID:
            raise companion_not_found()
        view = await bookings.cancel_companion(
            db, found.id, position, staff_id=None, self_service=True
        )
        return booking_out(view)
