"""Walks the app's whole route table: every staff route refuses anonymous callers and staff
outside its scope. A new staff route without a guard, or one that leaks another co-host's
event, fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from httpx import AsyncClient, Response
from litestar import Litestar
from litestar.routes import HTTPRoute
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.edge.staff_auth import SESSION_COOKIE, staff_guard
from tests.factories import make_org
from tests.manage_support import (
    SECRET_NAME,
    SECRET_PHONE,
    SECRET_TITLE,
    World,
    bearer,
    csrf_token,
    issue_token,
    make_staff,
    make_world,
)

# Everything under these paths is for staff.
STAFF_PREFIXES = ("/manage", "/api/v1/manage", "/api/v1/auth")
# ...except the doors in: the login page and the token endpoint.
OPEN_DOORS = {("GET", "/manage/login"), ("POST", "/manage/login"), ("POST", "/api/v1/auth/token")}
# Paths elsewhere that look like staff routes would escape this test; refuse them.
STAFF_LOOKING = re.compile(r"/(manage|admin|staff|roster|audit|users?)(/|$|\.)")
ALLOWED_ELSEWHERE = {"/calendar/staff/{feed_file:str}"}  # token-in-URL staff iCal feeds
SKIPPED_METHODS = {"OPTIONS", "HEAD"}
PARAM = re.compile(r"\{(\w+):\w+\}")


def staff_routes(app: Litestar) -> Iterator[tuple[str, str, HTTPRoute]]:
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith(STAFF_PREFIXES):
            continue
        for method in sorted(route.methods - SKIPPED_METHODS):
            if (method, route.path) not in OPEN_DOORS:
                yield method, route.path, route


def fill(path: str, ids: dict[str, int]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        assert name in ids, f"{path}: teach test_route_guards about the path parameter {name!r}"
        return str(ids[name])

    return PARAM.sub(one, path)


async def call(
    client: AsyncClient, method: str, path: str, *, token: str | None = None
) -> Response:
    """A request as a browser or API client would send it, with a valid CSRF token, so that
    only the staff guard can refuse it."""
    headers: dict[str, str] = {}
    if path.startswith("/api/"):
        if token:
            headers.update(bearer(token))
        return await client.request(method, path, headers=headers, json={})
    client.cookies.delete(SESSION_COOKIE)
    if token:
        client.cookies.set(SESSION_COOKIE, token, path="/manage")
    if method != "GET":
        headers["x-csrftoken"] = await csrf_token(client)
    return await client.request(method, path, headers=headers)


def route_ids(world: World) -> dict[str, int]:
    """Path parameters pointing at co-host A's event, its session and its booking."""
    return {
        "event_id": world.event_a.id,
        "session_id": world.session_a.id,
        "booking_id": world.booking_a,
        "user_id": world.cohost_a.id,
        # Organizer- and admin-only: refused before the id is looked at.
        "record_id": 1,
        "definition_id": 1,
        "person_id": 1,
        "campaign_id": 1,
        # No calendar link exists in the world: revoking one is a 404 for everybody (the
        # owner and admin rules are tested in test_calendar_feeds.py).
        "link_id": 1,
        "position": 1,  # a companion of the booking
        "notification_id": 1,  # the first notice written: that of A's booking
        # Matching days: no day exists in the world, so these are refused or not found.
        "organization_id": world.org_a.id,
        "meeting_id": 1,
    }


def test_the_walk_sees_the_staff_routes(app: Litestar) -> None:
    found = {(m, p) for m, p, _ in staff_routes(app)}
    # A guard test that saw nothing would pass for the wrong reason.
    assert len(found) > 40
    for expected in [
        ("GET", "/manage"),
        ("POST", "/manage/bookings/{booking_id:int}/check-in"),
        ("GET", "/manage/sessions/{session_id:int}/roster.csv"),
        ("POST", "/api/v1/manage/sessions/{session_id:int}/phone-bookings"),
        ("GET", "/api/v1/manage/audit"),
        ("DELETE", "/api/v1/auth/token"),
    ]:
        assert expected in found


