"""Which workers have polled the queue recently: their arq health-check keys in Redis."""

from __future__ import annotations

from redis.asyncio import Redis

from service.observability.keys import HEALTH_KEY_PREFIX


async def live_workers(redis: Redis) -> list[str]:
    names = [
        key.decode() if isinstance(key, bytes) else str(key)
        async for key in redis.scan_iter(match=HEALTH_KEY_PREFIX + "*", count=100)
    ]
    return sorted(name.removeprefix(HEALTH_KEY_PREFIX) for name in names)
