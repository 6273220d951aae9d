"""Staff accounts: the rules for creating and changing users (only admins manage them)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.access import require_role
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import changed, record
from service.domain.accounts.models import StaffUser
from service.domain.accounts.passwords import hash_password_off_loop
from service.domain.accounts.repository import AccountRepository, OrganizationRef
from service.domain.accounts.schemas import ROLES
from service.domain.errors import Conflict, InvalidInput, NotFound
from service.domain.text_rules import forbidden_chars_message, has_forbidden_chars

MIN_PASSWORD_LENGTH = 10


async def create_staff_user(
    db: AsyncSession,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    organization_name: str | None = None,
) -> StaffUser:
    """A new staff user, for the command line and the demo (no actor, no audit entry)."""
    return await _create_staff_user(
        AccountRepository(db),
        username=username,
        password=password,
        role=role,
        display_name=display_name,
        organization_name=organization_name,
    )


def clean_display_name(raw: str, fields: dict[str, str]) -> str:
    """A person's name as typed (trimmed, nothing normalized: NFKC would turn 神 (U+FA19) or
    ① into other characters), by the one text rule, on one line."""
    value = raw.strip()
    if has_forbidden_chars(value):
        fields["display_name"] = forbidden_chars_message("表示名") + "（改行もできません）"
    elif len(value) > 100:
        fields["display_name"] = "表示名は100文字以内で入力してください。"
    return value


async def _create_staff_user(
    repo: AccountRepository,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str,
    organization_name: str | None,
) -> StaffUser:
    username = unicodedata.normalize("NFKC", username).strip()
    fields: dict[str, str] = {}
    if not username or len(username) > 100 or any(c.isspace() for c in username):
        fields["username"] = "ユーザー名は空白を含まない100文字以内で入力してください。"
    elif has_forbidden_chars(username):
        fields["username"] = forbidden_chars_message("ユーザー名")
    display_name = clean_display_name(display_name, fields)
    if role not in ROLES:
        fields["role"] = "権限は admin、organizer、cohost、company のいずれかです。"
    if len(password) < MIN_PASSWORD_LENGTH:
        fields["password"] = f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。"
    organization_id = None
    if role in ("cohost", "company"):
        org = await repo.organization_by_name(organization_name) if organization_name else None
        wanted = "employer" if role == "company" else None
        if org is None or (wanted is not None and org.kind != wanted):
            fields["organization"] = (
                "参加企業スタッフには所属する企業の名前を指定してください。"
                if role == "company"
                else "共催スタッフには所属する共催団体の名前を指定してください。"
            )
        else:
            organization_id = org.id
    if fields:
        raise InvalidInput(fields=fields)
    if await repo.user_by_username(username) is not None:
        raise Conflict(
            "そのユーザー名はすでに使われています。",
            code="username_taken",
            fields={"username": "そのユーザー名はすでに使われています。"},
        )
    return await repo.add_user(
        StaffUser(
            username=username,
            display_name=display_name or username,
            password_hash=await hash_password_off_loop(password),
            role=role,
            organization_id=organization_id,
        )
    )


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    display_name: str
    role: str
    organization_id: int | None
    organization: str | None
    is_active: bool
    last_login_at: datetime | None


def _view(user: StaffUser, organization: str | None) -> UserView:
    return UserView(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        organization_id=user.organization_id,
        organization=organization,
        is_active=user.is_active,
        last_login_at=user.last_login_at,
    )


def _audit_values(user: StaffUser) -> dict[str, object]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "organization_id": user.organization_id,
        "is_active": user.is_active,
    }


async def list_users(db: AsyncSession, actor: Actor) -> list[UserView]:
    require_role(actor, "admin")
    return [_view(u, org) for u, org in await AccountRepository(db).list_users()]


async def get_user(db: AsyncSession, actor: Actor, user_id: int) -> UserView:
    return await _get_user(AccountRepository(db), actor, user_id)


async def _get_user(repo: AccountRepository, actor: Actor, user_id: int) -> UserView:
    require_role(actor, "admin")
    for user, org in await repo.list_users():
        if user.id == user_id:
            return _view(user, org)
    raise NotFound("スタッフが見つかりません。", code="user_not_found")


async def cohost_organizations(db: AsyncSession) -> list[OrganizationRef]:
    """The co-host organizations a cohost user can belong to, by name (the user form's list)."""
    return await AccountRepository(db).organizations_of_kind("cohost")


async def add_user(
    db: AsyncSession,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    organization_name: str | None = None,
) -> UserView:
    require_role(actor, "admin")
    repo = AccountRepository(db)
    user = await _create_staff_user(
        repo,
        username=username,
        password=password,
        role=role,
        display_name=display_name,
        organization_name=organization_name,
    )
    await record(repo.db, actor, "user.create", "staff_user", user.id, after=_audit_values(user))
    return await _get_user(repo, actor, user.id)


async def update_user(
    db: AsyncSession,
    actor: Actor,
    user_id: int,
    *,
    display_name: str | None = None,
    role: str | None = None,
    organization_name: str | None = None,
    is_active: bool | None = None,
    password: str | None = None,
) -> UserView:
    """Change a user; disabling one or setting a new password ends all their logins."""
    require_role(actor, "admin")
    repo = AccountRepository(db)
    user = await repo.user_by_id(user_id)
    if user is None:
        raise NotFound("スタッフが見つかりません。", code="user_not_found")
    before = _audit_values(user)
    fields: dict[str, str] = {}
    if display_name is not None:
        display_name = clean_display_name(display_name, fields)
    new_role = role if role is not None else user.role
    if new_role not in ROLES:
        fields["role"] = "権限は admin、organizer、cohost、company のいずれかです。"
    organization_id = user.organization_id
    if organization_name:
        org = await repo.organization_by_name(organization_name.strip())
        wanted_kind = "employer" if new_role == "company" else "cohost"
        if org is None or org.kind != wanted_kind:
            fields["organization"] = (
                "所属する団体（共催団体または参加企業）の名前が見つかりません。"
            )
        else:
            organization_id = org.id
    if new_role == "company" and user.role != "company" and not organization_name:
        # A company login belongs to one employer, named when the role is given.
        fields["organization"] = "参加企業スタッフには所属する企業の名前を指定してください。"
    if new_role == "cohost" and organization_id is None and "organization" not in fields:
        fields["organization"] = "共催スタッフには所属する共催団体の名前を指定してください。"
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        fields["password"] = f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。"
    if user.id == actor.id and (is_active is False or (role is not None and role != "admin")):
        # An admin locking themselves out could leave nobody able to manage users.
        fields["role"] = "自分自身の権限を外したり、無効にしたりすることはできません。"
    if fields:
        raise InvalidInput(fields=fields)
    if display_name:
        user.display_name = display_name
    user.role = new_role
    user.organization_id = organization_id if new_role in ("cohost", "company") else None
    now = clock.now()
    if is_active is not None:
        user.is_active = is_active
    if password is not None:
        user.password_hash = await hash_password_off_loop(password)
    await repo.save()
    if is_active is False or password is not None or before["role"] != user.role:
        await repo.revoke_user_tokens(user.id, now)
    after = _audit_values(user)
    if password is not None:
        after["password"] = "changed"  # noqa: S105 - never the password or its hash
    old, new = changed(before, after)
    old.pop("password", None)
    await record(repo.db, actor, "user.update", "staff_user", user.id, before=old, after=new)
    return await _get_user(repo, actor, user.id)


async def record_login_lock_cleared(
    db: AsyncSession, actor: Actor, *, username: str | None, address: str | None, cleared: int
) -> None:
    """The audit entry for an admin clearing login limits (the limits live in Redis)."""
    await record(
        db,
        actor,
        "login_lock.clear",
        "login_lock",
        None,
        after={"username": username, "address": address, "cleared": cleared},
    )
