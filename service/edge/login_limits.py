"""Brute-force protection for staff logins that no stranger can turn into a lock-out.

Only failed password checks count: a login that succeeds, or that could not be checked (the
database down: a 503), gives its attempt back, so a city office whose clerks all log in from one
address, or an outage, locks nobody out. An attempt is counted when it starts and given back
when it ends otherwise, so guesses sent at once cannot slip past the limit together.

- Per address (any usernames): 50 failures in 15 minutes, against password spraying.
- Per username from one address: 10 failures in 15 minutes, then 429 for that address only.
  Ten wrong guesses from ten other addresses therefore never refuse the real owner. The 429
  and its Retry-After say the real wait (until the window that refused ends).
- Per username from everywhere: after 10 failed attempts in 15 minutes the username goes on
  the slow path: every attempt on it waits LOGIN_SLOW_SECONDS before the password is checked.
  A distributed guesser is slowed; the owner, typing the right password, still gets in.
- Admins see the blocked addresses and slowed usernames and can clear them (console page
  /manage/login-locks, staff API /api/v1/manage/login-locks).

Counters live in Redis (hashed keys, as every rate limit); the readable list of what is blocked
sits in two Redis hashes whose entries carry their own expiry.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.domain.accounts.logins import normalize_username
from service.domain.errors import AuthenticationRequired, RateLimited
from service.edge.rate_limit import _redis_key, hit, refund, reset

LOGIN_WINDOW_SECONDS = 15 * 60
LOGIN_LIMIT_PER_ADDRESS = 50
LOGIN_LIMIT_PER_USERNAME_ADDRESS = 10
LOGIN_SLOW_AFTER_FAILURES = 10
LOGIN_SLOW_SECONDS = 2.0
BLOCKED = "login:blocked"
SLOWED = "login:slowed"
T = TypeVar("T")
log = structlog.get_logger("service.edge.login_limits")


async def _done(result: Awaitable[T] | T) -> T:
    """redis-py types its hash commands as sync-or-async; on the asyncio client they await."""
    return await result if inspect.isawaitable(result) else result


@dataclass(frozen=True, slots=True)
class LoginLock:
    """kind: 'address' (every username from it), 'username_address' (one username from one
    address: refused) or 'slowed' (one username from anywhere: slow path)."""

    kind: str
    username: str | None
    address: str | None
    until: int


def _username(raw: str) -> str:
    return normalize_username(raw).lower()[:100]


def _keys(username: str | None, address: str | None) -> tuple[str, str, str]:
    return (
        f"login:addr:{address}",
        f"login:user-addr:{username}\n{address}",
        f"login:user:{username}",
    )


async def _note(redis: Redis, table: str, lock: LoginLock) -> None:
    field = f"{lock.kind}\n{lock.username or ''}\n{lock.address or ''}"
    value = json.dumps([lock.kind, lock.username, lock.address, lock.until])
    await _done(redis.hset(table, field, value))


async def count_login_attempt(redis: Redis, *, username: str, address: str) -> None:
    """Counts one attempt (given back by login_succeeded or login_not_checked); raises
    RateLimited when this address, or this username from this address, failed too often; waits
    first when the username is on the slow path."""
    user = _username(username)
    by_address, by_user_address, by_user = _keys(user, address)
    try:
        await hit(redis, by_address, LOGIN_LIMIT_PER_ADDRESS, LOGIN_WINDOW_SECONDS)
    except RateLimited as exc:
        await refund(redis, by_address)  # a refused attempt checked no password
        until = int(time.time()) + exc.retry_after
        await _note(redis, BLOCKED, LoginLock("address", None, address, until))
        raise
    try:
        await hit(redis, by_user_address, LOGIN_LIMIT_PER_USERNAME_ADDRESS, LOGIN_WINDOW_SECONDS)
    except RateLimited as exc:
        await refund(redis, by_address)
        await refund(redis, by_user_address)
        until = int(time.time()) + exc.retry_after
        await _note(redis, BLOCKED, LoginLock("username_address", user, address, until))
        raise
    try:
        failures = await redis.get(_redis_key(by_user))
    except (RedisError, OSError):
        log.warning("login_slow_path_unknown", exc_info=True)  # no Redis: no slowing either
        return
    if failures is not None and int(failures) >= LOGIN_SLOW_AFTER_FAILURES:
        await asyncio.sleep(LOGIN_SLOW_SECONDS)


async def login_failed(redis: Redis, *, username: str) -> None:
    """The password check failed: the attempt stays counted, and the username's failures from
    everywhere (the slow path) go up by one."""
    try:
        await _count_failure(redis, _username(username))
    except (RedisError, OSError):
        log.warning("login_failure_not_counted", exc_info=True)


async def _count_failure(redis: Redis, user: str) -> None:
    name = _redis_key(_keys(user, None)[2])
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(name, 0, ex=LOGIN_WINDOW_SECONDS, nx=True)
        pipe.incr(name)
        _, count = await pipe.execute()
    if int(count) >= LOGIN_SLOW_AFTER_FAILURES:
        until = int(time.time()) + LOGIN_WINDOW_SECONDS
        await _note(redis, SLOWED, LoginLock("slowed", user, None, until))


async def login_not_checked(redis: Redis, *, username: str, address: str) -> None:
    """The attempt ended before a password was judged (the database was down, the form was
    empty): it does not count."""
    by_address, by_user_address, _ = _keys(_username(username), address)
    await refund(redis, by_address)
    await refund(redis, by_user_address)


async def login_succeeded(redis: Redis, *, username: str, address: str) -> None:
    """The owner got in from here: the attempt is given back, and this username from this
    address and everywhere starts afresh (a guesser elsewhere is back on the slow path after as
    many failures again)."""
    by_address, by_user_address, by_user = _keys(_username(username), address)
    await refund(redis, by_address)
    try:
        await reset(redis, by_user_address)
        await reset(redis, by_user)
    except (RedisError, OSError):
        log.warning("login_counts_not_reset", exc_info=True)


@asynccontextmanager
async def login_attempt(redis: Redis, *, username: str, address: str) -> AsyncIterator[None]:
    """Around one password check: counted first (RateLimited when over a limit), kept as a
    failure when the body raises AuthenticationRequired, given back otherwise."""
    await count_login_attempt(redis, username=username, address=address)
    try:
        yield
    except AuthenticationRequired:
        await login_failed(redis, username=username)
        raise
    except BaseException:
        await login_not_checked(redis, username=username, address=address)
        raise
    await login_succeeded(redis, username=username, address=address)


async def current_locks(redis: Redis) -> list[LoginLock]:
    now = int(time.time())
    locks: list[LoginLock] = []
    for table in (BLOCKED, SLOWED):
        for field, raw in (await _done(redis.hgetall(table))).items():
            kind, username, address, until = json.loads(raw)
            if until <= now:
                await _done(redis.hdel(table, field))
                continue
            locks.append(LoginLock(kind, username, address, int(until)))
    return sorted(locks, key=lambda k: (k.kind, k.username or "", k.address or ""))


async def clear_lock(redis: Redis, *, username: str | None, address: str | None) -> int:
    """Clears what is held against this username and/or address. Returns how many listed
    locks went."""
    user = _username(username) if username else None
    cleared = 0
    for lock in await current_locks(redis):
        if (user is None or lock.username == user) and (address is None or lock.address == address):
            by_address, by_user_address, by_user = _keys(lock.username, lock.address)
            key = {"address": by_address, "username_address": by_user_address}.get(
                lock.kind, by_user
            )
            await reset(redis, key)
            table = SLOWED if lock.kind == "slowed" else BLOCKED
            await _done(
                redis.hdel(table, f"{lock.kind}\n{lock.username or ''}\n{lock.address or ''}")
            )
            cleared += 1
    return cleared
