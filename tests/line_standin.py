"""A local stand-in for LINE's Messaging API, listening on loopback: it checks the bearer
token, validates each request's JSON against the SDK's own request models (a body the SDK would
not accept is a 400 in LINE's error shape), keeps X-Line-Retry-Key as LINE does (a key already
accepted answers 409 with x-line-accepted-request-id), and answers with what a test planned
(e.g. 429 with Retry-After, then 200). And a signer for webhook bodies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from linebot.v3.messaging import (
    BroadcastRequest,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
)

from service.devtools.embedded_servers import free_port

TOKEN = "test-channel-access-token"
SECRET = "test-channel-secret-0123456789abcdef"

MODELS: dict[str, Any] = {
    "push": PushMessageRequest,
    "reply": ReplyMessageRequest,
    "multicast": MulticastRequest,
    "broadcast": BroadcastRequest,
}


@dataclass(frozen=True)
class Planned:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    kind: str
    body: dict[str, Any]
    retry_key: str | None
    at: float
    status: int


class LineStandIn:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[Seen] = []
        self.plans: dict[str, deque[Planned]] = defaultdict(deque)
        self.accepted_keys: set[str] = set()
        self.link_tokens: dict[str, str] = {}

    def plan(self, kind: str, *answers: Planned) -> None:
        self.plans[kind].extend(answers)

    def of(self, kind: str) -> list[Seen]:
        return [r for r in self.requests if r.kind == kind]

    def delivered(self, kind: str) -> list[Seen]:
        return [r for r in self.of(kind) if r.status == 200]

    def texts(self, kind: str) -> list[str]:
        return [m["text"] for r in self.delivered(kind) for m in r.body["messages"]]

    async def _message(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"message": "Authentication failed."}, status=401)
        raw = await request.read()
        retry_key = request.headers.get("X-Line-Retry-Key")
        try:
            body = json.loads(raw)
            MODELS[kind].from_dict(body)  # the SDK's own model: what LINE would accept
            if kind == "reply" and retry_key:
                raise ValueError("reply takes no retry key")
            if retry_key is not None:
                uuid.UUID(retry_key)
        except (ValueError, KeyError) as exc:  # pydantic v1 errors are ValueErrors
            seen = Seen(kind, {}, retry_key, time.monotonic(), 400)
            self.requests.append(seen)
            error = {
                "message": "The request body has 1 error(s)",
                "details": [{"message": str(exc)[:200], "property": "messages"}],
            }
            return web.json_response(error, status=400)
        if retry_key is not None and retry_key in self.accepted_keys:
            self.requests.append(Seen(kind, body, retry_key, time.monotonic(), 409))
            return web.json_response(
                {"message": "The retry key is already accepted"},
                status=409,
                headers={"x-line-accepted-request-id": "accepted-" + retry_key[:8]},
            )
        planned = self.plans[kind].popleft() if self.plans[kind] else Planned(200)
        self.requests.append(Seen(kind, body, retry_key, time.monotonic(), planned.status))
        if planned.status == 200:
            if retry_key is not None:
                self.accepted_keys.add(retry_key)
            return web.json_response({"sentMessages": [{"id": "1", "quoteToken": "q"}]})
        shape = planned.body or {
            400: {"message": "The property, 'to', in the request body is invalid"},
            429: {"message": "The API rate limit has been exceeded. Try again later."},
            500: {"message": "An error occurred in the API server"},
        }.get(planned.status, {"message": "error"})
        return web.json_response(shape, status=planned.status, headers=planned.headers)

    async def _link_token(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"message": "Authentication failed."}, status=401)
        user = request.match_info["user"]
        token = "LT" + uuid.uuid4().hex
        self.link_tokens[token] = user
        self.requests.append(Seen("link_token", {"user": user}, None, time.monotonic(), 200))
        return web.json_response({"linkToken": token})

    @asynccontextmanager
    async def running(self) -> AsyncIterator[LineStandIn]:
        app = web.Application()
        app.router.add_post("/v2/bot/message/{kind:push|reply|multicast|broadcast}", self._message)
        app.router.add_post("/v2/bot/user/{user}/linkToken", self._link_token)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        await site.start()
        try:
            yield self
        finally:
            await runner.cleanup()


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def user_id(n: int) -> str:
    return "U" + f"{n:032x}"


def event(
    kind: str,
    user: str,
    *,
    event_id: str | None = None,
    at_ms: int | None = None,
    redelivery: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """A webhook event as LINE sends it."""
    body: dict[str, Any] = {
        "type": kind,
        "mode": "active",
        "timestamp": at_ms if at_ms is not None else int(time.time() * 1000),
        "source": {"type": "user", "userId": user},
        "webhookEventId": event_id or uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": redelivery},
    }
    if kind != "unfollow":
        body["replyToken"] = uuid.uuid4().hex
    if kind == "follow":
        body["follow"] = {"isUnblocked": False}
    body.update(extra)
    return body


def payload(*events: dict[str, Any]) -> bytes:
    return json.dumps(
        {"destination": "U" + "0" * 32, "events": list(events)}, ensure_ascii=False
    ).encode()
