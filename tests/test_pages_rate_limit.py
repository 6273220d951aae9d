"""The shared Redis rate limiter (service/edge/rate_limit.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from service.domain.errors import RateLimited
from service.edge.rate_limit import hit, reset


@pytest.fixture
async def redis_client(clean_redis: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(clean_redis)
    yield client
    await client.aclose()


async def test_allows_up_to_the_limit_then_refuses(redis_client: aioredis.Redis) -> None:
    for _ in range(3):
        await hit(redis_client, "booking:127.0.0.1", 3, 60)
    with pytest.raises(RateLimited) as info:
        await hit(redis_client, "booking:127.0.0.1", 3, 60)
    assert info.value.code == "rate_limited"


async def test_keys_are_counted_separately(redis_client: aioredis.Redis) -> None:
    await hit(redis_client, "lookup:10.0.0.1", 1, 60)
    await hit(redis_client, "lookup:10.0.0.2", 1, 60)
    await hit(redis_client, "cancel:10.0.0.1", 1, 60)
    with pytest.raises(RateLimited):
        await hit(redis_client, "lookup:10.0.0.1", 1, 60)


async def test_counter_expires_with_its_window(redis_client: aioredis.Redis) -> None:
    await hit(redis_client, "login:x", 5, 60)
    keys = await redis_client.keys("ratelimit:*")
    assert len(keys) == 1
    assert 0 < await redis_client.ttl(keys[0]) <= 60


async def test_reset_forgets_the_attempts(redis_client: aioredis.Redis) -> None:
    await hit(redis_client, "login:y", 1, 60)
    await reset(redis_client, "login:y")
    await hit(redis_client, "login:y", 1, 60)
