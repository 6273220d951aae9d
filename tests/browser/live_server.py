"""The real app under uvicorn on a free loopback port, in a thread of its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from service.devtools.embedded_servers import free_port
from service.platform.settings import Settings

# Bounds a hang only; the app starts in about a second.
SERVER_START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    settings: Settings

    def url(self, path: str = "/") -> str:
        return self.base_url + path


@contextmanager
def serve(settings: Settings) -> Iterator[LiveServer]:
    """Runs create_app(settings) under uvicorn until the block ends."""
    from service.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        access_log=False,
    )
    server = uvicorn.Server(config)
    # Its own thread and event loop: the app keeps serving while the test awaits the browser.
    thread = threading.Thread(target=server.run, name=f"live-server-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        server.should_exit = True
        thread.join(10)
        raise RuntimeError(f"the live server on port {port} did not start")
    try:
        yield LiveServer(base_url=f"http://127.0.0.1:{port}", settings=settings)
    finally:
        server.should_exit = True
        thread.join(30)
