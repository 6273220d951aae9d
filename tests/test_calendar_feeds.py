"""Feeds calendar apps can trust: revisions, cancellations kept, revocable staff links,
conditional requests, the window, and real parsers (icalendar, vobject, khal)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import subprocess
import tempfile
from datetime import UTC, timedelta
from pathlib import Path

import pytest
import vobject
from httpx import AsyncClient
from icalendar import Calendar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.actor import Actor
from service.domain.accounts.models import StaffUser
from service.domain.bookings.service import book
from service.domain.calendars import links
from service.domain.calendars import service as calendars
from service.domain.calendars.tokens import legacy_calendar_token
from service.domain.errors import InvalidInput, NotFound
from service.platform.local_time import TOKYO
from service.platform.settings import Settings
from tests.factories import make_event, make_org, make_session, make_venue, person
from tests.mail_support import session_at, tokyo_day
from tests.manage_support import bearer, issue_token, make_staff


@pytest.fixture(autouse=True)
def feeds_look_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """No 5-second memo of the public feed's version: each request here sees the last edit."""
    monkeypatch.setattr(calendars, "PUBLIC_VERSION_TTL", 0.0)


def vevents(body: bytes) -> dict[str, object]:
    """VEVENTs by UID, after checking the file parses with icalendar and vobject."""
    calendar = Calendar.from_ical(body)
    parsed = list(vobject.readComponents(body.decode()))
    assert len(parsed) == 1
    assert len(parsed[0].vevent_list) == len(list(calendar.walk("VEVENT")))
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


def only(body: bytes) -> object:
    [event] = vevents(body).values()
    return event


async def staff_user(db: AsyncSession, username: str, role: str = "organizer") -> Actor:
    user = StaffUser(username=username, display_name=username, password_hash="-", role=role)
    db.add(user)
    await db.commit()
    return Actor.of(user)


async def new_link(db: AsyncSession, settings: Settings, user: Actor, **filters: str) -> str:
    made = await links.create_link(db, settings, user, name="スマホ", **filters)
    await db.commit()
    return made.url.removeprefix(settings.base_url)


async def test_sequence_rises_on_a_time_change_and_on_cancel_with_the_same_uid(
    db: AsyncSession, client: AsyncClient
) -> None:
    s = await session_at(db, tokyo_day(5) + timedelta(hours=10), title="移動する説明会")
    await db.commit()
    first = only((await client.get("/events.ics")).content)
    assert first["sequence"] == 0  # type: ignore[index]
    assert "LAST-MODIFIED" in first and "CREATED" in first  # type: ignore[operator]

    await db.execute(
        text(
            "UPDATE sessions SET starts_at = starts_at + interval '1 hour',"
            " ends_at = ends_at + interval '1 hour' WHERE id = :s"
        ),
        {"s": s.id},
    )
    # A change that calendars do not show leaves the revision alone.
    await db.execute(text("UPDATE sessions SET capacity = 20 WHERE id = :s"), {"s": s.id})
    await db.commit()
    moved = only((await client.get("/events.ics")).content)
    assert moved["sequence"] == 1  # type: ignore[index]
    assert str(moved["uid"]) == str(first["uid"])  # type: ignore[index]
    assert moved.decoded("dtstart") == tokyo_day(5) + timedelta(hours=11)  # type: ignore[attr-defined]
    assert moved.decoded("last-modified") >= first.decoded("last-modified")  # type: ignore[attr-defined]

    await db.execute(
        text("UPDATE sessions SET status = 'cancelled', cancelled_at = now() WHERE id = :s"),
        {"s": s.id},
    )
    await db.commit()
    cancelled = only((await client.get("/events.ics")).content)
    assert cancelled["sequence"] == 2  # type: ignore[index]
    assert str(cancelled["status"]) == "CANCELLED"  # type: ignore[index]
    assert str(cancelled["uid"]) == str(first["uid"])  # type: ignore[index]


