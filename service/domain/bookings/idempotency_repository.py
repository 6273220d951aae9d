"""Every query on idempotency_records.

SQLAlchemy Core on the mapped IdempotencyRecord (issue 21 point 5). None of these statements is
on a benchmark's path: `make bench`'s bookings send no Idempotency-Key, and a booking that sends
one claims it inside the booking's own statement (repository.py's CONFIRM_SKIP_LOCKED); these
run only for a key that was taken already (the replay), for the other keyed use cases, and for
the purge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    CursorResult,
    Interval,
    String,
    cast,
    delete,
    func,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.models import IdempotencyRecord

_R = IdempotencyRecord


@dataclass(frozen=True, slots=True)
class KeyClaim:
    """A key to claim inside a use case's own first statement (the booking hot path)."""

    scope: str
    key: str
    request_hash: str


@dataclass(frozen=True, slots=True)
class IdempotencyRecordRow:
    request_hash: str
    status_code: int
    response: dict[str, Any]


class IdempotencyRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def claim(self, scope: str, key: str, request_hash: str) -> bool:
        """True when this transaction now holds the key. A concurrent holder makes this wait on
        the primary key until it commits (False) or rolls back (True)."""
        # status_code 0 marks a key claimed by a transaction that has not stored its response
        # yet. Such a row is never seen committed: the response is stored in the same
        # transaction, or it rolls back.
        value = await self.db.scalar(
            insert(_R)
            .values(scope=scope, key=key, request_hash=request_hash, status_code=0, response={})
            .on_conflict_do_nothing(index_elements=[_R.scope, _R.key])
            .returning(literal_column("1"))
        )
        return value is not None

    async def get(self, scope: str, key: str) -> IdempotencyRecordRow | None:
        row = (
            await self.db.execute(
                select(_R.request_hash, _R.status_code, _R.response).where(
                    _R.scope == scope, _R.key == key
                )
            )
        ).first()
        if row is None:
            return None
        return IdempotencyRecordRow(row.request_hash, int(row.status_code), dict(row.response))

    async def store(self, scope: str, key: str, status_code: int, response_json: str) -> None:
        # The response arrives as JSON text (msgspec's encoding), cast to jsonb by PostgreSQL:
        # bound as the column's JSONB it would be encoded a second time, as a JSON string.
        await self.db.execute(
            update(_R)
            .where(_R.scope == scope, _R.key == key)
            .values(status_code=status_code, response=cast(literal(response_json, String), JSONB))
            .execution_options(synchronize_session=False)
        )

    async def purge(self, age: timedelta) -> int:
        result = await self.db.execute(
            delete(_R)
            .where(_R.created_at < func.now() - literal(age, Interval))
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        return int(result.rowcount)
