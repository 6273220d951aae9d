"""Staff API for admins: staff users and the audit log."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from service.domain.accounts import service as accounts
from service.domain.accounts.audit import AuditPage, list_entries
from service.domain.accounts.service import UserView
from service.domain.errors import InvalidInput
from service.edge.dependencies import DB, Redis
from service.edge.login_limits import LoginLock, clear_lock, current_locks
from service.edge.staff_auth import Staff

ADMIN = {"staff_role": "admin"}


class NewUserBody(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: str
    role: str
    display_name: str = ""
    organization: str | None = None


class UserChangeBody(msgspec.Struct, forbid_unknown_fields=True):
    display_name: str | None = None
    role: str | None = None
    organization: str | None = None
    is_active: bool | None = None
    password: str | None = None


class ManageUsersController(Controller):
    path = "/users"
    tags = ["staff: admin"]  # noqa: RUF012 - Litestar reads it as a class attribute
    opt = ADMIN

    @get("/", summary="Staff users (admins only)")
    async def list_users(self, db: DB, staff: Staff) -> list[UserView]:
        return await accounts.list_users(db, staff)

    @post("/", status_code=HTTP_201_CREATED, summary="Create a staff user (admins only)")
    async def create_user(self, db: DB, staff: Staff, data: JSONBody[NewUserBody]) -> UserView:
        return await accounts.add_user(
            db,
            staff,
            username=data.username,
            password=data.password,
            role=data.role,
            display_name=data.display_name,
            organization_name=data.organization,
        )

    @get("/{user_id:int}", summary="One staff user (admins only)")
    async def show_user(self, db: DB, staff: Staff, user_id: FromPath[int]) -> UserView:
        return await accounts.get_user(db, staff, user_id)

    @patch(
        "/{user_id:int}",
        summary="Change a staff user (admins only)",
        description="Disabling a user, changing their role or password ends all their logins.",
    )
    async def update_user(
        self, db: DB, staff: Staff, user_id: FromPath[int], data: JSONBody[UserChangeBody]
    ) -> UserView:
        return await accounts.update_user(
            db,
            staff,
            user_id,
            display_name=data.display_name,
            role=data.role,
            organization_name=data.organization,
            is_active=data.is_active,
            password=data.password,
        )


class ManageAuditController(Controller):
    path = "/audit"
    tags = ["staff: admin"]  # noqa: RUF012 - Litestar reads it as a class attribute
    opt = ADMIN

    @get("/", summary="The audit log, newest first (admins only)")
    async def list_audit(
        self,
        db: DB,
        staff: Staff,
        entity_type: Annotated[str | None, QueryParameter(max_length=40)] = None,
        entity_id: FromQuery[int | None] = None,
        actor_id: FromQuery[int | None] = None,
        action: Annotated[str | None, QueryParameter(max_length=60)] = None,
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
        per_page: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> AuditPage:
        return await list_entries(
            db,
            staff,
            entity_type=entity_type,
            entity_id=entity_id,
            actor_id=actor_id,
            action=action,
            page=page,
            per_page=per_page,
        )


class LocksCleared(msgspec.Struct):
    cleared: int


class ManageLoginLocksController(Controller):
    path = "/login-locks"
    tags = ["staff: admin"]  # noqa: RUF012 - Litestar reads it as a class attribute
    opt = ADMIN

    @get(
        "/",
        summary="Login limits in force (admins only)",
        description=(
            "kind `address`: every login from that address refused; `username_address`: that "
            "username refused from that address; `slowed`: that username answers slowly from "
            "everywhere (never refused). `until` is a Unix time."
        ),
    )
    async def list_locks(self, staff: Staff, redis: Redis) -> list[LoginLock]:
        return await current_locks(redis)

    @delete(
        "/",
        status_code=HTTP_200_OK,
        summary="Clear login limits for a username and/or an address (admins only). Audited.",
    )
    async def clear_locks(
        self,
        db: DB,
        staff: Staff,
        redis: Redis,
        username: Annotated[str | None, QueryParameter(max_length=100)] = None,
        address: Annotated[str | None, QueryParameter(max_length=100)] = None,
    ) -> LocksCleared:
        if not username and not address:
            message = "ユーザー名かアドレスを指定してください。"
            raise InvalidInput(fields={"username": message, "address": message})
        cleared = await clear_lock(redis, username=username, address=address)
        await accounts.record_login_lock_cleared(
            db, staff, username=username, address=address, cleared=cleared
        )
        return LocksCleared(cleared=cleared)
