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

from service.domain.errors import RateLimited

log = structlog.get_logger("service.edge.rate_limit")

# What a Redis that is down, restarting or unreachable raises (RedisError covers its connection
# and timeout errors; the socket's own errors may surface while connecting).
REDIS_DOWN = (RedisError, OSError)


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """Who is counted: the address uvicorn reports (from X-Forwarded-For only behind a proxy
    it was told to trust)."""
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
            _, count = await pipe.execute()
    except REDIS_DOWN as exc:
        log.warning("rate_limit_skipped_redis_down", key=key.split(":", 1)[0], error=repr(exc))
        return
    if int(count) > limit:
        raise RateLimited()


async def hit_per_client(
    redis: Redis,
    connection: ASGIConnection[Any, Any, Any, Any],
    action: str,
    limit: int,
    window_seconds: int = 60,
) -> None:
    """One attempt at `action` from this client's address."""
    await hit(redis, f"{action}:{client_address(connection)}", limit, window_seconds)


async def reset(redis: Redis, key: str) -> None:
    """Forget the hits on `key` (e.g. a username's after a successful login)."""
    try:
        await redis.delete(_redis_key(key))
    except REDIS_DOWN as exc:
        log.warning("rate_limit_reset_skipped_redis_down", error=repr(exc))
