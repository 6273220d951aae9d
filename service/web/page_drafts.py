"""Short-lived drafts behind the public pages' POST-redirect-GET.

Every public form POST answers 303 to a GET page, so the browser's Back and Reload never post
again (no "Confirm Form Resubmission"). What that GET page shows but must not carry in its
address (what a person typed, their phone number, which booking a look-up opened) is kept in
Redis under a random token for a short while; the address carries only the token.

- The token is 32 URL-safe characters from the OS CSPRNG (192 bits): it cannot be guessed, so a
  look-up grant (the booking a code-and-phone check opened) needs no rate limit of its own;
  the check that issued it was rate limited. Redis keys hold only a hash of the token.
- Each kind has its own key space: a booking draft's token opens no look-up, and the reverse.
- Drafts are never refreshed: they end TTL after they were made, whatever happens.
- When Redis cannot be reached, save() returns None and the POST answers with its page
  directly, as the pages did before (the rate limits fail open the same way): taking a booking
  on the day matters more than a clean Back button.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

import structlog
from redis.asyncio import Redis

from service.edge.rate_limit import REDIS_DOWN

log = structlog.get_logger("service.web.page_drafts")

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
TOKEN_BYTES = 24  # 32 characters of base64url


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    ttl_seconds: int


# What was typed on the booking form, and the confirmation or waiting-list question built on it.
BOOKING = Kind("booking", 60 * 60)
# The look-up form with what is wrong (the code and phone typed are kept for the next try).
LOOKUP = Kind("lookup", 15 * 60)
# One booking opened by its code and phone: details, cancel, companions.
GRANT = Kind("grant", 15 * 60)
# The LINE link form with what is wrong (LINE's link token lasts 10 minutes).
LINE_LINK = Kind("line_link", 10 * 60)
# The public registration form (what was typed and its errors), and its done page.
REGISTER = Kind("register", 60 * 60)
# The 予約の確認 form's errors, and a person opened by a phone and any one booking code: every
# booking of theirs, cancel, contact preference and withdrawal.
PERSON_LOOKUP = Kind("person_lookup", 15 * 60)
PERSON_GRANT = Kind("person_grant", 15 * 60)
# The follow-up form with its errors, and the thanks after an answer.
FOLLOW_UP = Kind("follow_up", 60 * 60)


def _key(kind: Kind, token: str) -> str:
    return f"page:{kind.name}:" + hashlib.sha256(token.encode()).hexdigest()[:40]


def is_token(text: str) -> bool:
    return bool(_TOKEN.match(text))


async def save(redis: Redis, kind: Kind, data: dict[str, Any]) -> str | None:
    """A new draft; its token, or None when Redis is away."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    try:
        await redis.set(_key(kind, token), json.dumps(data), ex=kind.ttl_seconds)
    except REDIS_DOWN as exc:
        log.warning("page_draft_not_saved_redis_down", kind=kind.name, error=repr(exc))
        return None
    return token


async def load(redis: Redis, kind: Kind, token: str) -> dict[str, Any] | None:
    """The draft, or None when the token is not one of ours, has expired or Redis is away."""
    if not is_token(token):
        return None
    try:
        raw = await redis.get(_key(kind, token))
    except REDIS_DOWN as exc:
        log.warning("page_draft_not_read_redis_down", kind=kind.name, error=repr(exc))
        return None
    if raw is None:
        return None
    data = json.loads(raw)
    return data if isinstance(data, dict) else None


async def update(redis: Redis, kind: Kind, token: str, changes: dict[str, Any]) -> bool:
    """Adds changes to a live draft, which keeps its end. False when it is gone (or Redis is)."""
    data = await load(redis, kind, token)
    if data is None:
        return False
    try:
        # XX: a draft that expired meanwhile stays gone; KEEPTTL: its end does not move.
        done = await redis.set(
            _key(kind, token), json.dumps({**data, **changes}), xx=True, keepttl=True
        )
    except REDIS_DOWN as exc:
        log.warning("page_draft_not_updated_redis_down", kind=kind.name, error=repr(exc))
        return False
    return bool(done)
