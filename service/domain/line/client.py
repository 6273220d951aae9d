"""The Messaging API through the official SDK (line-bot-sdk v3, async): push with LINE's retry
rules, reply, link tokens, multicast and broadcast. The one module that talks to LINE.

A push is tried up to PUSH_ATTEMPTS times: a 429 or a 5xx (or no answer) is tried again after
LINE's Retry-After (or a short pause when it gives none), as long as that wait fits in
RETRY_BUDGET; any other 4xx is final. Every try carries the notice's X-Line-Retry-Key, so LINE
sends one message whatever the number of tries (a try LINE had already accepted answers 409
with x-line-accepted-request-id: sent)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    BroadcastRequest,
    Configuration,
    Message,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
)
from linebot.v3.messaging.exceptions import ApiException

from service.platform.settings import Settings

log = structlog.get_logger("service.line")

PUSH_ATTEMPTS = 3
# The longest LINE may ask us to wait, all tries together, before the notice goes by mail.
RETRY_BUDGET_SECONDS = 15.0
DEFAULT_PAUSES = (1.0, 3.0)
REQUEST_TIMEOUT_SECONDS = 5.0
MULTICAST_MAX = 500

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PushResult:
    sent: bool
    # The last answer's status (0: no answer) and LINE's message, for the record.
    status: int = 0
    error: str = ""
    attempts: int = 0


def _retry_after(exc: ApiException) -> float | None:
    headers = exc.headers or {}
    raw = headers.get("Retry-After") if hasattr(headers, "get") else None
    if raw is None:
        return None
    try:
        return max(0.0, float(str(raw).strip()))
    except ValueError:
        return None


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500 or status == 0


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        body = exc.body
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        return f"{exc.status} {body or exc.reason or ''}"[:500]
    return repr(exc)[:500]


class LineClient:
    def __init__(self, api: AsyncMessagingApi, sleep: Sleep = asyncio.sleep) -> None:
        self._api = api
        self._sleep = sleep

    async def _send(self, call: Callable[[str], Awaitable[Any]], retry_key: str) -> PushResult:
        waited = 0.0
        status, error = 0, ""
        for attempt in range(1, PUSH_ATTEMPTS + 1):
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                    await call(retry_key)
                return PushResult(True, 200, "", attempt)
            except ApiException as exc:
                status, error = int(exc.status or 0), _error_text(exc)
                if status == 409 and _accepted_before(exc):
                    return PushResult(True, 409, "", attempt)
                if not _retryable(status):
                    return PushResult(False, status, error, attempt)
                pause = _retry_after(exc)
            except (TimeoutError, OSError) as exc:
                status, error, pause = 0, repr(exc)[:500], None
            if attempt == PUSH_ATTEMPTS:
                break
            if pause is None:
                pause = DEFAULT_PAUSES[min(attempt, len(DEFAULT_PAUSES)) - 1]
            if waited + pause > RETRY_BUDGET_SECONDS:
                # LINE asks for longer than a notice may wait: it goes by mail instead.
                log.info("line_retry_after_too_long", retry_after=pause)
                break
            waited += pause
            await self._sleep(pause)
        return PushResult(False, status, error, PUSH_ATTEMPTS)

    async def push(self, to: str, messages: Sequence[Message], retry_key: str) -> PushResult:
        request = PushMessageRequest(to=to, messages=list(messages))

        async def call(key: str) -> Any:
            return await self._api.push_message_with_http_info(
                request, x_line_retry_key=key, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )

        return await self._send(call, retry_key)

    async def multicast(
        self, to: Sequence[str], messages: Sequence[Message], retry_key: str
    ) -> PushResult:
        request = MulticastRequest(to=list(to), messages=list(messages))

        async def call(key: str) -> Any:
            return await self._api.multicast_with_http_info(
                request, x_line_retry_key=key, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )

        return await self._send(call, retry_key)

    async def broadcast(self, messages: Sequence[Message], retry_key: str) -> PushResult:
        request = BroadcastRequest(messages=list(messages))

        async def call(key: str) -> Any:
            return await self._api.broadcast_with_http_info(
                request, x_line_retry_key=key, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )

        return await self._send(call, retry_key)

    async def reply(self, reply_token: str, messages: Sequence[Message]) -> bool:
        """Best effort: a reply token lives about a minute and works once; a lost reply is
        asked for again by the person."""
        try:
            await self._api.reply_message(
                ReplyMessageRequest(reply_token=reply_token, messages=list(messages)),
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
        except (ApiException, TimeoutError, OSError) as exc:
            log.warning("line_reply_failed", error=_error_text(exc))
            return False
        return True

    async def issue_link_token(self, user_id: str) -> str | None:
        try:
            answer = await self._api.issue_link_token(
                user_id, _request_timeout=REQUEST_TIMEOUT_SECONDS
            )
        except (ApiException, TimeoutError, OSError) as exc:
            log.warning("line_link_token_failed", error=_error_text(exc))
            return None
        token = getattr(answer, "link_token", None)
        return str(token) if token else None


def _accepted_before(exc: ApiException) -> bool:
    headers = exc.headers or {}
    return bool(hasattr(headers, "get") and headers.get("x-line-accepted-request-id"))


@asynccontextmanager
async def line_client(
    settings: Settings, sleep: Sleep = asyncio.sleep
) -> AsyncIterator[LineClient]:
    """A client for one job's work (the SDK's aiohttp session is closed at the end)."""
    configuration = Configuration(
        host=settings.line_api_base_url, access_token=settings.line_channel_access_token
    )
    async with AsyncApiClient(configuration) as api_client:
        yield LineClient(AsyncMessagingApi(api_client), sleep)
