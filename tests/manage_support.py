"""Staff users, logins and a little world of events for the console and staff API tests."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from httpx import AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.logins import token_hash
from service.domain.accounts.models import StaffUser
from service.domain.accounts.repository import AccountRepository
from service.domain.accounts.service import create_staff_user
from service.domain.bookings import service as bookings
from service.domain.bookings.schemas import ValidBooking
from service.domain.events.models import Event, EventSession, Organization
from service.domain.events.repository import EventRepository
from service.edge.staff_auth import SESSION_COOKIE
from service.platform.local_time import TOKYO
from tests.factories import make_event, make_org, make_session

PASSWORD = "correct horse battery staple"


async def make_staff(
    db: AsyncSession,
    role: str,
    *,
    username: str | None = None,
    organization: Organization | None = None,
) -> StaffUser:
    user = await create_staff_user(
        db,
        username=username or f"{role}-{secrets.token_hex(3)}",
        password=PASSWORD,
        role=role,
        organization_name=organization.name if organization else None,
    )
    await db.commit()
    return user


async def issue_token(db: AsyncSession, user: StaffUser, kind: str = "api") -> str:
    """A live login without going through the (rate-limited, slow) password check."""
    token = secrets.token_urlsafe(32)
    await AccountRepository(db).add_token(
        user_id=user.id,
        token_hash=token_hash(token),
        kind=kind,
        expires_at=clock.now() + timedelta(hours=1),
    )
    await db.commit()
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def csrf_token(client: AsyncClient) -> str:
    """The CSRF cookie (set on any page GET), to send back as _csrf_token or X-CSRFToken."""
    if "csrftoken" not in client.cookies:
        await client.get("/manage/login")
    return str(client.cookies["csrftoken"])


async def web_login(client: AsyncClient, db: AsyncSession, user: StaffUser) -> None:
    """Puts a page session cookie for `user` into the client's jar."""
    client.cookies.set(SESSION_COOKIE, await issue_token(db, user, "web"), path="/manage")
    await csrf_token(client)


async def post_form(client: AsyncClient, path: str, data: dict[str, str] | None = None) -> Response:
    return await client.post(path, data={**(data or {}), "_csrf_token": await csrf_token(client)})


def person(n: int, **changes: str | None) -> ValidBooking:
    values: dict[str, str | None] = {
        "name": f"静岡 太郎{n}",
        "name_kana": f"シズオカ タロウ{'ア' * (n % 5)}",
        "phone": f"090{n:08d}",
        "email": None,
        "age_band": "65_69",
        "ward": "shimizu",
        "heard_from": "dm",
    }
    values.update(changes)
    return ValidBooking(**values)  # type: ignore[arg-type]


@dataclass
class World:
    """Two co-hosts, each with its own event; co-host A's event has a booked person."""

    org_a: Organization
    org_b: Organization
    event_a: Event
    session_a: EventSession
    event_b: Event
    session_b: EventSession
    booking_a: int
    booking_b: int
    admin: StaffUser
    organizer: StaffUser
    cohost_a: StaffUser
    cohost_b: StaffUser


SECRET_TITLE = "ひみつの面談会"
SECRET_NAME = "秘密 花子"
SECRET_PHONE = "09099998888"


async def make_world(db: AsyncSession) -> World:
    org_a = await make_org(db, "ハローワーク静岡（テスト）", kind="cohost")
    org_b = await make_org(db, "シルバー人材センター（テスト）", kind="cohost")
    event_a = await make_event(db, title=SECRET_TITLE)
    event_b = await make_event(db, title="シルバーの説明会")
    repo = EventRepository(db)
    await repo.set_organizations(event_a.id, cohost_ids=[org_a.id], employer_ids=[])
    await repo.set_organizations(event_b.id, cohost_ids=[org_b.id], employer_ids=[])
    session_a = await make_session(db, event=event_a, capacity=3, waitlist_limit=2)
    session_b = await make_session(db, event=event_b, capacity=3, waitlist_limit=2)
    a = await bookings.book(
        db, session_a.id, person(1, name=SECRET_NAME, name_kana="ヒミツ ハナコ", phone=SECRET_PHONE)
    )
    b = await bookings.book(db, session_b.id, person(2))
    await db.commit()
    return World(
        org_a=org_a,
        org_b=org_b,
        event_a=event_a,
        session_a=session_a,
        event_b=event_b,
        session_b=session_b,
        booking_a=a.id,
        booking_b=b.id,
        admin=await make_staff(db, "admin"),
        organizer=await make_staff(db, "organizer"),
        cohost_a=await make_staff(db, "cohost", organization=org_a),
        cohost_b=await make_staff(db, "cohost", organization=org_b),
    )


def later_today() -> timedelta:
    """An hour from now, or half the time left to Tokyo's midnight after 23:00 there: a session
    moved this far is still on Tokyo's today, where check-in is open (tests that moved it an
    hour ahead failed every evening from 23:00 to 24:00 with session_not_today)."""
    now = datetime.now(TOKYO)
    midnight = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=TOKYO)
    return min(timedelta(hours=1), (midnight - now) / 2)


async def move_session(db: AsyncSession, session_id: int, *, starts_in: timedelta) -> None:
    """Moves a session in time (to its day, or into the past) after bookings were taken."""
    await db.execute(
        text("""
        UPDATE sessions SET starts_at = now() + :d, ends_at = now() + :d + interval '2 hours',
               booking_opens_at = LEAST(booking_opens_at, now() + :d - interval '2 days'),
               booking_closes_at = now() + :d - interval '1 hour'
        WHERE id = :sid
    """),
        {"d": starts_in, "sid": session_id},
    )
    await db.commit()
