"""ASGI middleware: a request id for every request, bound into the logs and echoed back."""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Iterable

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.platform.logging import request_log

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Ids only need to be unique, not secret: a random prefix per process and a counter (a uuid4
# per request reads the OS's random source, measurably on the booking hot path).
_PREFIX = os.urandom(6).hex()
_SEQUENCE = itertools.count(1)


def _new_prefix() -> None:
    global _PREFIX
    _PREFIX = os.urandom(6).hex()


os.register_at_fork(after_in_child=_new_prefix)


def _incoming_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"x-request-id":
            incoming = value.decode("latin-1")
            return incoming if _SAFE_ID.match(incoming) else ""
    return ""


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await app(scope, receive, send)
            return
        request_id = _incoming_id(scope["headers"]) or f"{_PREFIX}{next(_SEQUENCE):08x}"
        scope.setdefault("state", {})["request_id"] = request_id
        encoded_id = request_id.encode()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", encoded_id)]
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            request_log.write(
                request_id,
                str(scope.get("method", "")),
                scope["path"],
                status,
                round((time.perf_counter() - started) * 1000, 1),
            )
            structlog.contextvars.unbind_contextvars("request_id")

    return middleware
