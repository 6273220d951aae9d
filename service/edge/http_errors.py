"""The one mapping from exceptions to responses: JSON under /api, HTML pages elsewhere."""

from __future__ import annotations

import socket
from typing import Any

import asyncpg
import msgspec
import redis.exceptions
import sqlalchemy.exc
import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Template
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from service.domain import constraints
from service.domain.errors import (
    AuthenticationRequired,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from service.platform.exception_chain import causes

log = structlog.get_logger("service.errors")

STATUS_BY_KIND: dict[type[DomainError], int] = {
    InvalidInput: HTTP_422_UNPROCESSABLE_ENTITY,
    NotFound: HTTP_404_NOT_FOUND,
    Conflict: HTTP_409_CONFLICT,
    AuthenticationRequired: HTTP_401_UNAUTHORIZED,
    PermissionDenied: HTTP_403_FORBIDDEN,
    RateLimited: HTTP_429_TOO_MANY_REQUESTS,
}

CSRF_FAILED_CODE = "csrf_failed"
CSRF_FAILED_MESSAGE = "安全のための確認ができなかったため、送信を受け付けられませんでした。"
HTTP_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "リクエストの形式が正しくありません。"),
    401: ("authentication_required", "ログインしてください。"),
    403: ("forbidden", "この操作をする権限がありません。"),
    404: ("not_found", "お探しのページは見つかりませんでした。"),
    405: ("method_not_allowed", "この操作はできません。"),
    413: ("too_large", "送信された内容が大きすぎます。"),
    415: ("unsupported_media_type", "送信形式に対応していません。"),
    422: ("validation_error", "入力内容に誤りがあります。"),
    429: ("rate_limited", RateLimited.message),
    500: (
        "internal_error",
        "申し訳ありません。システムで問題が起きました。時間をおいてお試しください。",
    ),
    503: ("unavailable", "ただいま混み合っているか、保守中です。時間をおいてお試しください。"),
}

# While the database is unreachable: what the person can do, in plain words (pages add the desk's
# phone number below it).
UNAVAILABLE = (
    "service_unavailable",
    "ただいまシステムにつながりにくくなっています。"
    "少し時間をおいて（1分ほど）、もう一度お試しください。",
)
RETRY_AFTER_SECONDS = "30"

# Errors that mean "the database (or Redis) cannot be reached right now", whoever raised them:
# SQLAlchemy for ORM queries, asyncpg itself on the booking hot path, the socket when connecting.
_UNREACHABLE: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,  # no pooled connection came free in time
    sqlalchemy.exc.DisconnectionError,
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01
    asyncpg.CrashShutdownError,
    asyncpg.InterfaceError,  # "connection is closed"
    # The protocol lost its footing on a connection cut mid-statement (a PostgreSQL stopped
    # again while coming back: "cannot switch to state 15").
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
    socket.gaierror,
    TimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)
# OSErrors that are about files, not the network, stay 500s.
_LOCAL_OS_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)


def is_unavailable(exc: BaseException) -> bool:
    """True when exc (or what caused it) says a backing server is down or unreachable."""
    for e in causes(exc):
        if isinstance(e, sqlalchemy.exc.DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, _UNREACHABLE):
            return True
        if isinstance(e, OSError) and not isinstance(e, _LOCAL_OS_ERRORS):
            return True
    return False


# A lock or statement timeout (lock_timeout, statement_timeout on every connection), or a
# deadlock PostgreSQL broke by aborting this request: the database is too busy right now.
# Nothing was kept (the request rolled back): try again.
_DB_TIMEOUTS = (
    asyncpg.exceptions.LockNotAvailableError,
    asyncpg.exceptions.QueryCanceledError,
    asyncpg.exceptions.DeadlockDetectedError,
)
TRY_AGAIN_CODE = "try_again"
TRY_AGAIN_MESSAGE = "ただいま大変混み合っています。少し時間をおいて、もう一度お試しください。"
TRY_AGAIN_AFTER_SECONDS = "5"


def is_db_timeout(exc: BaseException) -> bool:
    """Through SQLAlchemy (DBAPIError.orig wraps the driver's error) or straight from asyncpg
    (the booking hot path)."""
    return any(isinstance(e, _DB_TIMEOUTS) for e in causes(exc, context=False))


