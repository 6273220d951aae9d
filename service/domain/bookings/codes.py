"""Booking codes: 10 symbols from a 31-letter alphabet, about 49.5 bits from the OS CSPRNG."""

from __future__ import annotations

import secrets

from service.domain.bookings.normalize import CODE_ALPHABET, CODE_LENGTH

_BASE = len(CODE_ALPHABET)
_SPACE = _BASE**CODE_LENGTH


def new_code() -> str:
    """One draw below 31**10 (randbelow is unbiased), written in base 31."""
    n = secrets.randbelow(_SPACE)
    symbols = []
    for _ in range(CODE_LENGTH):
        n, digit = divmod(n, _BASE)
        symbols.append(CODE_ALPHABET[digit])
    return "".join(symbols)
