"""Staff login and logout pages."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from service.domain.accounts.logins import login, logout
from service.domain.errors import AuthenticationRequired, InvalidInput, RateLimited
from service.edge.dependencies import DB, AppSettings, Redis
from service.edge.login_limits import login_attempt
from service.edge.rate_limit import client_address
from service.edge.staff_auth import (
    Staff,
    current_token,
    expired_session_cookie,
    session_cookie,
)
from service.web.manage_common import done_message, form_fields, page, safe_next


class ManageLoginPages(Controller):
    """The only organizer pages reachable without a login."""

    path = "/manage/login"
    include_in_schema = False

    @get("/", name="manage_login")
    async def form(self, request: Request[Any, Any, Any]) -> Template:
        return page(
            "manage/login.html",
            None,
            flash=done_message(request),
            next=safe_next(request.query_params.get("next")),
            username="",
            error=None,
        )

    @post("/", status_code=303)
    async def submit(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        redis: Redis,
        settings: AppSettings,
    ) -> Template | Redirect:
        fields = await form_fields(request)
        username = fields.get("username", "")[:200]
        target = safe_next(fields.get("next"))
        address = client_address(request)
        try:
            async with login_attempt(redis, username=username, address=address):
                result = await login(
                    db,
                    username=username,
                    password=fields.get("password", ""),
                    kind="web",
                    max_age_seconds=settings.session_max_age,
                )
        except (AuthenticationRequired, InvalidInput, RateLimited) as exc:
            status = 429 if isinstance(exc, RateLimited) else 401
            message = exc.message
            if isinstance(exc, InvalidInput):
                message = " ".join(exc.fields.values()) or exc.message
                status = 400
            answer = page(
                "manage/login.html",
                None,
                status_code=status,
                next=target,
                username=username,
                error=message,
            )
            if isinstance(exc, RateLimited):
                answer.headers["Retry-After"] = str(exc.retry_after)
            return answer
        if result.actor.role == "company" and target == "/manage":
            # Company staff have one place in the console: their matching days.
            target = "/manage/matching"
        return Redirect(
            path=target, status_code=303, cookies=[session_cookie(settings, result.token)]
        )


@post("/logout", name="manage_logout", status_code=303, opt={"staff_role": "company"})
async def logout_page(
    request: Request[Any, Any, Any], db: DB, settings: AppSettings, staff: Staff
) -> Redirect:
    await logout(db, current_token(request))
    return Redirect(
        path="/manage/login?done=logged_out",
        status_code=303,
        cookies=[expired_session_cookie(settings)],
    )
