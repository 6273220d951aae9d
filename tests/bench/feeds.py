"""Case (f) of `make bench`: the public calendar feed with 5,000 sessions.

On its own throwaway PostgreSQL and Redis, the product under uvicorn (same flags as the booking
cases) serves /events.ics with 5,000 sessions in its window. Measured in this one run:
  - GET /health alone (the baseline: p50, p99 of 400 sequential requests);
  - the feed's first render (a cold process cache) and cached fetches (p50, p99);
  - 304 revalidations with If-None-Match (p50, p99);
  - GET /health p99 while 8 connections keep fetching the feed;
each printed beside /health alone as a ratio (aims: cached and 304 within 3x, /health under
feed load within 2x of idle)."""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import time
from pathlib import Path

import asyncpg

from service.devtools.embedded_servers import remove_throwaway, throwaway_postgres, throwaway_redis
from service.platform.migrations import upgrade
from tests.bench.run import HOST, Server, say

SESSIONS = 5000


async def _request(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    path: str,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    head = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n"
    for name, value in (headers or {}).items():
        head += f"{name}: {value}\r\n"
    writer.write(head.encode() + b"\r\n")
    status = int((await reader.readline()).split(b" ", 2)[1])
    found: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        found[name.strip().lower()] = value.strip()
    length = int(found.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return status, found, body


class Client:
    def __init__(self, port: int) -> None:
        self.port = port
        self.conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes, float]:
        if self.conn is None:
            self.conn = await asyncio.open_connection(HOST, self.port)
        started = time.perf_counter()
        status, found, body = await _request(*self.conn, path, headers)
        return status, found, body, time.perf_counter() - started

    async def close(self) -> None:
        if self.conn is not None:
            self.conn[1].close()
            self.conn = None


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


async def _health_times(port: int, count: int) -> list[float]:
    client = Client(port)
    times = []
    try:
        for _ in range(count):
            status, _, _, seconds = await client.get("/health")
            assert status == 200
            times.append(seconds)
    finally:
        await client.close()
    return times


async def _seed(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        org = await conn.fetchval(
            "INSERT INTO organizations (name, kind) VALUES ('ベンチ主催', 'organizer') RETURNING id"
        )
        venue = await conn.fetchval(
            "INSERT INTO venues (name, address, ward, access_notes, barrier_free_notes)"
            " VALUES ('ベンチ会場', '静岡市清水区旭町6-8', 'shimizu', 'JR清水駅から徒歩5分', '')"
            " RETURNING id"
        )
        event = await conn.fetchval(
            "INSERT INTO events (title, description, kind, sector, status, organizer_id, contact,"
            " what_to_bring) VALUES ('ベンチ講座', '毎日開く講座です。', 'seminar', 'general',"
            " 'published', $1, '', '') RETURNING id",
            org,
        )
        # One session every 2 hours from tomorrow: about 14 months, inside the 18-month window.
        await conn.execute(
            "INSERT INTO sessions (event_id, venue_id, starts_at, ends_at, capacity,"
            " booking_opens_at, booking_closes_at)"
            " SELECT $1, $2, now() + interval '1 day' + n * interval '2 hours',"
            " now() + interval '1 day 1 hour' + n * interval '2 hours', 10,"
            " now() - interval '1 day', now() + n * interval '2 hours'"
            " FROM generate_series(1, $3) AS n",
            event,
            venue,
            SESSIONS,
        )
    finally:
        await conn.close()


async def feed_bench(log_level: str = "WARNING") -> bool:
    pg = throwaway_postgres()
    redis = throwaway_redis()
    work = Path(tempfile.mkdtemp(prefix="nextwork-bench-feeds-"))
    say("(f) feeds: starting a throwaway PostgreSQL and Redis")
    pg.start()
    redis.start()
    server: Server | None = None
    try:
        dsn = pg.url.rsplit("/", 1)[0] + "/feeds"
        admin = await asyncpg.connect(pg.url)
        await admin.execute("CREATE DATABASE feeds")
        await admin.close()
        await asyncio.to_thread(upgrade, dsn)
        await _seed(dsn)
        server = Server(
            "product",
            "service.app:create_app",
            {
                "APP_ENV": "production",
                "SECRET_KEY": secrets.token_urlsafe(32),
                "BASE_URL": "http://127.0.0.1",
                "DATABASE_URL": dsn,
                "REDIS_URL": redis.url,
                "LOG_LEVEL": log_level,
            },
            1,
            work / "product.log",
        )
        await server.wait_ready("/health")
        await _health_times(server.port, 50)  # warm-up
        idle = await _health_times(server.port, 400)

        client = Client(server.port)
        status, headers, body, first = await client.get("/events.ics")
        assert status == 200, status
        events = body.count(b"BEGIN:VEVENT")
        etag = headers["etag"]
        cached = [(await client.get("/events.ics"))[3] for _ in range(40)]
        gzip_headers = {"Accept-Encoding": "gzip"}
        _, zipped_headers, zipped, _ = await client.get("/events.ics", gzip_headers)
        assert zipped_headers.get("content-encoding") == "gzip"
        cached_gzip = [(await client.get("/events.ics", gzip_headers))[3] for _ in range(100)]
        revalidated = []
        for _ in range(200):
            status, _, _, seconds = await client.get("/events.ics", {"If-None-Match": etag})
            assert status == 304, status
            revalidated.append(seconds)
        await client.close()

        stop = asyncio.Event()
        fetched = 0

        async def poller() -> None:
            nonlocal fetched
            poll = Client(server.port)  # type: ignore[union-attr]
            try:
                while not stop.is_set():
                    status, _, _, _ = await poll.get("/events.ics", {"Accept-Encoding": "gzip"})
                    assert status == 200
                    fetched += 1
            finally:
                await poll.close()

        pollers = [asyncio.create_task(poller()) for _ in range(8)]
        await asyncio.sleep(0.5)
        loaded = await _health_times(server.port, 400)
        stop.set()
        await asyncio.gather(*pollers)

        base_p50, base_p99 = _pct(idle, 0.5), _pct(idle, 0.99)
        print()
        print(
            f"(f) public feed, {SESSIONS:,} sessions ({events:,} VEVENTs, {len(body):,} bytes,"
            f" {len(zipped):,} gzipped)"
        )
        print(f"    GET /health alone          p50 {base_p50:7.2f} ms  p99 {base_p99:7.2f} ms")
        rows = [
            ("first render", first * 1000, first * 1000),
            ("cached feed", _pct(cached, 0.5), _pct(cached, 0.99)),
            ("cached feed, gzip", _pct(cached_gzip, 0.5), _pct(cached_gzip, 0.99)),
            ("304 revalidation", _pct(revalidated, 0.5), _pct(revalidated, 0.99)),
            ("/health, 8 feed fetchers", _pct(loaded, 0.5), _pct(loaded, 0.99)),
        ]
        for name, p50, p99 in rows:
            print(
                f"    {name:26} p50 {p50:7.2f} ms  p99 {p99:7.2f} ms"
                f"  ratio to /health p50 {p50 / base_p50:6.1f}x, p99 {p99 / base_p99:6.1f}x"
            )
        print(f"    ({fetched} feed fetches by the 8 pollers during the /health run)")
        return events == SESSIONS
    finally:
        if server is not None:
            server.stop()
        redis.stop()
        pg.stop()
        remove_throwaway(pg, redis)
        say(f"(f) server log in {work}")
