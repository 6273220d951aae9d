"""Every query on idempotency_records.

Its statements are text() on no benchmark's path: `make bench`'s bookings send no
Idempotency-Key. Not yet converted to Core (issue 21 point 5), the booking area being left out
of that round."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import CursorResult, text
from sqlalchemy.ext.asyncio import AsyncSession

# status_code 0 marks a key claimed by a transaction that has not stored its response yet. Such a
# row is never seen committed: the response is stored in the same transaction, or it rolls back.
_CLAIM = text("""
    INSERT INTO idempotency_records (scope, key, request_hash, status_code, response)
    VALUES (:scope, :key, :hash, 0, CAST('{}' AS jsonb))
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING 1
""")

_GET = text("""
    SELECT request_hash, status_code, response FROM idempotency_records
    WHERE scope = :scope AND key = :key
""")

_STORE = text("""
    UPDATE idempotency_records SET status_code = :status, response = CAST(:response AS jsonb)
    WHERE scope = :scope AND key = :key
""")

_PURGE = text("DELETE FROM idempotency_records WHERE created_at < now() - CAST(:age AS interval)")


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
        value = await self.db.scalar(_CLAIM, {"scope": scope, "key": key, "hash": request_hash})
        return value is not None

    async def get(self, scope: str, key: str) -> IdempotencyRecordRow | None:
        row = (await self.db.execute(_GET, {"scope": scope, "key": key})).first()
        if row is None:
            return None
        return IdempotencyRecordRow(row.request_hash, int(row.status_code), dict(row.response))

    async def store(self, scope: str, key: str, status_code: int, response_json: str) -> None:
        await self.db.execute(
            _STORE,
            {"scope": scope, "key": key, "status": status_code, "response": response_json},
        )

    async def purge(self, age: timedelta) -> int:
        result = await self.db.execute(_PURGE, {"age": age})
        assert isinstance(result, CursorResult)
        return int(result.rowcount)
