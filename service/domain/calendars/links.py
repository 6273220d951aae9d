"""Staff calendar links: each staff member makes, names, lists and revokes their own (one per
device, say); admins see and revoke anyone's. The token is shown once, when it is made."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import record
from service.domain.calendars.models import StaffFeedLink
from service.domain.calendars.repository import CalendarRepository, FeedLinkRow
from service.domain.calendars.tokens import link_token_hash, new_link_token, staff_feed_path
from service.domain.errors import InvalidInput, NotFound
from service.domain.events.enums import EVENT_KINDS, SECTORS
from service.domain.text_rules import has_forbidden_chars
from service.platform.settings import Settings

NAME_MAX = 60
LINKS_PER_USER = 20


@dataclass(frozen=True)
class NewLink:
    id: int
    name: str
    url: str


def _choice(value: str | None, allowed: dict[str, str], field: str, label: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if value not in allowed:
        raise InvalidInput(fields={field: f"{label}を一覧から選んでください。"})
    return value


async def create_link(
    db: AsyncSession,
    settings: Settings,
    actor: Actor,
    *,
    name: str,
    sector: str | None = None,
    kind: str | None = None,
    organization_id: str | None = None,
) -> NewLink:
    repo = CalendarRepository(db)
    fields: dict[str, str] = {}
    clean = unicodedata.normalize("NFC", name).strip()
    if not clean:
        fields["name"] = "名前を入力してください（例：仕事用スマートフォン）。"
    elif len(clean) > NAME_MAX or has_forbidden_chars(clean):
        # The one text rule, on one line: no control, invisible or bidirectional characters.
        fields["name"] = f"名前は改行や見えない文字を入れずに{NAME_MAX}文字以内で入力してください。"
    org_id: int | None = None
    org_text = (organization_id or "").strip()
    if org_text:
        if (
            not org_text.isdecimal()
            or len(org_text) > 18
            or not await repo.organization_exists(int(org_text))
        ):
            fields["organization_id"] = "団体を一覧から選んでください。"
        else:
            org_id = int(org_text)
    try:
        sector_value = _choice(sector, SECTORS, "sector", "分野")
        kind_value = _choice(kind, EVENT_KINDS, "kind", "種類")
    except InvalidInput as exc:
        fields.update(exc.fields)
    if fields:
        raise InvalidInput(fields=fields)
    if len(await repo.links(actor.id, include_revoked=False)) >= LINKS_PER_USER:
        message = f"使えるリンクは{LINKS_PER_USER}個までです。使わないものを取り消してください。"
        raise InvalidInput(fields={"name": message})
    token = new_link_token()
    link = await repo.add_link(
        StaffFeedLink(
            user_id=actor.id,
            name=clean,
            token_hash=link_token_hash(token),
            sector=sector_value,
            kind=kind_value,
            organization_id=org_id,
        )
    )
    await record(
        db,
        actor,
        "calendar_link.create",
        "staff_feed_link",
        link.id,
        after={
            "name": clean,
            "sector": sector_value,
            "kind": kind_value,
            "organization_id": org_id,
        },
    )
    return NewLink(link.id, clean, settings.base_url + staff_feed_path(token))


async def list_links(
    db: AsyncSession, actor: Actor, *, everyone: bool = False
) -> list[FeedLinkRow]:
    """The actor's own links, or (admins) everyone's, live ones first."""
    repo = CalendarRepository(db)
    if everyone and actor.is_admin:
        return await repo.links(None, include_revoked=True)
    return await repo.links(actor.id, include_revoked=True)


async def organizations(db: AsyncSession) -> list[tuple[int, str]]:
    """(id, name) of the organizations a link can be narrowed to (employers host no events)."""
    return await CalendarRepository(db).organizations()


async def revoke_link(db: AsyncSession, actor: Actor, link_id: int) -> None:
    """Revokes at once: the next fetch of the link is a 404. Admins may revoke anyone's."""
    repo = CalendarRepository(db)
    owner_id = None if actor.is_admin else actor.id
    if not await repo.revoke_link(
        link_id, owner_id=owner_id, revoked_by=actor.id, now=await repo.now()
    ):
        raise NotFound("取り消せるリンクが見つかりません。", code="calendar_link_not_found")
    await record(
        db,
        actor,
        "calendar_link.revoke",
        "staff_feed_link",
        link_id,
        after={"revoked": True},
    )
