"""The load generator: a small HTTP/1.1 keep-alive client on raw asyncio streams (httpx costs
more CPU per request than the servers it measures on a 2-core machine), N connections each
sending its next request as soon as the previous answer is read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import msgspec


@dataclass
class Answer:
    status: int  # 0: transport error
    error: str | None  # the "error" code of a JSON error body
    body: dict[str, object] | None
    seconds: float


@dataclass
class Run:
    answers: list[Answer] = field(default_factory=list)
    wall: float = 0.0
    client_cpu: float = 0.0  # seconds of this process's CPU during the run

    @property
    def rate(self) -> float:
        return len(self.answers) / self.wall if self.wall else 0.0

    def percentile(self, q: float) -> float:
        values = sorted(a.seconds for a in self.answers)
        if not values:
            return 0.0
        return values[min(len(values) - 1, round(q * (len(values) - 1)))]


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
            self.writer = self.reader = None

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            await self._open()
        assert self.reader is not None and self.writer is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + (body or b""))
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed by the server")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        close = False
        while (line := await self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        data = await self.reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, data


async def run_http(
    host: str,
    port: int,
    requests: Sequence[tuple[str, str, bytes | None]],
    concurrency: int,
    limit: float,
) -> Run:
    """Sends every request once over `concurrency` kept-alive connections."""
    todo = iter(requests)
    run = Run()

    async def worker() -> None:
        conn = Connection(host, port)
        try:
            for method, path, body in todo:
                started = time.perf_counter()
                try:
                    status, data = await conn.request(method, path, body)
                except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
                    await conn.close()
                    run.answers.append(Answer(0, "transport", None, time.perf_counter() - started))
                    continue
                elapsed = time.perf_counter() - started
                parsed = _json(data)
                error = parsed.get("error") if isinstance(parsed, dict) else None
                code = error if isinstance(error, str) else None
                run.answers.append(Answer(status, code, parsed, elapsed))
        finally:
            await conn.close()

    await _timed(run, lambda: asyncio.gather(*(worker() for _ in range(concurrency))), limit)
    return run


async def run_calls(
    calls: Sequence[Callable[[], Awaitable[tuple[int, str | None, dict[str, object] | None]]]],
    concurrency: int,
    limit: float,
) -> Run:
    """The same shape without HTTP: each call returns (status, error code, body)."""
    todo = iter(calls)
    run = Run()

    async def worker() -> None:
        for call in todo:
            started = time.perf_counter()
            status, error, body = await call()
            run.answers.append(Answer(status, error, body, time.perf_counter() - started))

    await _timed(run, lambda: asyncio.gather(*(worker() for _ in range(concurrency))), limit)
    return run


async def _timed(run: Run, start: Callable[[], Awaitable[object]], limit: float) -> None:
    cpu = time.process_time()
    began = time.perf_counter()
    await asyncio.wait_for(start(), limit)
    run.wall = time.perf_counter() - began
    run.client_cpu = time.process_time() - cpu


def _json(data: bytes) -> dict[str, object] | None:
    try:
        value = msgspec.json.decode(data)
    except msgspec.DecodeError:
        return None
    return value if isinstance(value, dict) else None
