"""What caused an exception, in one walk for every place that asks (is the database down, did a
statement time out, which constraint refused a write, was a value refused as data).

An error reaches us wrapped: SQLAlchemy's DBAPIError keeps the driver's error as `.orig` (and as
its cause), the booking hot path raises asyncpg's own, and a handler may raise while handling
another (`__context__`). Each is visited once, at most LIMIT deep."""

from __future__ import annotations

from collections.abc import Iterator

LIMIT = 20


def causes(exc: BaseException, *, context: bool = True) -> Iterator[BaseException]:
    """exc, then what it wraps or was raised from; with `context`, also what it was raised while
    handling (a constraint or a refused value asks without: an error met while handling one
    is not that error)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen) and len(seen) < LIMIT:
        seen.append(current)
        yield current
        wrapped = getattr(current, "orig", None)
        nxt = wrapped if isinstance(wrapped, BaseException) else None
        nxt = nxt or current.__cause__
        if nxt is None and context:
            nxt = current.__context__
        current = nxt
