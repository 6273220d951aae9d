"""Booking codes: 10 symbols from a 31-letter alphabet, about 49.5 bits from the OS CSPRNG."""

from __future__ import annotations

import secrets

from service.domain.bookings.normalize import CODE_ALPHABET, CODE_LENGTH


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
