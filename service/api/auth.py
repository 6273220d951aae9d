"""Staff API tokens: POST /api/v1/auth/token logs in, DELETE logs out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.openapi.spec import Components, SecurityScheme
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from service.domain.accounts.actor import Actor
from service.domain.accounts.logins import login, logout
from service.edge.dependencies import DB, AppSettings, Redis
from service.edge.login_limits import login_attempt
from service.edge.rate_limit import client_address
from service.edge.staff_auth import (
    STAFF_DEPENDENCIES,
    Staff,
    current_token,
    staff_guard,
)


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: str


class StaffMe(msgspec.Struct):
    id: int
    username: str
    display_name: str
    role: str
    organization_id: int | None


class TokenResponse(msgspec.Struct):
    token: str
    token_type: str
    expires_at: datetime
    user: StaffMe


def me_of(actor: Actor) -> StaffMe:
    return StaffMe(
        id=actor.id,
        username=actor.username,
        display_name=actor.display_name,
        role=actor.role,
        organization_id=actor.organization_id,
    )


class AuthController(Controller):
    path = "/auth"
    tags = ["staff auth"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        "/token",
        status_code=HTTP_201_CREATED,
        summary="Log in: a bearer token for the staff API",
        description=(
            "The same 401 `login_failed` answers an unknown user, a wrong password and a "
            "disabled account. Failed password checks are limited per address and per username "
            "from one address (429, for that address only, with `Retry-After` the real wait); "
            "successes and logins the database could not check are not counted; a username "
            "guessed at from many addresses is slowed down, never locked (admins: "
            "/api/v1/manage/login-locks)."
        ),
    )
    async def create_token(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[TokenRequest],
        db: DB,
        redis: Redis,
        settings: AppSettings,
    ) -> TokenResponse:
        address = client_address(request)
        async with login_attempt(redis, username=data.username, address=address):
            result = await login(
                db,
                username=data.username,
                password=data.password,
                kind="api",
                max_age_seconds=settings.session_max_age,
            )
        return TokenResponse(
            token=result.token,
            token_type="bearer",  # noqa: S106 - the scheme name, not a secret
            expires_at=result.expires_at,
            user=me_of(result.actor),
        )

    @delete(
        "/token",
        status_code=HTTP_204_NO_CONTENT,
        summary="Log out: revoke the bearer token used for this request",
        guards=[staff_guard],
        dependencies=STAFF_DEPENDENCIES,
        security=[{"BearerToken": []}],
    )
    async def revoke_token(self, request: Request[Any, Any, Any], db: DB, staff: Staff) -> None:
        await logout(db, current_token(request))

    @get(
        "/me",
        summary="The staff member holding the bearer token",
        guards=[staff_guard],
        dependencies=STAFF_DEPENDENCIES,
        security=[{"BearerToken": []}],
    )
    async def whoami(self, staff: Staff) -> StaffMe:
        return me_of(staff)


# Referenced by every staff API route (security=[{"BearerToken": []}]).
OPENAPI_COMPONENTS = Components(
    security_schemes={
        "BearerToken": SecurityScheme(
            type="http",
            scheme="bearer",
            description="A staff token from POST /api/v1/auth/token.",
        )
    }
)
