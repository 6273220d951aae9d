"""The answer to a request the HTTP server cannot read at all: a control character in a cookie
or another header, a broken request line. uvicorn answers those itself, before the app sees
them, with a bare English "Invalid HTTP request received." and none of the security headers.

install() replaces that answer, in both of uvicorn's HTTP implementations, with a short page in
plain Japanese (what to try, the desk's phone number) carrying the same security headers as
every other response. The request is still refused with 400 and the connection closed, as
before: only the words and the headers change.
"""

from __future__ import annotations

import html
from typing import Any

from service.edge.security_headers import COMMON_HEADERS, PAGE_POLICY
from service.platform.settings import Settings

TITLE = "リクエストを読み取れませんでした"


def bad_request_response(settings: Settings) -> bytes:
    body = (
        '<!doctype html><html lang="ja"><head><meta charset="utf-8">'
        f"<title>{TITLE}</title></head><body><h1>{TITLE}</h1>"
        "<p>ブラウザから届いた内容を読み取れませんでした。ページを開き直すか、"
        "ブラウザのクッキー（閲覧履歴）を削除してから、もう一度お試しください。</p>"
        f"<p>お困りのときは、{html.escape(settings.desk_name)}"
        f"（電話 {html.escape(settings.desk_phone)}）へお電話ください。</p></body></html>"
    ).encode()
    headers = {
        **COMMON_HEADERS,
        "Content-Security-Policy": PAGE_POLICY,
        "Content-Type": "text/html; charset=utf-8",
        "Content-Length": str(len(body)),
        "Cache-Control": "no-store",
        "Connection": "close",
    }
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return b"HTTP/1.1 400 Bad Request\r\n" + head.encode() + b"\r\n" + body


def install(settings: Settings) -> None:
    payload = bad_request_response(settings)

    def send_400_response(self: Any, msg: str) -> None:
        self.transport.write(payload)
        self.transport.close()

    try:
        from uvicorn.protocols.http import h11_impl
    except ImportError:  # not served by uvicorn (tests through ASGI, other servers)
        return
    h11_impl.H11Protocol.send_400_response = send_400_response  # type: ignore[method-assign]
    try:
        from uvicorn.protocols.http import httptools_impl
    except ImportError:  # httptools not installed
        return
    httptools_impl.HttpToolsProtocol.send_400_response = send_400_response  # type: ignore[method-assign]
