"""ASGI middleware: security headers on every response.

The pages carry no inline script or style (not even style attributes), so the policy can forbid
them outright; a browser that is tricked into rendering injected markup still runs nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.types import Message, Scope

PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# The OpenAPI viewer (developers only) is Swagger UI: its bundle comes from a CDN and boots with
# an inline script. It gets its own policy rather than weakening the one for the public pages.
SCHEMA_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "img-src 'self' data: https://cdn.jsdelivr.net",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)

COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
HSTS = "max-age=31536000; includeSubDomains"


# Encoded once: this runs on every response, the booking hot path included.
_COMMON = [(name.lower().encode(), value.encode()) for name, value in COMMON_HEADERS.items()]
_CSP = b"content-security-policy"
_PAGE_CSP = (_CSP, PAGE_POLICY.encode())
_SCHEMA_CSP = (_CSP, SCHEMA_POLICY.encode())
_HSTS = (b"strict-transport-security", HSTS.encode())


def security_headers_hook(*, hsts: bool) -> Callable[[Message, Scope], Awaitable[None]]:
    """A before_send hook, so that every response gets the headers, including the 404 for an
    unknown path and the 405 for a wrong method, which never reach route middleware.
    hsts: send Strict-Transport-Security (only when the site is served over https)."""

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = [
            (name, value)
            for name, value in message.get("headers", ())
            if name.lower() not in (_CSP, _HSTS[0])
        ]
        present = {name.lower() for name, _ in headers}
        headers.extend(h for h in _COMMON if h[0] not in present)
        path = scope["path"]
        schema = path == "/schema" or path.startswith("/schema/")
        headers.append(_SCHEMA_CSP if schema else _PAGE_CSP)
        if hsts:
            headers.append(_HSTS)
        message["headers"] = headers

    return add_headers
