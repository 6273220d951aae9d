"""The call list (電話連絡リスト): every notice that could not go by mail becomes a call task
with the person, the phone number, what to tell them and when.

A notice turns into a task where the mail would have gone: the worker finds no (usable) e-mail
address, or the mail fails for good. Only notices that change what the person should do are
phoned: a seat given from the waiting list, a changed or cancelled session, and the day-before
reminder when the event asks for it; any mail that fails becomes a task, as the person expected
to hear from us."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.access import require_booking
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import record
from service.domain.bookings.service import cancel_booking_by_id
from service.domain.errors import Conflict, InvalidInput, NotFound
from service.domain.notifications.call_repository import CallRepository
from service.domain.notifications.call_schemas import (
    CALL_OUTCOMES,
    CALL_REASON_LABELS,
    CALL_STATE_LABELS,
    CallCounts,
    CallTaskView,
)
from service.domain.notifications.call_scripts import CALL_KINDS, call_script, changes_of
from service.domain.notifications.models import CALL_STATES
from service.domain.notifications.repository import MailFacts
from service.domain.rosters.csv_export import BOM, safe_cell
from service.domain.rosters.schemas import RosterEntry
from service.domain.rosters.service import entry_of
from service.platform.local_time import TOKYO

PHONED_KINDS = (
    "booking_promoted",
    "session_changed",
    "session_cancelled",
    "booking_changed",
    "matching_timetable",
    "matching_matched",
)
# 不在: try again a little later the same day (the desk is open 9:00-17:00).
TRY_AGAIN_AFTER = timedelta(hours=2)


def needs_call(kind: str, facts: MailFacts, payload: Mapping[str, Any] | None = None) -> bool:
    """Whether a notice that cannot be mailed must be phoned instead: the day-before reminder
    only when the event asks for it (earlier reminders are not phoned)."""
    if kind == "reminder":
        days = (payload or {}).get("days_before", 1)
        return facts.call_reminders and days == 1
    return kind in PHONED_KINDS


async def open_call_task(
    db: AsyncSession,
    *,
    notification_id: int | None,
    kind: str,
    facts: MailFacts,
    reason: str,
    now: datetime,
    payload: Mapping[str, Any] | None = None,
) -> int | None:
    """The task for one notice (at most one: the notice id is unique among tasks); `payload`
    is the notice's (what a change notice says changed). A change notice whose person has not
    been phoned yet about an earlier change is told in one call with it: see _told_together."""
    repo = CallRepository(db)
    if kind == "session_changed" and notification_id is not None:
        merged = await _told_together(repo, facts, notification_id, payload)
        if merged is None:
            return None
        payload = merged
    return await repo.add(
        booking_id=facts.booking_id,
        notification_id=notification_id,
        kind=kind,
        reason=reason,
        script=call_script(kind, facts, reason, payload),
        due_at=now,
    )


async def _told_together(
    repo: CallRepository,
    facts: MailFacts,
    notification_id: int,
    payload: Mapping[str, Any] | None,
) -> Mapping[str, Any] | None:
    """A time changed twice (10:00 → 10:30, then 10:30 → 11:00) before the desk phoned is one
    call, 10:00 → 11:00: the earlier open task is superseded (it would tell what is no longer
    true), and this one says the change from what the person last heard. Changed back to that
    (10:00 → 10:30 → 10:00), there is nothing to tell: no task. The payload to write into this
    task, or None for no task."""
    if await repo.has_task_for(notification_id):
        return payload  # the same notice handled twice: add() adds nothing
    earlier = await repo.untold_changes(facts.booking_id, notification_id)
    if not earlier:
        return payload
    change = dict((payload or {}).get("change") or {})
    first = (earlier[0][1] or {}).get("change") or {}
    if first.get("before") is None or change.get("after") is None:
        return payload
    merged = {**(payload or {}), "change": {**change, "before": first["before"]}}
    await repo.supersede([task_id for task_id, _p, state in earlier if state == "open"])
    return merged if changes_of(facts, merged) else None


def facts_with_address(facts: MailFacts) -> MailFacts:
    """The same booking as if it had an address: to judge whether the notice is still
    current (a promotion cancelled since needs no call either)."""
    return replace(facts, email="call-list@example.invalid")


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=TOKYO)
    return start, start + timedelta(days=1)


def today(now: datetime) -> date:
    return now.astimezone(TOKYO).date()


async def list_call_tasks(
    db: AsyncSession,
    actor: Actor,
    now: datetime,
    *,
    day: date | None = None,
    state: str | None = "open",
) -> list[CallTaskView]:
    """Today's (or `day`'s) tasks first, by urgency: open before handled, due by the end of
    today before later, the sooner session first, a promotion before other notices. `day`:
    open tasks due by its end, handled ones closed on it. Co-host staff see their events'."""
    _, today_end = _day_bounds(today(now))
    day_start, day_end = _day_bounds(day) if day is not None else (None, None)
    return await CallRepository(db).tasks(
        org_id=None if actor.sees_everything else actor.organization_id or -1,
        state=state,
        day_start=day_start,
        day_end=day_end,
        today_end=today_end,
    )