def test_every_staff_route_has_the_staff_guard(app: Litestar) -> None:
    missing = [
        f"{method} {path}"
        for method, path, route in staff_routes(app)
        if staff_guard not in route.route_handler_map[method][0].resolve_guards()
    ]
    assert not missing, "staff routes without staff_guard:\n" + "\n".join(missing)


def test_no_staff_looking_route_outside_the_staff_prefixes(app: Litestar) -> None:
    stray = [
        route.path
        for route in app.routes
        if not route.path.startswith(STAFF_PREFIXES)
        and route.path not in ALLOWED_ELSEWHERE
        and STAFF_LOOKING.search(route.path)
    ]
    assert not stray, f"put staff routes under {STAFF_PREFIXES}: {stray}"


async def test_every_staff_route_refuses_anonymous(
    app: Litestar, client: AsyncClient, db: AsyncSession
) -> None:
    world = await make_world(db)
    ids = route_ids(world)
    wrong: list[str] = []
    for method, path, _ in staff_routes(app):
        url = fill(path, ids)
        r = await call(client, method, url)
        if url.startswith("/api/"):
            ok = r.status_code == 401 and r.json().get("error") == "authentication_required"
        else:
            ok = r.status_code == 303 and r.headers.get("location", "").startswith("/manage/login")
        if not ok:
            wrong.append(f"{method} {url} -> {r.status_code}")
    assert not wrong, "anonymous callers got through:\n" + "\n".join(wrong)


async def test_every_staff_route_refuses_a_forged_or_stale_token(
    app: Litestar, client: AsyncClient, db: AsyncSession
) -> None:
    world = await make_world(db)
    ids = route_ids(world)
    # Real logins of an organizer (who may do everything), expired a minute ago.
    stale = {kind: await issue_token(db, world.organizer, kind) for kind in ("api", "web")}
    await db.execute(text("UPDATE staff_tokens SET expires_at = now() - interval '1 minute'"))
    await db.commit()
    wrong = []
    for method, path, _ in staff_routes(app):
        url = fill(path, ids)
        kind = "api" if path.startswith("/api") else "web"
        for token in ("forged-" + "x" * 40, stale[kind]):
            r = await call(client, method, url, token=token)
            if r.status_code not in (401, 303):
                wrong.append(f"{method} {url} -> {r.status_code}")
    assert not wrong, "\n".join(wrong)


def _leaks(r: Response) -> bool:
    body = r.text
    return any(secret in body for secret in (SECRET_TITLE, SECRET_NAME, SECRET_PHONE))


@pytest.mark.parametrize("kind", ["api", "web"])
async def test_other_cohost_is_refused_everything_of_an_event_it_does_not_cohost(
    app: Litestar, client: AsyncClient, db: AsyncSession, kind: str
) -> None:
    """Co-host B's staff, pointed at co-host A's event, session and booking: 403 or 404 for
    every route naming them; and nothing of A's event in any answer it does get."""
    world = await make_world(db)
    ids = route_ids(world)
    wrong: list[str] = []
    for method, path, route in staff_routes(app):
        if path.startswith("/api/") != (kind == "api"):
            continue
        url = fill(path, ids)
        token = await issue_token(db, world.cohost_b, kind)  # fresh: some routes log out
        r = await call(client, method, url, token=token)
        role = route.route_handler_map[method][0].opt.get("staff_role", "cohost")
        scoped = any(
            f"{{{name}:" in path for name in ("event_id", "session_id", "booking_id", "meeting_id")
        )
        above = role not in ("cohost", "company")
        if scoped or above:
            # Organizer and admin routes refuse co-host staff outright (403); the rest do not
            # admit that the object exists (404).
            expected = 403 if above else 404
            if r.status_code != expected:
                wrong.append(f"{method} {url} -> {r.status_code} (expected {expected})")
        elif r.status_code >= 500 or _leaks(r):
            wrong.append(f"{method} {url} -> {r.status_code}, leaks={_leaks(r)}")
    assert not wrong, "co-host B reached co-host A's event:\n" + "\n".join(wrong)


