"""Domain errors: a stable code, a plain Japanese message, and the fields at fault.

The adapters map each kind to a response in one place (service/edge/http_errors.py).
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    code = "error"
    message = "処理できませんでした。"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.fields: dict[str, str] = dict(fields or {})
        super().__init__(self.message)


class InvalidInput(DomainError):
    code = "validation_error"
    message = "入力内容に誤りがあります。"


class NotFound(DomainError):
    code = "not_found"
    message = "見つかりませんでした。"


class Conflict(DomainError):
    code = "conflict"
    message = "現在の状態ではこの操作はできません。"


class AuthenticationRequired(DomainError):
    code = "authentication_required"
    message = "ログインしてください。"


class PermissionDenied(DomainError):
    code = "forbidden"
    message = "この操作をする権限がありません。"


def wait_words(seconds: int) -> str:
    """A wait as people say it, in whole minutes rounded up: 40 s 「1分ほど」, 14 min 10 s
    「15分ほど」 (Retry-After carries the seconds)."""
    return f"{max(-(-seconds // 60), 1)}分ほど"


class RateLimited(DomainError):
    """Too many attempts: `retry_after` is the real wait in seconds (the Retry-After header),
    and the default message says it in words."""

    code = "rate_limited"
    message = (
        "短い時間に操作が続いたため、しばらく受け付けを止めています。"
        "1分ほど待ってからもう一度お試しください。"
    )

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: Mapping[str, str] | None = None,
        retry_after: int = 60,
    ) -> None:
        self.retry_after = max(int(retry_after), 1)
        if message is None:
            message = (
                "短い時間に操作が続いたため、しばらく受け付けを止めています。"
                f"{wait_words(self.retry_after)}待ってからもう一度お試しください。"
            )
        super().__init__(message, code=code, fields=fields)
