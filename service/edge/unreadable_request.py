"""The answer to a request the HTTP server cannot read at all: a control character in a cookie
or another header, a broken request line. uvicorn answers those itself, before any ASGI app
sees them, with a bare English "Invalid HTTP request received." and none of the security
headers, so no middleware can change that answer.

This module is the one adapter to uvicorn's HTTP protocols: its two subclasses of uvicorn's
HTTP implementations answer instead with a short page in plain Japanese (what to try, the
desk's phone number) carrying the same security headers as every other response. uvicorn takes
them through its public `--http` option (an import string, `HTTP_PROTOCOL` below), as
`python -m service serve` and `make run` start it. The request is still refused with 400 and
the connection closed: only the words and the headers change. They rely on uvicorn calling
`send_400_response(msg)` on its protocol for such a request, which is not documented:
tests/test_unreadable_request.py fails if an upgrade changes that.
"""

from __future__ import annotations

import html

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.edge.security_headers import COMMON_HEADERS, PAGE_POLICY
from service.platform.settings import Settings, SettingsError, get_settings

TITLE = "リクエストを読み取れませんでした"
# What `uvicorn --http` is given (service/edge/server.py, service/devtools/runner.py).
HTTP_PROTOCOL = "service.edge.unreadable_request:HttpToolsWithPage"


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


class _Page:
    """The page of the app this process serves: create_app gives its settings (use()); until
    then, the settings from the environment, as the app loads them."""

    body: bytes | None = None

    @classmethod
    def get(cls) -> bytes | None:
        if cls.body is None:
            try:
                cls.body = bad_request_response(get_settings())
            except SettingsError:
                return None  # the app cannot start either; uvicorn's own answer will do
        return cls.body


def use(settings: Settings) -> None:
    """The page names this app's desk (create_app calls this; nothing of uvicorn's changes)."""
    _Page.body = bad_request_response(settings)


class HttpToolsWithPage(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        page = _Page.get()
        if page is None:
            super().send_400_response(msg)
            return
        self.transport.write(page)
        self.transport.close()


class H11WithPage(H11Protocol):
    def send_400_response(self, msg: str) -> None:
        page = _Page.get()
        if page is None:
            super().send_400_response(msg)
            return
        self.transport.write(page)
        self.transport.close()