async def test_a_cancelled_events_sessions_stay_cancelled_in_the_public_feed(
    db: AsyncSession, client: AsyncClient
) -> None:
    s = await session_at(db, tokyo_day(3) + timedelta(hours=10), title="中止になるセミナー")
    draft = await make_event(db, title="公開しなかった下書き", status="draft")
    await make_session(db, event=draft)
    await db.commit()
    await db.execute(
        text("UPDATE events SET status = 'cancelled' WHERE id = :e"), {"e": s.event_id}
    )
    await db.execute(text("UPDATE events SET status = 'cancelled' WHERE id = :e"), {"e": draft.id})
    await db.commit()
    event = only((await client.get("/events.ics")).content)
    assert str(event["status"]) == "CANCELLED"  # type: ignore[index]
    assert str(event["summary"]) == "【中止】中止になるセミナー"  # type: ignore[index]
    assert event["sequence"] == 1  # type: ignore[index]

    # Thirty days after its start a cancelled session leaves; an ended one stays 60 days.
    held = await session_at(db, tokyo_day(3) + timedelta(hours=10), title="開催済みの研修")
    await db.commit()
    for sid in (s.id, held.id):
        await db.execute(
            text(
                "UPDATE sessions SET starts_at = now() - interval '40 days',"
                " ends_at = now() - interval '40 days' + interval '2 hours' WHERE id = :s"
            ),
            {"s": sid},
        )
    await db.commit()
    summaries = {
        str(e["summary"]) for e in vevents((await client.get("/events.ics")).content).values()
    }  # type: ignore[index]
    assert summaries == {"開催済みの研修"}


