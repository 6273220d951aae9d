"""The one HMAC signer: values the service hands out and takes back unchanged (calendar links,
the done page's receipt), keyed by SECRET_KEY and a purpose, so that a token made for one use
is worthless for another. Changing SECRET_KEY revokes all of them at once."""

from __future__ import annotations

import base64
import hashlib
import hmac


def mac(secret: str, purpose: str, value: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    # 128 bits are plenty against guessing and keep the URLs short.
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def is_valid(secret: str, purpose: str, value: str, token: str) -> bool:
    return hmac.compare_digest(mac(secret, purpose, value).encode(), token.encode())