def status_for(exc: DomainError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS_BY_KIND:
            return STATUS_BY_KIND[kind]
    return 400


def _field_name(key: str) -> str:
    return key.removeprefix("$.").removeprefix("body.").strip(".") or "body"


BODY_NOT_JSON = 'JSON 形式（例：{"name": "静岡 太郎", ...}）で送ってください。'
WRONG_TYPE = "値の形式が正しくありません（文字や数値の種類をご確認ください）。"


def _validation_fields(exc: ValidationException) -> dict[str, str]:
    """Each field the framework could not read, named: `body` when the body itself is not a
    JSON object (the handler's parameter is `data`)."""
    fields: dict[str, str] = {}
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            key = _field_name(str(item.get("key") or item.get("source") or "body"))
            key = "body" if key == "data" else key
            fields.setdefault(key, BODY_NOT_JSON if key == "body" else WRONG_TYPE)
    if not fields and exc.detail:
        detail = str(exc.detail)
        if "`$." in detail:
            key = detail.split("`$.", 1)[1].split("`", 1)[0]
            fields[_field_name(key)] = WRONG_TYPE
    return fields


def describe(exc: Exception) -> tuple[int, str, str, dict[str, str]]:
    """(status, code, message, fields) for any exception."""
    if isinstance(exc, DomainError):
        return status_for(exc), exc.code, exc.message, exc.fields
    if is_db_timeout(exc):
        return HTTP_503_SERVICE_UNAVAILABLE, TRY_AGAIN_CODE, TRY_AGAIN_MESSAGE, {}
    if isinstance(exc, ValidationException):
        code, message = HTTP_DEFAULTS[422]
        return HTTP_422_UNPROCESSABLE_ENTITY, code, message, _validation_fields(exc)
    if isinstance(exc, NotAuthorizedException):
        return HTTP_401_UNAUTHORIZED, *HTTP_DEFAULTS[401], {}
    if isinstance(exc, PermissionDeniedException):
        if "CSRF" in str(exc.detail):
            # A form without its security check, not a person without the right: the pages
            # word the two apart (a co-host opening an organizer's page is "forbidden").
            return HTTP_403_FORBIDDEN, CSRF_FAILED_CODE, CSRF_FAILED_MESSAGE, {}
        return HTTP_403_FORBIDDEN, *HTTP_DEFAULTS[403], {}
    if isinstance(exc, NotFoundException):
        return HTTP_404_NOT_FOUND, *HTTP_DEFAULTS[404], {}
    if isinstance(exc, HTTPException):
        code, message = HTTP_DEFAULTS.get(exc.status_code, ("http_error", str(exc.detail)))
        return exc.status_code, code, message, {}
    if is_unavailable(exc):
        return HTTP_503_SERVICE_UNAVAILABLE, *UNAVAILABLE, {}
    return HTTP_500_INTERNAL_SERVER_ERROR, *HTTP_DEFAULTS[500], {}


def is_api_request(request: Request[Any, Any, Any]) -> bool:
    # The scope's path, not request.url: building the URL object costs more than this check.
    path: str = request.scope["path"]
    # LINE's webhook is a machine's call too: errors in JSON.
    return path.startswith(("/api/", "/health", "/line/webhook"))


def _unreadable_body(request: Request[Any, Any, Any], exc: Exception) -> bool:
    """A 400 from the framework on a request with a body: the body was not JSON."""
    return (
        type(exc) is ClientException
        and exc.status_code == HTTP_400_BAD_REQUEST
        and request.method in ("POST", "PUT", "PATCH")
    )


BODY_NOT_UTF8 = "文字コードは UTF-8 で送ってください。"
BODY_TOO_DEEP = "入れ子が深すぎます。"
VALUE_NOT_STORABLE = "扱えない値（大きすぎる数、範囲外の日付、使えない文字など）が含まれています。"


def _database_refused_value(exc: Exception) -> bool:
    """The database (or its driver, encoding a parameter) refused a value as data: a number
    beyond bigint, a date out of range, a NUL in text. Input no validator caught is still input:
    a 422, not a 500."""
    return any(isinstance(e, asyncpg.DataError) for e in causes(exc, context=False))


def _as_bad_input(request: Request[Any, Any, Any], exc: Exception) -> Exception:
    """Exceptions that mean the request itself was unreadable or held an unstorable value."""
    if is_api_request(request) and _unreadable_body(request, exc):
        return InvalidInput(fields={"body": BODY_NOT_JSON})
    if isinstance(exc, UnicodeDecodeError):
        return InvalidInput(fields={"body": BODY_NOT_UTF8})
    if isinstance(exc, RecursionError):
        return InvalidInput(fields={"body": BODY_TOO_DEEP})
    if isinstance(exc, msgspec.DecodeError):
        return InvalidInput(fields={"body": BODY_NOT_JSON})
    if _database_refused_value(exc):
        return InvalidInput(VALUE_NOT_STORABLE, code="value_not_storable")
    if isinstance(exc, OverflowError):
        # Date arithmetic on a day typed at the edge of the calendar (9999-12-31 + 1 day).
        return InvalidInput(VALUE_NOT_STORABLE, code="value_not_storable")
    if (meaning := constraints.meaning_of(exc)) is not None:
        return meaning
    return exc


def exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    exc = _as_bad_input(request, exc)
    status, code, message, fields = describe(exc)
    headers: dict[str, str] = {}
    if code == UNAVAILABLE[0]:
        # Expected while a server is down: one line, not a traceback per request.
        log.warning("backend_unavailable", path=request.scope["path"], error=repr(exc)[:300])
        headers["Retry-After"] = RETRY_AFTER_SECONDS
    elif status == HTTP_503_SERVICE_UNAVAILABLE and code == TRY_AGAIN_CODE:
        log.warning("db_timeout", path=request.scope["path"], error=type(exc).__name__)
    elif status >= 500:
        log.error("unhandled", exc_info=exc, path=request.scope["path"])
    if isinstance(exc, HTTPException) and exc.headers:
        headers.update(exc.headers)
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if status == HTTP_429_TOO_MANY_REQUESTS:
        headers.setdefault("Retry-After", "60")
    if code == TRY_AGAIN_CODE and status == HTTP_503_SERVICE_UNAVAILABLE:
        headers.setdefault("Retry-After", TRY_AGAIN_AFTER_SECONDS)
    if is_api_request(request):
        body: dict[str, Any] = {"error": code, "message": message}
        if fields:
            body["fields"] = fields
        return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)
    path = request.scope["path"]
    if status == HTTP_401_UNAUTHORIZED and path.startswith("/manage"):
        return Response("", status_code=303, headers={"Location": f"/manage/login?next={path}"})
    return Template(
        template_name="error.html",
        context={"status": status, "code": code, "message": message, "fields": fields},
        status_code=status,
        headers=headers,
    )