async def test_admin_only_routes_refuse_organizers(
    app: Litestar, client: AsyncClient, db: AsyncSession
) -> None:
    world = await make_world(db)
    ids = route_ids(world)
    admin_only = [
        (m, p)
        for m, p, route in staff_routes(app)
        if route.route_handler_map[m][0].opt.get("staff_role") == "admin"
    ]
    assert {("GET", "/manage/audit"), ("POST", "/api/v1/manage/users")} <= set(admin_only)
    for method, path in admin_only:
        token = await issue_token(db, world.organizer, "api" if path.startswith("/api") else "web")
        r = await call(client, method, fill(path, ids), token=token)
        assert r.status_code == 403, f"{method} {path} -> {r.status_code}"


async def test_organizer_only_routes_refuse_cohost_staff_even_in_scope(
    app: Litestar, client: AsyncClient, db: AsyncSession
) -> None:
    world = await make_world(db)
    ids = route_ids(world)
    organizer_only = [
        (m, p)
        for m, p, route in staff_routes(app)
        if route.route_handler_map[m][0].opt.get("staff_role") in ("organizer", "admin")
    ]
    assert ("POST", "/api/v1/manage/events/{event_id:int}/publish") in organizer_only
    for method, path in organizer_only:
        token = await issue_token(db, world.cohost_a, "api" if path.startswith("/api") else "web")
        r = await call(client, method, fill(path, ids), token=token)
        assert r.status_code == 403, f"{method} {path} -> {r.status_code}"


async def test_cohost_sees_its_own_event(client: AsyncClient, db: AsyncSession) -> None:
    """The positive control: the refusals above are about scope, not a broken login."""
    world = await make_world(db)
    token = await issue_token(db, world.cohost_a)
    r = await client.get(
        f"/api/v1/manage/sessions/{world.session_a.id}/roster", headers=bearer(token)
    )
    assert r.status_code == 200
    assert SECRET_NAME in r.text
    events: list[dict[str, Any]] = (
        await client.get("/api/v1/manage/events", headers=bearer(token))
    ).json()
    assert [e["title"] for e in events] == [SECRET_TITLE]
    other = await issue_token(db, world.cohost_b)
    events = (await client.get("/api/v1/manage/events", headers=bearer(other))).json()
    assert [e["title"] for e in events] == ["シルバーの説明会"]


def test_the_guard_check_would_catch_an_unguarded_route() -> None:
    """The static check above, against an app with a staff route that forgot its guard."""
    from litestar import Router, get

    @get("/forgotten", sync_to_thread=False)
    def forgotten() -> str:
        return "personal data"

    @get("/guarded", sync_to_thread=False, guards=[staff_guard])
    def guarded() -> str:
        return "fine"

    app = Litestar(route_handlers=[Router(path="/manage", route_handlers=[forgotten, guarded])])
    unguarded = [
        path
        for method, path, route in staff_routes(app)
        if staff_guard not in route.route_handler_map[method][0].resolve_guards()
    ]
    assert unguarded == ["/manage/forgotten"]


@pytest.mark.parametrize("kind", ["api", "web"])
async def test_a_company_login_is_refused_everything_but_its_own_matching_days(
    app: Litestar, client: AsyncClient, db: AsyncSession, kind: str
) -> None:
    """Company staff (role company) of an employer taking part in no matching day: every staff
    route is 403 (below co-host) or 404 (a matching route naming a day, company or meeting that
    is not theirs), and no answer carries anything of co-host A's event."""
    world = await make_world(db)
    ids = route_ids(world)
    employer = await make_org(db, "株式会社よそ（テスト）", kind="employer")
    await db.commit()
    company = await make_staff(db, "company", organization=employer)
    wrong: list[str] = []
    for method, path, route in staff_routes(app):
        if path.startswith("/api/") != (kind == "api"):
            continue
        url = fill(path, ids)
        token = await issue_token(db, company, kind)
        r = await call(client, method, url, token=token)
        role = route.route_handler_map[method][0].opt.get("staff_role", "cohost")
        scoped = any(f"{{{name}:" in path for name in ("event_id", "organization_id", "meeting_id"))
        if role != "company":
            ok = r.status_code == 403
        elif scoped:
            ok = r.status_code == 404
        else:  # its own list of days (empty here), and logging out
            ok = r.status_code < 400
        if not ok or _leaks(r):
            wrong.append(f"{method} {url} -> {r.status_code}, leaks={_leaks(r)}")
    assert not wrong, "a company login reached what is not its own:\n" + "\n".join(wrong)
