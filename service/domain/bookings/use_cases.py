"""The booking use cases, one call each from every adapter (the API, the pages, the console).

Each takes the raw input as it arrived and the Idempotency-Key (or a page's one-time form
key), and returns the outcome: validation, idempotency, the rules, the SQL and the notices all
happen below this call. The adapters only translate the outcome or the error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import errors
from service.domain.bookings import service as rules
from service.domain.bookings.idempotency import Outcome, canonical, once
from service.domain.bookings.idempotency_repository import KeyClaim
from service.domain.bookings.normalize import clean_text, normalize_code
from service.domain.bookings.schemas import BookingView, validate_booking_input
from service.domain.errors import Conflict, InvalidInput
from service.domain.text_rules import has_forbidden_chars, is_database_id

BOOK_SCOPE = "bookings.book"
CANCEL_SCOPE = "bookings.cancel"
REASON_MAX = 200


async def book(
    db: AsyncSession,
    session_id: int,
    raw: Mapping[str, object],
    *,
    key: str | None = None,
    channel: str = "web",
    join_waitlist: bool = True,
) -> Outcome[BookingView]:
    """A person books a session: a seat while seats last, then the waiting list. A person who
    was shown a free seat books with join_waitlist=False and is never put on the waiting list
    silently (errors.waitlist_only() instead, nothing written)."""
    parts = (str(session_id), channel, str(join_waitlist), canonical(raw))

    async def run(claim: KeyClaim | None) -> BookingView:
        valid = validate_booking_input(raw)
        if not is_database_id(session_id):
            raise errors.session_not_found()
        return await rules.book(
            db, session_id, valid, channel=channel, join_waitlist=join_waitlist, key=claim
        )

    # The key is claimed in the booking's own statement: BEGIN, book, store, COMMIT.
    return await once(db, BOOK_SCOPE, key, parts, BookingView, run, claims_itself=True)


def clean_reason(raw: str | None) -> str | None:
    if raw is None:
        return None
    if has_forbidden_chars(raw):
        raise InvalidInput(fields={"reason": "使えない文字が含まれています。"})
    value = clean_text(raw)
    if len(value) > REASON_MAX:
        raise InvalidInput(fields={"reason": f"理由は{REASON_MAX}文字以内で入力してください。"})
    return value or None


@dataclass(frozen=True, slots=True)
class Cancellation:
    booking: BookingView
    # The status before: confirmed or waitlisted; cancelled when it already was (repeat_ok).
    was: str


async def cancel(
    db: AsyncSession,
    code: str,
    phone: str | None,
    *,
    reason: str | None = None,
    key: str | None = None,
    repeat_ok: bool = False,
) -> Outcome[Cancellation]:
    """A person cancels with the booking code and the phone number it was made with (or leaves
    the waiting list). A wrong phone reads as an unknown code. A booking already cancelled is
    already_cancelled(), or with repeat_ok (a page pressed twice) simply the cancelled booking."""
    parts = (normalize_code(code) or code, canonical({"phone": phone, "reason": reason}))

    async def run(_: KeyClaim | None) -> Cancellation:
        text = clean_reason(reason)
        if not phone or not phone.strip():
            raise InvalidInput(fields={"phone": "電話番号を入力してください。"})
        before = await rules.find_booking(db, code, phone)
        if before.status == "cancelled" and repeat_ok:
            return Cancellation(before, before.status)
        try:
            after = await rules.cancel_found_booking(db, before, reason=text)
        except Conflict as exc:
            if exc.code != "already_cancelled" or not repeat_ok:
                raise
            return Cancellation(await rules.find_booking(db, code, phone), "cancelled")
        return Cancellation(after, before.status)

    return await once(db, CANCEL_SCOPE, key, parts, Cancellation, run)


async def cancel_companion(
    db: AsyncSession, code: str, phone: str | None, position: int
) -> BookingView:
    """One companion of a party no longer comes (the booking's code and phone, as cancel)."""
    if not phone or not phone.strip():
        raise InvalidInput(fields={"phone": "電話番号を入力してください。"})
    found = await rules.find_booking(db, code, phone)
    if not is_database_id(position):
        raise errors.companion_not_found()
    return await rules.cancel_companion(db, found.id, position, staff_id=None, self_service=True)