async def test_revoked_links_give_404_at_once_and_reenabling_brings_none_back(
    db: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    await session_at(db, tokyo_day(2) + timedelta(hours=10))
    owner = await staff_user(db, "aoki")
    admin = await staff_user(db, "root", "admin")
    phone = await new_link(db, settings, owner)
    tablet = await new_link(db, settings, owner)
    assert (await client.get(phone)).status_code == 200
    assert (await client.get(tablet)).status_code == 200

    mine = await links.list_links(db, owner)
    assert len(mine) == 2 and all(link.last_fetched_at is not None for link in mine)
    assert all(link.last_fetched_from for link in mine)
    phone_id = next(link.id for link in mine if link.id == max(x.id for x in mine) - 1)
    await links.revoke_link(db, owner, phone_id)
    await db.commit()
    assert (await client.get(phone)).status_code == 404
    assert (await client.get(tablet)).status_code == 200

    # An admin revokes anyone's; someone else's link cannot be revoked by a non-admin.
    other = await staff_user(db, "ito")
    with pytest.raises(NotFound):
        await links.revoke_link(db, other, max(x.id for x in mine))
    await db.rollback()
    await links.revoke_link(db, admin, max(x.id for x in mine))
    await db.commit()
    assert (await client.get(tablet)).status_code == 404

    # Disabling, then enabling again: the old link stays dead.
    again = await new_link(db, settings, owner)
    assert (await client.get(again)).status_code == 200
    for active in ("false", "true"):
        await db.execute(
            text(f"UPDATE staff_users SET is_active = {active} WHERE id = :u"), {"u": owner.id}
        )
        await db.commit()
        assert (await client.get(again)).status_code == 404
    # A role change too.
    latest = await new_link(db, settings, owner)
    await db.execute(text("UPDATE staff_users SET role = 'admin' WHERE id = :u"), {"u": owner.id})
    await db.commit()
    assert (await client.get(latest)).status_code == 404


async def test_staff_links_filter_and_link_to_the_roster(
    db: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    care = await session_at(db, tokyo_day(2) + timedelta(hours=10), title="介護の説明会")
    other_event = await make_event(db, title="清掃の説明会", kind="job_fair", sector="cleaning")
    await make_session(db, event=other_event)
    user = await staff_user(db, "aoki")
    path = await new_link(db, settings, user, sector="care")
    event = only((await client.get(path)).content)
    assert str(event["summary"]).startswith("介護の説明会")  # type: ignore[index]
    assert str(event["url"]) == f"{settings.base_url}/manage/sessions/{care.id}/"  # type: ignore[index]
    with pytest.raises(InvalidInput) as refused:
        await links.create_link(db, settings, user, name="x", sector="nope")
    assert set(refused.value.fields) == {"sector"}


async def test_304_while_unchanged_and_200_with_a_new_etag_after_a_change(
    db: AsyncSession, client: AsyncClient
) -> None:
    s = await session_at(db, tokyo_day(4) + timedelta(hours=10))
    await db.commit()
    first = await client.get("/events.ics", headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200
    assert "set-cookie" not in first.headers
    assert first.headers["content-encoding"] == "gzip"
    etag, modified = first.headers["etag"], first.headers["last-modified"]

    same = await client.get("/events.ics", headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    assert same.headers["etag"] == etag and "set-cookie" not in same.headers
    since = await client.get("/events.ics", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    head = await client.head("/events.ics")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == etag

    await db.execute(
        text(
            "UPDATE sessions SET starts_at = starts_at + interval '1 day',"
            " ends_at = ends_at + interval '1 day' WHERE id = :s"
        ),
        {"s": s.id},
    )
    await db.commit()
    changed = await client.get("/events.ics", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    # httpx undid the gzip: the bodies compare as calendars.
    assert first.content.startswith(b"BEGIN:VCALENDAR") and first.content != changed.content


async def test_the_window_is_whole_and_its_limits_are_named(
    db: AsyncSession, client: AsyncClient
) -> None:
    event = await make_event(db, title="連続講座")
    venue = await make_venue(db)
    await db.commit()
    # 3,000 sessions, one every 3 hours from tomorrow: about a year, inside the window.
    await db.execute(
        text(
            "INSERT INTO sessions (event_id, venue_id, starts_at, ends_at, capacity,"
            " booking_opens_at, booking_closes_at)"
            " SELECT :e, :v, now() + (n * interval '3 hours') + interval '1 day',"
            " now() + (n * interval '3 hours') + interval '1 day 1 hour', 10,"
            " now() - interval '1 day', now() + (n * interval '3 hours')"
            " FROM generate_series(1, 3000) AS n"
        ),
        {"e": event.id, "v": venue.id},
    )
    await db.commit()
    body = (await client.get("/events.ics")).content
    ids = {int(uid.split("-")[1]) for uid in vevents(body)}
    expected = set(
        (await db.execute(text("SELECT id FROM sessions WHERE event_id = :e"), {"e": event.id}))
        .scalars()
        .all()
    )
    assert len(expected) == 3000 and ids == expected

    short = await client.get("/events.ics", params={"months_ahead": "1"})
    assert 0 < len(vevents(short.content)) < 3000
    for params in ({"months_ahead": "99"}, {"past_days": "-1"}, {"past_days": "x"}):
        r = await client.get("/events.ics", params=params)
        assert r.status_code == 422
        assert next(iter(params)) in r.text or "整数" in r.text


async def test_uids_and_booking_links_survive_a_secret_key_rotation(
    db: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    s = await session_at(db, tokyo_day(3) + timedelta(hours=10))
    view = await book(db, s.id, person(1))
    await db.commit()
    path = await calendars.booking_calendar_path(db, view.code)
    assert path is not None
    body = (await client.get(path)).content
    legacy = f"/bookings/{view.code}/calendar.ics?t={legacy_calendar_token(settings, view.code)}"
    assert (await client.get(legacy)).status_code == 200

    rotated = dataclasses.replace(settings, secret_key="another-secret-key-" * 3)
    from service.domain.calendars.repository import CalendarRepository

    booking = await CalendarRepository(db).booking(view.code)
    assert booking is not None
    installation = await CalendarRepository(db).installation_id()
    now = tokyo_day(0)
    a = only(calendars.booking_ics(settings, booking, now, installation))
    b = only(calendars.booking_ics(rotated, booking, now, installation))
    assert str(a["uid"]) == str(b["uid"]) == str(only(body)["uid"])  # type: ignore[index]
    assert str(installation) in str(a["uid"])  # type: ignore[index]
    assert calendars.calendar_token_is_valid(rotated, booking, booking.calendar_token)
    assert not calendars.calendar_token_is_valid(
        rotated, booking, legacy_calendar_token(settings, view.code)
    )


async def test_attendee_file_has_alarms_and_geo(db: AsyncSession, client: AsyncClient) -> None:
    starts = tokyo_day(5) + timedelta(hours=14)
    s = await session_at(db, starts)
    await db.execute(
        text("UPDATE venues SET latitude = 34.9756, longitude = 138.3828 WHERE id = :v"),
        {"v": s.venue_id},
    )
    view = await book(db, s.id, person(1))
    await db.commit()
    path = await calendars.booking_calendar_path(db, view.code)
    assert path is not None
    event = only((await client.get(path)).content)
    triggers = sorted(a.decoded("trigger") for a in event.walk("VALARM"))  # type: ignore[attr-defined]
    assert triggers == [
        (starts - timedelta(days=1)).replace(hour=9).astimezone(UTC),
        (starts - timedelta(hours=2)).astimezone(UTC),
    ]
    geo = event["geo"]  # type: ignore[index]
    assert (round(geo.latitude, 4), round(geo.longitude, 4)) == (34.9756, 138.3828)

    await db.execute(
        text("UPDATE events SET alarm_day_before = false, alarm_minutes_before = 30 WHERE id = :e"),
        {"e": s.event_id},
    )
    await db.commit()
    event = only((await client.get(path)).content)
    assert [a.decoded("trigger") for a in event.walk("VALARM")] == [  # type: ignore[attr-defined]
        (starts - timedelta(minutes=30)).astimezone(UTC)
    ]


@pytest.mark.skipif(shutil.which("khal") is None, reason="khal is not installed")
async def test_khal_imports_the_feed_at_tokyo_local_times(
    db: AsyncSession, client: AsyncClient
) -> None:
    starts = tokyo_day(6) + timedelta(hours=10, minutes=30)
    await session_at(db, starts, title="khalで見る説明会")
    await db.commit()
    body = (await client.get("/events.ics")).content
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "cal").mkdir()
        config = root / "config"
        config.write_text(
            "[calendars]\n[[main]]\npath = " + str(root / "cal") + "\ntype = calendar\n"
            "[locale]\nlocal_timezone = Asia/Tokyo\ndefault_timezone = Asia/Tokyo\n"
            "timeformat = %H:%M\ndateformat = %Y-%m-%d\nlongdateformat = %Y-%m-%d\n"
            "datetimeformat = %Y-%m-%d %H:%M\nlongdatetimeformat = %Y-%m-%d %H:%M\n",
            encoding="utf-8",
        )
        feed = root / "feed.ics"
        feed.write_bytes(body)
        env = {**os.environ, "TZ": "UTC", "XDG_DATA_HOME": str(root), "HOME": str(root)}
        khal = ["khal", "-c", str(config)]
        imported = await asyncio.to_thread(
            subprocess.run,
            [*khal, "import", "--batch", "-a", "main", str(feed)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert imported.returncode == 0, imported.stderr
        day = starts.astimezone(TOKYO).strftime("%Y-%m-%d")
        listed = await asyncio.to_thread(
            subprocess.run,
            [*khal, "list", "--format", "{start} {end} {title}", day, "1d"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert listed.returncode == 0, listed.stderr
        assert f"{day} 10:30 {day} 15:30 khalで見る説明会" in listed.stdout, listed.stdout


async def test_staff_set_alarms_per_event_and_venue_coordinates(
    db: AsyncSession, client: AsyncClient
) -> None:
    await make_org(db, "NEXTワークしずおか", kind="organizer")
    await db.commit()
    headers = bearer(await issue_token(db, await make_staff(db, "organizer")))
    api = "/api/v1/manage"
    for coordinates, field in (
        ({"latitude": 34.97}, "longitude"),
        ({"latitude": 91, "longitude": 138.0}, "latitude"),
        ({"latitude": 34.97, "longitude": "東"}, "longitude"),
    ):
        bad = await client.post(
            f"{api}/venues", json={"name": "x", "ward": "aoi", **coordinates}, headers=headers
        )
        assert bad.status_code == 422 and field in bad.json()["fields"], bad.text
    venue = await client.post(
        f"{api}/venues",
        json={"name": "パルシェ", "ward": "aoi", "latitude": 34.9716, "longitude": 138.3889},
        headers=headers,
    )
    assert venue.status_code == 201, venue.text
    body = {"title": "通知の確認", "kind": "seminar", "sector": "general"}
    bad = await client.post(
        f"{api}/events", json={**body, "alarm_minutes_before": 1}, headers=headers
    )
    assert bad.status_code == 422 and "alarm_minutes_before" in bad.json()["fields"]
    event = await client.post(
        f"{api}/events",
        json={**body, "alarm_day_before": False, "alarm_minutes_before": 60},
        headers=headers,
    )
    assert event.status_code == 201, event.text
    event_id = event.json()["id"]
    starts = tokyo_day(7) + timedelta(hours=13)
    session = await client.post(
        f"{api}/events/{event_id}/sessions",
        json={
            "venue_id": venue.json()["id"],
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=2)).isoformat(),
            "capacity": 5,
        },
        headers=headers,
    )
    assert session.status_code == 201, session.text
    assert (await client.post(f"{api}/events/{event_id}/publish", headers=headers)).is_success
    view = await book(db, session.json()["id"], person(3))
    await db.commit()
    path = await calendars.booking_calendar_path(db, view.code)
    assert path is not None
    event_ics = only((await client.get(path)).content)
    assert [a.decoded("trigger") for a in event_ics.walk("VALARM")] == [  # type: ignore[attr-defined]
        (starts - timedelta(hours=1)).astimezone(UTC)
    ]
    assert round(event_ics["geo"].latitude, 4) == 34.9716  # type: ignore[index]


async def test_staff_feed_shows_todays_open_calls_and_changes_when_one_is_handled(
    db: AsyncSession, client: AsyncClient, settings: Settings
) -> None:
    s = await session_at(db, tokyo_day(2) + timedelta(hours=10))
    booking = await book(db, s.id, person(4))
    await db.commit()
    user = await staff_user(db, "ueda")
    path = await new_link(db, settings, user)
    quiet = await client.get(path)
    assert "電話連絡" not in quiet.text
    for _ in range(2):
        await db.execute(
            text(
                "INSERT INTO call_tasks (booking_id, kind, reason, script, due_at)"
                " VALUES (:b, 'promoted', 'no_email', 'お電話ください', now())"
            ),
            {"b": booking.id},
        )
    await db.commit()
    busy = await client.get(path, headers={"If-None-Match": quiet.headers["etag"]})
    assert busy.status_code == 200
    notes = [e for e in vevents(busy.content).values() if "電話連絡" in str(e["summary"])]  # type: ignore[index]
    assert len(notes) == 1
    [note] = notes
    assert str(note["summary"]) == "電話連絡 2件（要連絡）"  # type: ignore[index]
    assert str(note["url"]) == f"{settings.base_url}/manage/calls"  # type: ignore[index]
    assert note["dtstart"].dt == tokyo_day(0).date()  # type: ignore[index]
    await db.execute(
        text(
            "UPDATE call_tasks SET state = 'done', closed_at = now()"
            " WHERE id = (SELECT min(id) FROM call_tasks)"
        )
    )
    await db.commit()
    fewer = await client.get(path, headers={"If-None-Match": busy.headers["etag"]})
    assert fewer.status_code == 200
    assert "電話連絡 1件" in fewer.text.replace("\r\n ", "")
