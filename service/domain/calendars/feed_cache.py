"""Rendered feeds kept in memory per feed and version, rendered once however many fetch them.

A feed's version is a digest of what it shows (see CalendarRepository.feed_state); while it is
unchanged every fetch gets the same bytes (and their gzip) without rendering again. Rendering
and compressing run in a worker thread so the event loop keeps answering other requests."""

from __future__ import annotations

import asyncio
import gzip
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

# A 5,000-session feed is about 4 MB (60 KB gzipped): a few dozen views are plenty (staff
# links with the same filters share one).
MAX_FEEDS = 32
# Renderings at the same time (each a thread holding the GIL most of the time): windows chosen
# by query parameters cannot make the process render dozens of feeds at once.
RENDERS_AT_ONCE = 2


@dataclass(frozen=True)
class FeedVersion:
    key: str
    etag: str
    last_modified: datetime


@dataclass(frozen=True)
class FeedFile:
    version: FeedVersion
    body: bytes
    gzipped: bytes


class FeedCache:
    def __init__(self, max_feeds: int = MAX_FEEDS) -> None:
        self._versions: dict[str, tuple[float, FeedVersion]] = {}
        self._files: OrderedDict[str, FeedFile] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self._rendering = asyncio.Semaphore(RENDERS_AT_ONCE)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._max = max_feeds

    def _bind_loop(self) -> None:
        # asyncio locks belong to one event loop; a new loop (a restarted server, each test)
        # gets fresh ones.
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._locks = {}
            self._rendering = asyncio.Semaphore(RENDERS_AT_ONCE)

    async def version(
        self, key: str, ttl: float, look_up: Callable[[], Awaitable[FeedVersion]]
    ) -> FeedVersion:
        """The version looked up at most `ttl` seconds ago, else look_up(): pollers that come
        back within seconds get their 304 without a database round trip."""
        now = time.monotonic()
        known = self._versions.get(key)
        if known is not None and now - known[0] < ttl:
            return known[1]
        version = await look_up()
        if len(self._versions) >= self._max * 4:
            self._versions.clear()
        self._versions[key] = (now, version)
        return version

    def get(self, version: FeedVersion) -> FeedFile | None:
        cached = self._files.get(version.key)
        if cached is None or cached.version.etag != version.etag:
            return None
        self._files.move_to_end(version.key)
        return cached

    async def file(self, version: FeedVersion, render: Callable[[], Awaitable[bytes]]) -> FeedFile:
        """The cached file of this version, or render() it once (concurrent callers wait for
        the same rendering)."""
        cached = self.get(version)
        if cached is not None:
            return cached
        self._bind_loop()
        lock = self._locks.setdefault(version.key, asyncio.Lock())
        async with lock:
            cached = self.get(version)
            if cached is not None:
                return cached
            async with self._rendering:
                body = await render()
                gzipped = await asyncio.to_thread(gzip.compress, body, 6, mtime=0)
            made = FeedFile(version, body, gzipped)
            self._files[version.key] = made
            self._files.move_to_end(version.key)
            while len(self._files) > self._max:
                old_key, _ = self._files.popitem(last=False)
                self._locks.pop(old_key, None)
            return made

    def clear(self) -> None:
        self._versions.clear()
        self._files.clear()
        self._locks.clear()


FEEDS = FeedCache()
