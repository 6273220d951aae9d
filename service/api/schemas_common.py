"""Shared by the API: the error body every 4xx and 5xx carries, and the Idempotency-Key
header every POST that creates something takes."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import HeaderParameter
from msgspec import Meta

from service.domain.bookings import idempotency

IDEMPOTENCY_DOC = (
    "Optional. A retry carrying the same key gets the first successful response again (with "
    "the `Idempotent-Replayed: true` header on the public booking routes), never a second "
    "booking; the same key with a different body is a 422 `idempotency_key_reused`. Refused "
    "requests are not stored, so a retry of one is judged again. Keys are kept at least 24 hours."
)

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(name=idempotency.HEADER, required=False, description=IDEMPOTENCY_DOC),
]


class ErrorBody(msgspec.Struct, omit_defaults=True):
    error: Annotated[str, Meta(description="A stable error code, e.g. `waitlist_full`.")]
    message: Annotated[str, Meta(description="A plain Japanese message to show people.")]
    fields: Annotated[
        dict[str, str],
        Meta(description="Field name (or header) to a Japanese message, for each bad field."),
    ] = msgspec.field(default_factory=dict)
