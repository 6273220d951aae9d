"""Idempotency-Key: a retried POST gets the first response back, never a second booking.

The key is claimed (INSERT ... ON CONFLICT DO NOTHING) first, in the same transaction as the
booking, and the response is stored before that transaction commits. A concurrent retry blocks
on the primary key until the first transaction ends: after a commit it reads and replays the
stored response, after a rollback it claims the key and runs the request itself.

Every use case that takes a key goes through `once` (the one place): it claims the key, runs
the use case, and stores its outcome (the domain's value, e.g. the BookingView as it was) for
a retry to get back, which each adapter then translates exactly as the first time.

Only successful outcomes are stored. A refused request (422, 404, 409) rolls its transaction
back, key included, so it has changed nothing and a retry with the same key is simply judged
again: a session that was not yet open may be open by then, and a request that was full may
find a seat freed by a cancellation.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.idempotency_repository import IdempotencyRepository

# Re-exported: a use case's run() takes the claim (other areas never import the repository).
from service.domain.bookings.idempotency_repository import KeyClaim as KeyClaim
from service.domain.errors import InvalidInput

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
KEEP_AT_LEAST = timedelta(hours=24)
KEY_MAX = 200
# Printable ASCII without spaces: UUIDs, ULIDs and the like.
_KEY = re.compile(r"^[!-~]{1,%d}$" % KEY_MAX)  # noqa: UP031 - a regex quantifier


T = TypeVar("T")
# The status column predates `once`; outcomes of use cases are stored with this one.
STORED_STATUS = 200


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """What a use case returned: now, or (replayed) the first time its key was used."""

    value: T
    replayed: bool = False


class KeyTaken(Exception):
    """Raised by a use case that claims its key itself when the key was already taken."""


@dataclass(frozen=True, slots=True)
class Replay:
    """The stored first response to replay."""

    status_code: int
    body: dict[str, Any]


def check_key(raw: str) -> str:
    key = raw.strip()
    if not _KEY.match(key):
        raise InvalidInput(
            fields={
                HEADER: f"{HEADER} は{KEY_MAX}文字以内の英数字と記号で指定してください"
                "（例：UUID）。"
            }
        )
    return key


def fingerprint(*parts: str | bytes) -> str:
    """What makes two requests "the same": the route's own parts and the canonical body."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def key_reused() -> InvalidInput:
    return InvalidInput(
        "この Idempotency-Key は、内容の異なる別の送信ですでに使われています。",
        code="idempotency_key_reused",
        fields={HEADER: "送信内容ごとに新しいキーを使ってください。"},
    )


async def claim(db: AsyncSession, scope: str, key: str, request_hash: str) -> Replay | None:
    """None when this request now owns the key and should run; otherwise the first response.
    Raises key_reused() when the key came with a different request."""
    repo = IdempotencyRepository(db)
    # A record can vanish between the two statements only by being purged (24 hours old), so a
    # second round always settles it.
    for _ in range(3):
        if await repo.claim(scope, key, request_hash):
            return None
        record = await repo.get(scope, key)
        if record is None:
            continue
        if record.request_hash != request_hash:
            raise key_reused()
        return Replay(record.status_code, record.response)
    raise RuntimeError("idempotency key could not be claimed or read")


async def store(db: AsyncSession, scope: str, key: str, status_code: int, body: object) -> None:
    """Keeps the response (anything msgspec can encode) to replay for retries of the key."""
    await IdempotencyRepository(db).store(
        scope, key, status_code, msgspec.json.encode(body).decode()
    )


def canonical(raw: Mapping[str, object]) -> bytes:
    """The request's input as one byte string, independent of key order."""
    return msgspec.json.encode(dict(raw), order="sorted")


async def once(
    db: AsyncSession,
    scope: str,
    key: str | None,
    parts: tuple[str | bytes, ...],
    kind: type[T],
    run: Callable[[KeyClaim | None], Awaitable[T]],
    *,
    claims_itself: bool = False,
) -> Outcome[T]:
    """Runs the use case once per key: a retry with the same key and parts gets the first
    outcome back (replayed=True); the same key with other parts is key_reused(). Without a
    key it simply runs. A refusal (an exception) rolls the claim back with the transaction.

    A use case that claims_itself gets the KeyClaim and claims it in its own first statement
    (one round trip fewer on the booking path), raising KeyTaken when it was already taken."""
    if key is None:
        return Outcome(await run(None))
    key = check_key(key)
    request_hash = fingerprint(scope, *parts)
    try:
        if not claims_itself:
            raise KeyTaken
        value = await run(KeyClaim(scope, key, request_hash))
    except KeyTaken:
        replay = await claim(db, scope, key, request_hash)
        if replay is not None:
            return Outcome(msgspec.convert(replay.body, kind, strict=False), replayed=True)
        value = await run(None)
    await store(db, scope, key, STORED_STATUS, value)
    return Outcome(value)


async def purge_idempotency_records(db: AsyncSession, older_than: timedelta = KEEP_AT_LEAST) -> int:
    """Deletes records older than `older_than` (never less than 24 hours, which the API
    promises). Returns how many went. For a periodic worker job."""
    if older_than < KEEP_AT_LEAST:
        raise ValueError("idempotency records are kept at least 24 hours")
    return await IdempotencyRepository(db).purge(older_than)
