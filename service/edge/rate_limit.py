"""Fixed-window rate limits kept in Redis, so they hold across every API process.

When Redis cannot be reached the limits fail open (each skipped count is logged): a look-up, a
cancellation or a staff login on the day of an event matters more than counting it, and the
slow password hash still paces guessing while Redis is back within minutes."""

from __future__ import annotations

import hashlib
from typing import Any

import structlog
from litestar.connection import ASGIConnection
from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.domain.errors import RateLimited, wait_words
from service.platform.settings import Settings

log = structlog.get_logger("service.edge.rate_limit")

# What a Redis that is down, restarting or unreachable raises (RedisError covers its connection
# and timeout errors; the socket's own errors may surface while connecting).
REDIS_DOWN = (RedisError, OSError)


# One bucket per address for everything that takes a booking code and a phone number (the
# look-up page, its cancel forms, the API's look-up and cancels), so the guesses one address gets
# are RATE_LIMIT_PER_MINUTE in all, whichever routes it spreads them over.
CODE_GUESS = "code-guess"
# One bucket per address for bookings made on the pages and through the API together.
BOOKING = "booking"
BOOKING_WINDOW_SECONDS = 60


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """Who is counted: the address uvicorn reports. Behind a reverse proxy that is the one in
    X-Forwarded-For, but only when the connection comes from FORWARDED_ALLOW_IPS (uvicorn's
    --proxy-headers, service/edge/server.py); otherwise the proxy's own address."""
    return connection.client.host if connection.client else "unknown"


def _redis_key(key: str) -> str:
    # Keys may carry user input (a username, an address); hashing keeps them short and safe.
    return "ratelimit:" + hashlib.sha256(key.encode()).hexdigest()[:32]


async def hit(redis: Redis, key: str, limit: int, window_seconds: int) -> None:
    """Count one hit on `key`; raise RateLimited once more than `limit` fall in the window."""
    name = _redis_key(key)
    try:
        async with redis.pipeline(transaction=True) as pipe:
            # SET NX starts the window at the first hit, and later hits do not push it back.
            # (EXPIRE ... NX would say the same but needs Redis 7; the embedded Redis is 6.2.)
            pipe.set(name, 0, ex=window_seconds, nx=True)
            pipe.incr(name)
            pipe.ttl(name)
            _, count, ttl = await pipe.execute()
    except REDIS_DOWN as exc:
        log.warning("rate_limit_skipped_redis_down", key=key.split(":", 1)[0], error=repr(exc))
        return
    if int(count) > limit:
        # The window's real end, so Retry-After and the message say the wait that holds.
        raise RateLimited(retry_after=int(ttl) if int(ttl) > 0 else window_seconds)


async def hit_per_client(
    redis: Redis,
    connection: ASGIConnection[Any, Any, Any, Any],
    action: str,
    limit: int,
    window_seconds: int = 60,
) -> None:
    """One attempt at `action` from this client's address."""
    await hit(redis, f"{action}:{client_address(connection)}", limit, window_seconds)


async def count_code_guess(
    redis: Redis, connection: ASGIConnection[Any, Any, Any, Any], settings: Settings
) -> None:
    """One try of a booking code with a phone number from this client, on any route."""
    await hit_per_client(redis, connection, CODE_GUESS, settings.rate_limit_per_minute)


def booking_limited(settings: Settings, retry_after: int) -> RateLimited:
    return RateLimited(
        "短い時間にたくさんのお申し込みがあったため、この接続元からの予約をいったん止めています。"
        f"{wait_words(retry_after)}待ってからもう一度お試しいただくか、"
        f"お電話（{settings.desk_name} {settings.desk_phone}、{settings.desk_hours}）で"
        "お申し込みください。",
        retry_after=retry_after,
    )


async def count_booking(
    redis: Redis, connection: ASGIConnection[Any, Any, Any, Any], settings: Settings
) -> None:
    """One booking attempt from this client, on the pages or the API (one bucket): past
    BOOKING_LIMIT_PER_MINUTE a 429 that names the desk's phone. Staff book through their own
    routes, which are not counted. 0 turns the limit off (load tests)."""
    limit = settings.booking_limit_per_minute
    if limit <= 0:
        return
    try:
        await hit_per_client(redis, connection, BOOKING, limit, BOOKING_WINDOW_SECONDS)
    except RateLimited as exc:
        raise booking_limited(settings, exc.retry_after) from None


async def refund(redis: Redis, key: str) -> None:
    """Takes back one hit on `key` (an attempt that turned out not to count), never below 0 and
    never creating the key."""
    try:
        await redis.eval(_REFUND, 1, _redis_key(key))  # type: ignore[misc]
    except REDIS_DOWN as exc:
        log.warning("rate_limit_refund_skipped_redis_down", error=repr(exc))


_REFUND = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


async def reset(redis: Redis, key: str) -> None:
    """Forget the hits on `key` (e.g. a username's after a successful login)."""
    try:
        await redis.delete(_redis_key(key))
    except REDIS_DOWN as exc:
        log.warning("rate_limit_reset_skipped_redis_down", error=repr(exc))
