"""The receipt behind the booking done page: what the booking POST decided, signed into the
URL of the page it redirects to (/bookings/done?r=...).

The done page then survives a reload or the back button without booking twice, and it carries
no personal data: the code, the outcome and where and when (the code alone opens nothing; the
look-up needs the phone number too). It never expires, because forms here have no time limits.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import asdict, dataclass

from service.platform import signing
from service.platform.settings import Settings

_PURPOSE = "booking-receipt"
MAX_TOKEN_CHARS = 400


@dataclass(frozen=True, slots=True)
class Receipt:
    code: str
    status: str  # confirmed | waitlisted
    waitlist_position: int | None
    event_id: int
    session_id: int
    mail: bool  # an e-mail address was given, so a confirmation mail is on its way


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(settings: Settings, body: str) -> str:
    return signing.mac(settings.secret_key, _PURPOSE, body)


def sign_receipt(settings: Settings, receipt: Receipt) -> str:
    body = _b64(json.dumps(asdict(receipt), separators=(",", ":")).encode())
    return f"{body}.{_mac(settings, body)}"


def read_receipt(settings: Settings, token: str) -> Receipt | None:
    """The receipt, or None for anything this service did not sign."""
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        return None
    body, mac = token.split(".")
    if not signing.is_valid(settings.secret_key, _PURPOSE, body, mac):
        return None
    try:
        data = json.loads(_unb64(body))
        return Receipt(
            code=str(data["code"]),
            status=str(data["status"]),
            waitlist_position=(
                int(data["waitlist_position"]) if data["waitlist_position"] else None
            ),
            event_id=int(data["event_id"]),
            session_id=int(data["session_id"]),
            mail=bool(data["mail"]),
        )
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
