"""Bodies shared by the public API: the error body every 4xx and 5xx carries."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta


class ErrorBody(msgspec.Struct, omit_defaults=True):
    error: Annotated[str, Meta(description="A stable error code, e.g. `waitlist_full`.")]
    message: Annotated[str, Meta(description="A plain Japanese message to show people.")]
    fields: Annotated[
        dict[str, str],
        Meta(description="Field name (or header) to a Japanese message, for each bad field."),
    ] = msgspec.field(default_factory=dict)
