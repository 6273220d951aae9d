"""LINE's account-link flow. The follower taps 「予約と連携」; the worker issues a link token and
sends our page's address; on the page the person proves who they are (a booking code and the
phone number it was made with, or a one-time code the desk read out on the phone, with the
phone number); we answer with a nonce and send them to LINE, whose accountLink event brings the
nonce back with the LINE user id. Only then are the two linked."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.access import require_booking
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import record
from service.domain.bookings.normalize import InvalidValue, normalize_code, normalize_phone
from service.domain.bookings.schemas import BookingView
from service.domain.bookings.service import find_booking
from service.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from service.domain.events.enums import EVENT_KINDS, SECTORS
from service.domain.line.repository import LineRepository, NewsPrefs
from service.domain.people import service as people
from service.platform.settings import Settings

ACCOUNT_LINK_URL = "https://access.line.me/dialog/bot/accountLink"
NONCE_LIFETIME = timedelta(minutes=10)
DESK_CODE_LIFETIME = timedelta(minutes=30)
DESK_CODE_DIGITS = 8
_LINK_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{1,100}$")
CODE_FIELD = "code"
PHONE_FIELD = "phone"


def user_hash(settings: Settings, line_user_id: str) -> str:
    """The id a follow is counted by: keyed, so the table alone names nobody."""
    key = settings.secret_key.encode()
    return hmac.new(key, f"line-user:{line_user_id}".encode(), hashlib.sha256).hexdigest()


def _code_hash(settings: Settings, digits: str) -> str:
    key = settings.secret_key.encode()
    return hmac.new(key, f"line-desk-code:{digits}".encode(), hashlib.sha256).hexdigest()


def valid_link_token(token: str | None) -> str:
    if not token or not _LINK_TOKEN.match(token):
        raise InvalidInput(
            "LINEからの案内が古いか、正しくありません。LINEでもう一度「予約と連携」を押してください。",
            code="line_link_token_invalid",
            fields={"linkToken": "LINEでもう一度「予約と連携」を押してください。"},
        )
    return token


def news_prefs(consent: bool, sectors: list[str], kinds: list[str]) -> NewsPrefs:
    fields: dict[str, str] = {}
    if any(s not in SECTORS for s in sectors):
        fields["sectors"] = "分野を一覧から選んでください。"
    if any(k not in EVENT_KINDS for k in kinds):
        fields["kinds"] = "種類を一覧から選んでください。"
    if fields:
        raise InvalidInput(fields=fields)
    return NewsPrefs(consent, tuple(dict.fromkeys(sectors)), tuple(dict.fromkeys(kinds)))


@dataclass(frozen=True, slots=True)
class LinkStarted:
    redirect_url: str
    name: str


def _digits(raw: str) -> str:
    return re.sub(r"[\s\-－ー‐　]", "", raw.strip()).translate(
        str.maketrans("０１２３４５６７８９", "0123456789")
    )


async def _person_by_desk_code(
    db: AsyncSession, settings: Settings, code: str, phone: str, now: datetime
) -> tuple[int, str]:
    repo = LineRepository(db)
    try:
        digits = normalize_phone(phone)
    except InvalidValue:
        digits = ""
    person_id = await repo.use_desk_code(_code_hash(settings, code), now)
    if person_id is None or not digits:
        raise _not_proved()
    try:
        person = await people.get(db, person_id)
    except DomainError:
        raise _not_proved() from None
    phones = [p for p in (person.phone, person.phone_alt) if p]
    if person.withdrawn or not any(hmac.compare_digest(p, digits) for p in phones):
        raise _not_proved()
    return person_id, person.name


def _not_proved() -> DomainError:
    return NotFound(
        "番号と電話番号の組み合わせが確認できませんでした。もう一度お確かめください。",
        code="line_link_not_proved",
        fields={CODE_FIELD: "予約番号または連携コードをお確かめください。"},
    )


async def start_link(
    db: AsyncSession,
    settings: Settings,
    *,
    link_token: str | None,
    code: str,
    phone: str,
    prefs: NewsPrefs,
) -> LinkStarted:
    """The person proved who they are: the nonce, and LINE's address to send them to."""
    token = valid_link_token(link_token)
    fields: dict[str, str] = {}
    if not code.strip():
        fields[CODE_FIELD] = "予約番号または連携コードを入力してください。"
    if not phone.strip():
        fields[PHONE_FIELD] = "電話番号を入力してください。"
    if fields:
        raise InvalidInput(fields=fields)
    now = clock.now()
    repo = LineRepository(db)
    digits = _digits(code)
    if len(digits) == DESK_CODE_DIGITS and digits.isdigit():
        person_id, name = await _person_by_desk_code(db, settings, digits, phone, now)
    else:
        if normalize_code(code) is None:
            raise _not_proved()
        try:
            view: BookingView = await find_booking(db, code, phone)
        except DomainError:
            raise _not_proved() from None
        found = await repo.person_of_booking(view.id)
        if found is None:
            raise _not_proved()
        person_id, name = found, view.name
    nonce = secrets.token_urlsafe(32)
    await repo.add_nonce(nonce, person_id, now + NONCE_LIFETIME, prefs)
    query = urlencode({"linkToken": token, "nonce": nonce})
    return LinkStarted(f"{ACCOUNT_LINK_URL}?{query}", name)


async def finish_link(db: AsyncSession, line_user_id: str, nonce: str) -> str | None:
    """The accountLink event: the nonce (once, unexpired) links the LINE user to its person.
    The person's name, or None when the nonce was not ours, used or too old."""
    repo = LineRepository(db)
    used = await repo.use_nonce(nonce, clock.now())
    if used is None:
        return None
    prefs = NewsPrefs(used.news_consent, tuple(used.news_sectors), tuple(used.news_kinds))
    try:
        person = await people.get(db, used.person_id)
    except DomainError:  # removed since the page
        return None
    if person.withdrawn:
        return None
    await repo.link(line_user_id, used.person_id, prefs)
    return person.name


@dataclass(frozen=True, slots=True)
class DeskCode:
    code: str
    expires_at: datetime


async def issue_desk_code(
    db: AsyncSession, settings: Settings, actor: Actor, booking_id: int
) -> DeskCode:
    """A one-time code for the person behind a booking, read out by the desk on the phone."""
    await require_booking(db, actor, booking_id)
    if not settings.line_enabled:
        raise Conflict("LINE が設定されていません。", code="line_off")
    repo = LineRepository(db)
    person_id = await repo.person_of_booking(booking_id)
    if person_id is None:
        raise NotFound("予約が見つかりません。", code="booking_not_found")
    code = "".join(secrets.choice("0123456789") for _ in range(DESK_CODE_DIGITS))
    expires_at = clock.now() + DESK_CODE_LIFETIME
    await repo.add_desk_code(_code_hash(settings, code), person_id, expires_at, actor.id)
    await record(db, actor, "line.desk_code", "booking", booking_id)
    return DeskCode(code, expires_at)


async def is_linked(db: AsyncSession, booking_id: int) -> bool:
    repo = LineRepository(db)
    person_id = await repo.person_of_booking(booking_id)
    return person_id is not None and await repo.link_of_person(person_id) is not None


async def unlink_booking_person(db: AsyncSession, booking: BookingView) -> bool:
    """From the look-up page (the booking found with its code and phone): the link goes."""
    repo = LineRepository(db)
    person_id = await repo.person_of_booking(booking.id)
    return person_id is not None and await repo.unlink_person(person_id)
