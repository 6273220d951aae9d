"""Logging staff in and out: page sessions and API bearer tokens, stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.actor import Actor
from service.domain.accounts.passwords import (
    DUMMY_HASH,
    hash_password_off_loop,
    needs_rehash,
    verify_password_off_loop,
)
from service.domain.accounts.repository import AccountRepository
from service.domain.errors import AuthenticationRequired, InvalidInput
from service.domain.text_rules import forbidden_chars_message, has_forbidden_chars

TOKEN_KINDS = ("web", "api")
# One answer for an unknown user, a wrong password and a disabled account.
LOGIN_FAILED = "ユーザー名またはパスワードが違います。"
MAX_PASSWORD_LENGTH = 1024


@dataclass(frozen=True)
class Login:
    token: str
    expires_at: datetime
    actor: Actor


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalize_username(username: str) -> str:
    return unicodedata.normalize("NFKC", username).strip()


async def login(
    db: AsyncSession,
    *,
    username: str,
    password: str,
    kind: str,
    max_age_seconds: int,
    now: datetime | None = None,
) -> Login:
    if kind not in TOKEN_KINDS:
        raise ValueError(f"unknown token kind {kind!r}")
    username = normalize_username(username)
    fields: dict[str, str] = {}
    if not username:
        fields["username"] = "ユーザー名を入力してください。"
    elif has_forbidden_chars(username):
        fields["username"] = forbidden_chars_message("ユーザー名")
    if not password:
        fields["password"] = "パスワードを入力してください。"  # noqa: S105 - a message
    if fields:
        raise InvalidInput(fields=fields)
    now = now or clock.now()
    repo = AccountRepository(db)
    user = await repo.user_by_username(username) if len(username) <= 100 else None
    # Hashing a huge password is a cheap denial of service; such a password was never set.
    candidate = password[:MAX_PASSWORD_LENGTH]
    if user is None or not user.is_active:
        await verify_password_off_loop(DUMMY_HASH, candidate)  # same time as a real check
        raise AuthenticationRequired(LOGIN_FAILED, code="login_failed")
    if len(password) > MAX_PASSWORD_LENGTH or not await verify_password_off_loop(
        user.password_hash, candidate
    ):
        raise AuthenticationRequired(LOGIN_FAILED, code="login_failed")
    if needs_rehash(user.password_hash):
        await repo.set_password_hash(user.id, await hash_password_off_loop(password))
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=max_age_seconds)
    await repo.add_token(
        user_id=user.id, token_hash=token_hash(token), kind=kind, expires_at=expires_at
    )
    await repo.mark_login(user.id, now)
    return Login(token=token, expires_at=expires_at, actor=Actor.of(user))


async def authenticate(
    db: AsyncSession, token: str, kind: str, *, now: datetime | None = None
) -> Actor:
    """The staff member holding this live token; AuthenticationRequired otherwise."""
    if not token or len(token) > 200:
        raise AuthenticationRequired()
    user = await AccountRepository(db).user_by_token(token_hash(token), kind, now or clock.now())
    if user is None:
        raise AuthenticationRequired()
    return Actor.of(user)


async def logout(db: AsyncSession, token: str, *, now: datetime | None = None) -> None:
    if token and len(token) <= 200:
        await AccountRepository(db).revoke_token(token_hash(token), now or clock.now())


async def purge_expired_tokens(db: AsyncSession, *, now: datetime | None = None) -> int:
    """Deletes logins and API tokens past their expiry (they no longer authenticate anyone).
    Returns how many went. For the worker's nightly cron."""
    return await AccountRepository(db).purge_expired_tokens(now or clock.now())