async def call_counts(db: AsyncSession, actor: Actor, now: datetime) -> CallCounts:
    _, today_end = _day_bounds(today(now))
    org = None if actor.sees_everything else actor.organization_id or -1
    due_today, total = await CallRepository(db).open_counts(org, today_end)
    return CallCounts(today=due_today, total=total)


async def open_call_counts(
    db: AsyncSession, now: datetime, organization_id: int | None = None
) -> CallCounts:
    """Open tasks (counts, no names): every organization's for the deployment's metrics and
    the desk's calendar feeds, or those of one co-host organization's events."""
    _, today_end = _day_bounds(today(now))
    due_today, total = await CallRepository(db).open_counts(organization_id, today_end)
    return CallCounts(today=due_today, total=total)


async def export_call_tasks(
    db: AsyncSession, actor: Actor, now: datetime, *, day: date | None, state: str | None
) -> bytes:
    """The list as CSV; exporting personal data goes to the audit log, as rosters do."""
    tasks = await list_call_tasks(db, actor, now, day=day, state=state)
    await record(
        db,
        actor,
        "calls.export",
        "call_tasks",
        None,
        after={"rows": len(tasks), "day": day.isoformat() if day else None, "state": state},
    )
    return calls_csv(tasks)


def calls_csv(tasks: list[CallTaskView]) -> bytes:
    """For Excel: UTF-8 with a BOM, CRLF, formula-looking cells escaped."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            "期限",
            "状態",
            "内容",
            "理由",
            "氏名",
            "フリガナ",
            "電話番号",
            "人数",
            "イベント",
            "開催日時",
            "予約番号",
            "伝えること",
            "試行回数",
        ]
    )
    for t in tasks:
        row = [
            t.due_at.astimezone(TOKYO).strftime("%Y/%m/%d %H:%M"),
            CALL_STATE_LABELS.get(t.state, t.state),
            CALL_KINDS.get(t.kind, t.kind),
            CALL_REASON_LABELS.get(t.reason, t.reason),
            t.name,
            t.name_kana,
            t.display_phone,
            str(t.party_size),
            t.event_title,
            t.starts_at.astimezone(TOKYO).strftime("%Y/%m/%d %H:%M"),
            t.display_code,
            t.script,
            str(t.attempts),
        ]
        writer.writerow([safe_cell(c) for c in row])
    return (BOM + out.getvalue()).encode("utf-8")


def parse_filters(day: str | None, state: str | None) -> tuple[date | None, str | None]:
    """The list's filters as typed: a day (YYYY-MM-DD, Japan) and a state (or `all`)."""
    fields: dict[str, str] = {}
    parsed_day: date | None = None
    if day:
        try:
            parsed_day = date.fromisoformat(day.strip())
        except ValueError:
            fields["day"] = "日付は 2025-10-21 の形で指定してください。"
        else:
            # A day the list can hold (9999-12-31 has no next day to end the list at).
            if not 2000 <= parsed_day.year <= 2100:
                fields["day"] = "日付は2000年から2100年までで指定してください。"
                parsed_day = None
    chosen = (state or "open").strip()
    if chosen not in (*CALL_STATES, "all"):
        fields["state"] = f"状態は {', '.join((*CALL_STATES, 'all'))} のどれかです。"
    if fields:
        raise InvalidInput(fields=fields)
    return parsed_day, None if chosen == "all" else chosen


async def call_outcome(
    db: AsyncSession, actor: Actor, booking_id: int, outcome: str, now: datetime
) -> RosterEntry:
    """What came of a call to the person behind a booking; it settles every open call task of
    the booking (one call tells them everything). 連絡済 closes them; 不在 keeps them open and
    due again later; 辞退 cancels the booking (the next party on the waiting list moves up)."""
    await require_booking(db, actor, booking_id)
    before = await entry_of(db, booking_id)
    if before is None:
        raise NotFound("予約が見つかりません。", code="booking_not_found")
    if outcome not in CALL_OUTCOMES:
        raise InvalidInput(fields={"outcome": "連絡の結果を選んでください。"})
    calls = CallRepository(db)
    if outcome == "declined":
        if before.status == "cancelled":
            raise Conflict("この予約はすでに取り消されています。", code="already_cancelled")
        await cancel_booking_by_id(db, booking_id, staff_id=actor.id, reason="電話連絡で辞退")
    tasks = await calls.lock_open(booking_id)
    if not tasks:
        raise Conflict("この方への連絡は、すでに済んでいます。", code="no_open_call")
    if outcome == "no_answer":
        await calls.try_later(tasks, now + TRY_AGAIN_AFTER)
    else:
        await calls.close(tasks, "done" if outcome == "reached" else "declined", actor.id)
    await record(
        db,
        actor,
        f"call.{outcome}",
        "booking",
        booking_id,
        after={"call_tasks": tasks, "outcome": outcome},
    )
    after = await entry_of(db, booking_id)
    assert after is not None
    return after
