"""Staff authentication and access, shared by the staff API and the organizer pages.

Every staff route sits behind `staff_guard`: pages under /manage accept only the session cookie,
the API under /api/v1 only a bearer token (so the API needs no CSRF protection). The guard runs
before the request body is read, checks the minimum role in the handler's `opt["staff_role"]`
(default: any staff member) and, for co-host staff, that the event behind any `event_id`,
`session_id` or `booking_id` path parameter is one their organization co-hosts.
Handlers receive the staff member as the `staff` dependency, which refuses when no guard ran.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.handlers.base import BaseRouteHandler

from service.domain.accounts.access import require_path_scope, require_role
from service.domain.accounts.actor import Actor
from service.domain.accounts.logins import authenticate
from service.domain.errors import AuthenticationRequired
from service.edge.dependencies import resources
from service.platform.settings import Settings

SESSION_COOKIE = "nw_staff"
COOKIE_PATH = "/manage"
_STATE_KEY = "staff"
_TOKEN_KEY = "staff_token"  # noqa: S105 - a state key, not a secret


def _is_api(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    return connection.url.path.startswith("/api/")


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def presented_token(connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[str, str]:
    """(token, kind) as this kind of route accepts it."""
    if _is_api(connection):
        return bearer_token(connection), "api"
    return connection.cookies.get(SESSION_COOKIE, ""), "web"


async def staff_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    token, kind = presented_token(connection)
    if not token:
        raise AuthenticationRequired()
    minimum = str(handler.opt.get("staff_role", "cohost"))
    async with resources(connection.app.state).session_factory() as db:
        actor = await authenticate(db, token, kind)
        require_role(actor, minimum)
        await require_path_scope(db, actor, dict(connection.path_params))
    connection.state[_STATE_KEY] = actor
    connection.state[_TOKEN_KEY] = token


def provide_staff(request: Request[Any, Any, Any]) -> Actor:
    actor = request.state.get(_STATE_KEY)
    if not isinstance(actor, Actor):
        # A handler asking for staff without the guard in front of it fails closed.
        raise AuthenticationRequired()
    return actor


def current_token(request: Request[Any, Any, Any]) -> str:
    return str(request.state.get(_TOKEN_KEY, ""))


Staff = NamedDependency[Actor]
STAFF_DEPENDENCIES = {"staff": Provide(provide_staff, sync_to_thread=False)}


def session_cookie(settings: Settings, token: str) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        path=COOKIE_PATH,
        max_age=settings.session_max_age,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )


def expired_session_cookie(settings: Settings) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        path=COOKIE_PATH,
        max_age=0,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )
