"""Capability tokens for calendar links, derived with HMAC from SECRET_KEY (nothing stored).

A booking's link works without the phone number because the token proves it came from the
service (the done page or the mail); a staff feed URL works without a login because calendar
apps cannot log in. Changing SECRET_KEY revokes every link at once."""

from __future__ import annotations

import hmac
import re

from service import signing
from service.domain.bookings.normalize import normalize_code
from service.settings import Settings

_FEED_TOKEN = re.compile(r"^([1-9][0-9]{0,17})-([A-Za-z0-9_-]{22,64})$")


def _mac(settings: Settings, purpose: str, value: str) -> str:
    return signing.mac(settings.secret_key, purpose, value)


def _canonical(code: str) -> str:
    # The display form ABCDE-FGHJK and the stored form get the same token.
    return normalize_code(code) or code


def calendar_token(settings: Settings, code: str) -> str:
    """The `t` parameter of GET /bookings/{code}/calendar.ics."""
    return _mac(settings, "booking-calendar", _canonical(code))


def calendar_token_is_valid(settings: Settings, code: str, token: str) -> bool:
    return signing.is_valid(settings.secret_key, "booking-calendar", _canonical(code), token)


def calendar_path(settings: Settings, code: str) -> str:
    """The path (without BASE_URL) of a booking's .ics file, token included."""
    canonical = _canonical(code)
    return f"/bookings/{canonical}/calendar.ics?t={calendar_token(settings, canonical)}"


def staff_feed_token(settings: Settings, user_id: int) -> str:
    """The token in /calendar/staff/{token}.ics: the user id (to find the user) and its MAC."""
    return f"{user_id}-{_mac(settings, 'staff-feed', str(user_id))}"


def staff_feed_path(settings: Settings, user_id: int) -> str:
    return f"/calendar/staff/{staff_feed_token(settings, user_id)}.ics"


def staff_feed_user_id(settings: Settings, token: str) -> int | None:
    """The user id a feed token was made for, or None when it was not made by this service."""
    match = _FEED_TOKEN.match(token)
    if match is None:
        return None
    user_id = int(match.group(1))
    if not hmac.compare_digest(staff_feed_token(settings, user_id).encode(), token.encode()):
        return None
    return user_id
