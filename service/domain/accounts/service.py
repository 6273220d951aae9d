"""Staff accounts: the rules for creating users."""

from __future__ import annotations

import unicodedata

from service.domain.accounts.models import ROLES, StaffUser
from service.domain.accounts.passwords import hash_password
from service.domain.accounts.repository import AccountRepository
from service.domain.errors import Conflict, InvalidInput

MIN_PASSWORD_LENGTH = 10


async def create_staff_user(
    repo: AccountRepository,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    organization_name: str | None = None,
) -> StaffUser:
    username = unicodedata.normalize("NFKC", username).strip()
    fields: dict[str, str] = {}
    if not username or len(username) > 100 or any(c.isspace() for c in username):
        fields["username"] = "ユーザー名は空白を含まない100文字以内で入力してください。"
    if role not in ROLES:
        fields["role"] = "権限は admin、organizer、cohost のいずれかです。"
    if len(password) < MIN_PASSWORD_LENGTH:
        fields["password"] = f"パスワードは{MIN_PASSWORD_LENGTH}文字以上にしてください。"
    organization_id = None
    if role == "cohost":
        org = await repo.organization_by_name(organization_name) if organization_name else None
        if org is None:
            fields["organization"] = "共催スタッフには所属する共催団体の名前を指定してください。"
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
            password_hash=hash_password(password),
            role=role,
            organization_id=organization_id,
        )
    )
