"""The follow-up form's links: the mailed link carries the target and its last day, signed
with SECRET_KEY (60 days); the printed letter carries a short code (/f/<code>, 10 characters)
that is easy to type from paper and works while the campaign is open."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import date, datetime, timedelta

from service.platform.local_time import TOKYO
from service.platform.settings import Settings

VALID_DAYS = 60
_TOKEN = re.compile(r"^([1-9][0-9]{0,17})-([0-9]{8})-([A-Za-z0-9_-]{22})$")
_SHORT = re.compile(r"^[0-9a-f]{10}$")


def _mac(settings: Settings, value: str) -> str:
    digest = hmac.new(
        settings.secret_key.encode(), f"follow-up:{value}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def last_day(sent_at: datetime) -> date:
    return sent_at.astimezone(TOKYO).date() + timedelta(days=VALID_DAYS)


def form_token(settings: Settings, target_id: int, sent_at: datetime) -> str:
    value = f"{target_id}-{last_day(sent_at):%Y%m%d}"
    return f"{value}-{_mac(settings, value)}"


def form_path(settings: Settings, target_id: int, sent_at: datetime) -> str:
    return f"/follow-up/{form_token(settings, target_id, sent_at)}"


def short_path(short_code: str) -> str:
    return f"/f/{short_code}"


def read_token(settings: Settings, token: str, today: date) -> int | None:
    """The target id of a valid, unexpired token; None otherwise (never says which)."""
    match = _TOKEN.match(token)
    if not match:
        return None
    value = f"{match.group(1)}-{match.group(2)}"
    if not hmac.compare_digest(match.group(3), _mac(settings, value)):
        return None
    try:
        until = date(int(value[-8:-4]), int(value[-4:-2]), int(value[-2:]))
    except ValueError:
        return None
    return int(match.group(1)) if today <= until else None


def is_short_code(code: str) -> bool:
    return bool(_SHORT.match(code))
