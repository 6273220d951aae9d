"""The domain's one clock: every rule that asks "now?" (is booking open, has the session
started, which reminders are due, has a login expired) reads it here. Tests set it with
frozen_at() to stand exactly on a boundary (opens_at, closes_at, JST midnight).

Timestamps a row records about itself (created_at, confirmed_at) stay the database's now()."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """For tests: the clock stands still at `moment` (timezone-aware) until the block ends."""
    global _frozen
    if moment.tzinfo is None:
        raise ValueError("the clock needs a timezone-aware moment")
    previous, _frozen = _frozen, moment
    try:
        yield
    finally:
        _frozen = previous
