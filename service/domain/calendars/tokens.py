"""Capability tokens in calendar links.

A booking's link carries its stored random token (bookings.calendar_token), so the link works
without the phone number and survives a SECRET_KEY rotation. Staff feed links carry a random
token of which only the SHA-256 is stored; calendar apps cannot log in, the URL is the key."""

from __future__ import annotations

import hashlib
import secrets

from service.domain.bookings.normalize import normalize_code
from service.platform import signing
from service.platform.settings import Settings

LINK_TOKEN_BYTES = 24  # 192 bits


def _canonical(code: str) -> str:
    # The display form ABCDE-FGHJK and the stored form are one booking.
    return normalize_code(code) or code


def calendar_path(code: str, token: str) -> str:
    """The path (without BASE_URL) of a booking's .ics file, token included."""
    return f"/bookings/{_canonical(code)}/calendar.ics?t={token}"


def timetable_path(code: str, token: str) -> str:
    """The path of a matching-day participant's timetable .ics, behind the same token."""
    return f"/bookings/{_canonical(code)}/timetable.ics?t={token}"


def legacy_calendar_token(settings: Settings, code: str) -> str:
    """The token of links mailed before tokens were stored: an HMAC of the code."""
    return signing.mac(settings.secret_key, "booking-calendar", _canonical(code))


def new_link_token() -> str:
    return secrets.token_urlsafe(LINK_TOKEN_BYTES)


def link_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def staff_feed_path(token: str) -> str:
    return f"/calendar/staff/{token}.ics"
