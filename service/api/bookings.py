"""The public booking API: book a session, look a booking up, cancel it.

Look-up and cancel take the phone number the booking was made with as a second factor; a wrong
phone and an unknown code give the same 404. Both POSTs honour an Idempotency-Key header.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, HeaderParameter, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from service.api.schemas_bookings import BookingOut, BookingRequest, CancelRequest, booking_out
from service.api.schemas_common import ErrorBody, IdempotencyKey
from service.domain.bookings import idempotency, use_cases
from service.domain.bookings import service as bookings
from service.domain.bookings.schemas import BookingView
from service.domain.errors import InvalidInput
from service.domain.matching import service as matching
from service.edge.dependencies import DB, AppSettings, Redis, resources
from service.edge.rate_limit import count_booking, count_code_guess

MAX_BODY_BYTES = 16 * 1024
PHONE_HEADER = "X-Booking-Phone"

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


def _header_text(value: str) -> str:
    """Header values arrive decoded as latin-1; a phone typed in full width was sent as UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _answer(outcome: idempotency.Outcome[BookingView], status_code: int) -> Response[BookingOut]:
    headers = {idempotency.REPLAY_HEADER: "true"} if outcome.replayed else {}
    return Response(
        booking_out(outcome.value, just_now=True), status_code=status_code, headers=headers
    )


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
        responses={
            **_ERRORS,
            409: _BOOKING_CONFLICTS,
            429: ResponseSpec(
                ErrorBody,
                description="`rate_limited`: more than BOOKING_LIMIT_PER_MINUTE bookings from "
                "this address in a minute (pages and API together); `Retry-After` says when "
                "to try again, the message gives the desk's phone",
            ),
        },
    )
    async def create_booking(
        self,
        request: Request[Any, Any, Any],
        session_id: FromPath[int],
        data: JSONBody[BookingRequest],
        db: DB,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[BookingOut]:
        # Redis and the settings come from the app's state, not as dependencies: Litestar
        # resolves two or more dependencies of a handler in an anyio task group, a task each,
        # which cost about 0.03 ms of CPU per booking (`make bench`, case (b), py-spy).
        res = resources(request.app.state)
        await count_booking(res.redis, request, res.settings)
        # A matching day's booking also carries "matching": {"profile", "consent"}.
        outcome = await matching.book(
            db, session_id, msgspec.to_builtins(data), key=idempotency_key, channel="web"
        )
        return _answer(outcome, HTTP_201_CREATED)

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
        await count_code_guess(redis, request, settings)
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
        await count_code_guess(redis, request, settings)
        outcome = await use_cases.cancel(
            db, code, data.phone, reason=data.reason, key=idempotency_key
        )
        cancelled = idempotency.Outcome(outcome.value.booking, outcome.replayed)
        return _answer(cancelled, HTTP_200_OK)

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
        await count_code_guess(redis, request, settings)
        return booking_out(await use_cases.cancel_companion(db, code, data.phone, position))
