"""Telling participants their timetable: one outbox notice per person with unsent meetings (a
first timetable, or a change notice with what it was before), the mail's lines and the .ics."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.access import require_role
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import record
from service.domain.errors import Conflict
from service.domain.matching.ics import timetable_ics
from service.domain.matching.meetings import queue_notices
from service.domain.matching.models import Meeting
from service.domain.matching.repository import MatchingRepository
from service.domain.matching.schedule import meeting_views, participant_meetings
from service.domain.matching.schemas import MeetingView
from service.domain.matching.service import get_day
from service.platform.local_time import TOKYO


async def send_timetables(db: AsyncSession, actor: Actor, event_id: int) -> int:
    """Staff send the timetable: one notice per participant with meetings not yet sent (a
    first timetable, or a change notice when they had been sent one before). Returns how
    many notices were written."""
    require_role(actor, "cohost")
    repo = MatchingRepository(db)
    day = await repo.lock_day(event_id)
    if day is None:
        await get_day(repo, event_id)
        raise AssertionError("unreachable")
    if day.schedule_status != "ready":
        raise Conflict("面談表がまだできていません。", code="schedule_not_ready")
    meetings = await repo.meetings(event_id)
    views = {v.id: v for v in await meeting_views(repo, event_id, day.session_id, meetings)}
    by_person: dict[int, list[Meeting]] = defaultdict(list)
    for m in meetings:
        by_person[m.booking_id].append(m)
    rows: list[tuple[int, str, str, dict[str, Any]]] = []
    for booking_id, own in by_person.items():
        own.sort(key=lambda m: m.slot)
        lines = [meeting_line(views[m.id]) for m in own]
        # A person told before gets a change notice: what it was, and what it is now. All
        # meetings sent is not enough to skip: one of them may have been removed since.
        before = await repo.last_timetable_lines(booking_id)
        if all(m.sent_at is not None for m in own) and before == lines:
            continue
        stamp = ",".join(f"{m.organization_id}@{m.slot}:{m.table_id}" for m in own)
        payload: dict[str, Any] = {"event_id": event_id, "lines": lines}
        if before is not None and before != lines:
            payload["before"] = before
        rows.append(
            (
                booking_id,
                "matching_timetable",
                f"matching:{event_id}:{booking_id}:{stamp}",
                payload,
            )
        )
    # People told a timetable before who now have no meeting (removed, or a no-show moved
    # out) hear that too.
    for booking_id in await repo.told_bookings(event_id):
        if booking_id in by_person:
            continue
        before = await repo.last_timetable_lines(booking_id)
        if before:
            rows.append(
                (
                    booking_id,
                    "matching_timetable",
                    f"matching:{event_id}:{booking_id}:none:{len(before)}:{day.schedule_version}",
                    {"event_id": event_id, "lines": [], "before": before},
                )
            )
    ids = await repo.add_notices(rows)
    queue_notices(db, ids)
    await repo.mark_sent(event_id, clock.now())
    await record(
        db,
        actor,
        "matching.send",
        "event",
        event_id,
        after={"notices": len(ids)},
    )
    return len(ids)


def meeting_line(m: MeetingView) -> str:
    """One meeting as a line of a mail or a call: time, company, table or link."""
    when = f"{m.starts_at.astimezone(TOKYO):%H:%M}〜{m.ends_at.astimezone(TOKYO):%H:%M}"
    where = f"テーブル{m.table}" + (f"（{m.place}）" if m.place else "")
    return f"{when} {m.company} {where}"


async def participant_mail(
    db: AsyncSession, booking_id: int, base_url: str, before: list[str] | None = None
) -> tuple[dict[str, Any], bytes] | None:
    """What a participant's timetable mail shows (its lines) and its .ics; None without a
    timetable."""
    meetings = await participant_meetings(db, booking_id)
    if not meetings and not before:
        return None
    repo = MatchingRepository(db)
    session_id = await repo.booking_session(booking_id)
    day = await repo.day_of_session(session_id) if session_id is not None else None
    kind = await repo.event_kind(day.event_id) if day is not None else None
    title = kind[1] if kind else ""
    ics = timetable_ics(meetings, title=title, base_url=base_url, now=clock.now())
    return {"meetings": _lines(meetings), "before": before or []}, ics


async def participant_lines(db: AsyncSession, booking_id: int) -> list[dict[str, Any]]:
    """The timetable as the mail lists it (time, company, table or place, link): what the desk
    reads out to a participant without e-mail."""
    return _lines(await participant_meetings(db, booking_id))


def _lines(meetings: list[MeetingView]) -> list[dict[str, Any]]:
    return [
        {
            "when": f"{m.starts_at.astimezone(TOKYO):%H:%M}〜{m.ends_at.astimezone(TOKYO):%H:%M}",
            "company": m.company,
            "table": m.table,
            "place": m.place,
            "join_url": m.join_url or "",
        }
        for m in meetings
    ]
