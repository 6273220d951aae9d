"""Booking codes: 12 decimal digits from the OS CSPRNG (about 39.9 bits).

Why 12: a look-up needs the code and the phone number it was booked with, and is rate limited
per client. Someone who knows a victim's phone number and guesses codes at the default limit
(30 a minute) for the 60 days a booking typically lives makes about 2.6 million guesses: with
10**12 codes that is one chance in about 385,000 per address. Without the phone number each
guess must also hit the right number among some 10**9, which makes guessing hopeless."""

from __future__ import annotations

import secrets

from service.domain.bookings.normalize import CODE_LENGTH


def new_code() -> str:
    """One unbiased draw below 10**12, zero-padded (a leading 0 is as good as any digit)."""
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"
