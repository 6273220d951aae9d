"""A request uvicorn cannot parse (a control character in a cookie) is answered in plain
Japanese with the security headers, by both of uvicorn's HTTP implementations (issue 8,
point 6: it was a bare English 400 without them), through the protocol classes uvicorn is
started with (service.edge.unreadable_request, `--http`). These tests are also what fails when an
upgrade of uvicorn stops calling `send_400_response`, which those classes rely on."""

from __future__ import annotations

import asyncio
import inspect
import socket
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.edge import server, unreadable_request
from service.platform.settings import Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "http",
    [unreadable_request.HTTP_PROTOCOL, "service.edge.unreadable_request:H11WithPage"],
)
async def test_malformed_cookie_gets_a_japanese_400_with_headers(app: Any, http: str) -> None:
    port = _free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=http, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.05)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nCookie: csrftoken=\x01\x00bad\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=10)
        writer.close()
    finally:
        server.should_exit = True
        await serving
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 400 Bad Request"
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-type"] == "text/html; charset=utf-8"
    text = body.decode()
    assert "リクエストを読み取れませんでした" in text
    assert "電話" in text
    assert "Invalid HTTP request" not in text


@pytest.mark.parametrize("base", [HttpToolsProtocol, H11Protocol])
def test_uvicorn_still_has_the_method_the_page_replaces(base: type) -> None:
    """What the subclasses override: a method taking the message, called for a request that
    cannot be parsed (the test above checks the call on a real server)."""
    method = base.__dict__.get("send_400_response")
    assert method is not None, f"{base.__name__}.send_400_response is gone: see unreadable_request"
    assert list(inspect.signature(method).parameters) == ["self", "msg"]
    source = inspect.getsource(base)
    assert "self.send_400_response(" in source


def test_the_server_starts_uvicorn_with_the_page(settings: Settings) -> None:
    command = server.api_command(settings)
    assert command[command.index("--http") + 1] == unreadable_request.HTTP_PROTOCOL
