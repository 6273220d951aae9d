"""Admin pages: staff users and the audit log."""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from service.domain.accounts import audit_labels
from service.domain.accounts import service as accounts
from service.domain.accounts.audit import list_entries
from service.domain.errors import Conflict, InvalidInput
from service.domain.events.enums import EVENT_KINDS, SECTORS, WARDS
from service.edge.dependencies import DB, Redis
from service.edge.login_limits import clear_lock, current_locks
from service.edge.staff_auth import Staff
from service.web.form_errors import Refusal, rerender
from service.web.manage_common import done_message, form_fields, page, see_other


def _int_or_none(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdecimal() and len(value) < 19 else None


# Codes of other areas the audit log names in words (an event's kind and sector, a ward).
AUDIT_VOCABULARY = {**WARDS, **SECTORS, **EVENT_KINDS}


class ManageAdminPages(Controller):
    path = "/"
    include_in_schema = False
    opt = {"staff_role": "admin"}  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/audit")
    async def audit(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        staff: Staff,
        entity_type: FromQuery[str | None] = None,
        entity_id: FromQuery[str | None] = None,
        action: FromQuery[str | None] = None,
        page_no: FromQuery[int] = 1,
    ) -> Template:
        result = await list_entries(
            db,
            staff,
            entity_type=(entity_type or "")[:40] or None,
            entity_id=_int_or_none(entity_id),
            action=(action or "")[:60] or None,
            page=page_no,
        )
        return page(
            "manage/audit.html",
            staff,
            result=result,
            action_label=audit_labels.action_label,
            entity_label=audit_labels.entity_label,
            readable=partial(audit_labels.readable, vocabulary=AUDIT_VOCABULARY),
            ACTION_LABELS=audit_labels.ACTION_LABELS,
            ENTITY_LABELS=audit_labels.ENTITY_LABELS,
            filters={
                "entity_type": entity_type or "",
                "entity_id": entity_id or "",
                "action": action or "",
            },
        )

    @get("/login-locks")
    async def login_locks(
        self, request: Request[Any, Any, Any], staff: Staff, redis: Redis
    ) -> Template:
        return page(
            "manage/login_locks.html",
            staff,
            flash=done_message(request),
            locks=await current_locks(redis),
        )

    @post("/login-locks/clear", status_code=303)
    async def clear_login_lock(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, redis: Redis
    ) -> Redirect:
        fields = await form_fields(request)
        username = fields.get("username", "")[:100] or None
        address = fields.get("address", "")[:100] or None
        if username or address:
            cleared = await clear_lock(redis, username=username, address=address)
            await accounts.record_login_lock_cleared(
                db, staff, username=username, address=address, cleared=cleared
            )
        return see_other("/manage/login-locks", done="login_lock_cleared")

    @get("/users")
    async def users(self, request: Request[Any, Any, Any], db: DB, staff: Staff) -> Template:
        users = await accounts.list_users(db, staff)
        return page("manage/users.html", staff, flash=done_message(request), users=users)

    async def _form(
        self,
        db: DB,
        staff: Any,
        *,
        user: accounts.UserView | None,
        values: dict[str, str],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Template:
        orgs = await accounts.cohost_organizations(db)
        return page(
            "manage/user_form.html",
            staff,
            status_code=status_code,
            user=user,
            values=values,
            errors=errors,
            organizations=orgs,
        )

    @get("/users/new")
    async def new_user(self, db: DB, staff: Staff) -> Template:
        return await self._form(db, staff, user=None, values={"role": "organizer"}, errors={})

    @post("/users", status_code=303)
    async def create_user(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff
    ) -> Template | Redirect:
        data = await form_fields(request)
        try:
            await accounts.add_user(
                db,
                staff,
                username=data.get("username", ""),
                password=data.get("password", ""),
                role=data.get("role", ""),
                display_name=data.get("display_name", ""),
                organization_name=data.get("organization") or None,
            )
        except (InvalidInput, Conflict) as exc:
            data.pop("password", None)
            return await rerender(
                db,
                exc,
                lambda r: self._form(
                    db, staff, user=None, values=data, errors=r.fields or {"username": r.message}
                ),
            )
        return see_other("/manage/users", done="user_created")

    @get("/users/{user_id:int}")
    async def edit_user(self, db: DB, staff: Staff, user_id: FromPath[int]) -> Template:
        user = await accounts.get_user(db, staff, user_id)
        values = {
            "display_name": user.display_name,
            "role": user.role,
            "organization": user.organization or "",
            "is_active": "1" if user.is_active else "",
        }
        return await self._form(db, staff, user=user, values=values, errors={})

    @post("/users/{user_id:int}", status_code=303)
    async def update_user(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, user_id: FromPath[int]
    ) -> Template | Redirect:
        data = await form_fields(request)
        try:
            await accounts.update_user(
                db,
                staff,
                user_id,
                display_name=data.get("display_name"),
                role=data.get("role"),
                organization_name=data.get("organization") or None,
                is_active=data.get("is_active") == "1",
                password=data.get("password") or None,
            )
        except (InvalidInput, Conflict) as exc:
            data.pop("password", None)

            async def again(refusal: Refusal) -> Template:
                user = await accounts.get_user(db, staff, user_id)
                errors = refusal.fields or {"role": refusal.message}
                return await self._form(db, staff, user=user, values=data, errors=errors)

            return await rerender(db, exc, again)
        return see_other("/manage/users", done="user_saved")
