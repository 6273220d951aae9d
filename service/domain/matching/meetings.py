"""Meetings by hand (add, move, remove under the timetable's hard rules), the day (no-shows,
filling a freed slot) and outcomes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.access import require_role
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import record
from service.domain.errors import Conflict, InvalidInput, NotFound
from service.domain.matching.models import Meeting
from service.domain.matching.repository import MatchingRepository
from service.domain.matching.schedule import meeting_views
from service.domain.matching.schemas import MeetingView, slot_times, validate_outcome
from service.domain.matching.service import get_day, require_own_company
from service.platform.job_names import SEND_NOTIFICATION, send_notification_id
from service.platform.jobs import enqueue_after_commit


def queue_notices(db: AsyncSession, notification_ids: list[int]) -> None:
    """The outbox rows commit with the change; the job only nudges the worker (as the booking
    core does)."""
    for nid in notification_ids:
        enqueue_after_commit(db, SEND_NOTIFICATION, send_notification_id(nid), nid)


def _int_field(raw: Mapping[str, object], name: str) -> int:
    value = raw.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
        raise InvalidInput(fields={name: "番号（整数）で指定してください。"})
    return value


async def _check_hard_rules(
    repo: MatchingRepository,
    event_id: int,
    *,
    organization_id: int,
    booking_id: int,
    table_id: int,
    slot: int,
    ignore: int | None = None,
) -> tuple[datetime, datetime]:
    """The timetable's hard rules for one meeting, judged under the day's row lock."""
    day = await repo.lock_day(event_id)
    if day is None:
        await get_day(repo, event_id)
        raise AssertionError("unreachable")
    window = await repo.session_window(day.session_id)
    assert window is not None
    slots = slot_times(window.starts_at, window.ends_at, day.slot_minutes, day.break_minutes)
    if not 0 <= slot < len(slots):
        raise InvalidInput(fields={"slot": f"枠は0から{len(slots) - 1}までです。"})
    table = next((t for t in await repo.tables(event_id) if t.id == table_id), None)
    if table is None or table.organization_id != organization_id:
        raise InvalidInput(fields={"table_id": "この企業のテーブル（端末）を選んでください。"})
    participants = {p.booking_id for p in await repo.participants(day.session_id)}
    if booking_id not in participants:
        raise InvalidInput(fields={"booking_id": "この面談会の参加者を選んでください。"})
    others = [m for m in await repo.meetings(event_id) if m.id != ignore]
    if any(m.booking_id == booking_id and m.slot == slot for m in others):
        raise Conflict("その時間、この方には別の面談があります。", code="person_busy")
    if any(m.table_id == table_id and m.slot == slot for m in others):
        raise Conflict("その時間、このテーブル（端末）は埋まっています。", code="table_busy")
    if any(m.booking_id == booking_id and m.organization_id == organization_id for m in others):
        raise Conflict("この組み合わせの面談はすでにあります。", code="pair_exists")
    if sum(m.booking_id == booking_id for m in others) >= day.max_per_person:
        raise Conflict("この方の面談数が上限に達しています。", code="person_full")
    if sum(m.organization_id == organization_id for m in others) >= day.max_per_company:
        raise Conflict("この企業の面談数が上限に達しています。", code="company_full")
    return slots[slot]


async def add_meeting(
    db: AsyncSession, actor: Actor, event_id: int, raw: Mapping[str, object]
) -> MeetingView:
    """Staff add a meeting by hand (any pair: staff-added pairs are allowed)."""
    require_role(actor, "cohost")
    repo = MatchingRepository(db)
    organization_id = _int_field(raw, "organization_id")
    booking_id = _int_field(raw, "booking_id")
    table_id = _int_field(raw, "table_id")
    slot = _int_field(raw, "slot")
    start, end = await _check_hard_rules(
        repo,
        event_id,
        organization_id=organization_id,
        booking_id=booking_id,
        table_id=table_id,
        slot=slot,
    )
    meeting = Meeting(
        event_id=event_id,
        organization_id=organization_id,
        booking_id=booking_id,
        table_id=table_id,
        slot=slot,
        starts_at=start,
        ends_at=end,
        source="manual",
    )
    await repo.add(meeting)
    await record(
        db,
        actor,
        "matching.meeting.add",
        "matching_meeting",
        meeting.id,
        after={"organization_id": organization_id, "booking_id": booking_id, "slot": slot},
    )
    day = await get_day(repo, event_id)
    return (await meeting_views(repo, event_id, day.session_id, [meeting]))[0]


async def move_meeting(
    db: AsyncSession, actor: Actor, meeting_id: int, raw: Mapping[str, object]
) -> MeetingView:
    require_role(actor, "cohost")
    repo = MatchingRepository(db)
    meeting = await _meeting(repo, meeting_id)
    slot = _int_field(raw, "slot")
    table_id = _int_field(raw, "table_id") if "table_id" in raw else meeting.table_id
    start, end = await _check_hard_rules(
        repo,
        meeting.event_id,
        organization_id=meeting.organization_id,
        booking_id=meeting.booking_id,
        table_id=table_id,
        slot=slot,
        ignore=meeting.id,
    )
    before = {"slot": meeting.slot, "table_id": meeting.table_id}
    meeting.slot, meeting.table_id = slot, table_id
    meeting.starts_at, meeting.ends_at = start, end
    meeting.source = "manual"
    meeting.sent_at = None
    await repo.flush()
    await record(
        db,
        actor,
        "matching.meeting.move",
        "matching_meeting",
        meeting.id,
        before=before,
        after={"slot": slot, "table_id": table_id},
    )
    day = await get_day(repo, meeting.event_id)
    return (await meeting_views(repo, meeting.event_id, day.session_id, [meeting]))[0]


async def remove_meeting(db: AsyncSession, actor: Actor, meeting_id: int) -> None:
    require_role(actor, "cohost")
    repo = MatchingRepository(db)
    meeting = await _meeting(repo, meeting_id)
    await repo.lock_day(meeting.event_id)
    await record(
        db,
        actor,
        "matching.meeting.remove",
        "matching_meeting",
        meeting.id,
        before={
            "organization_id": meeting.organization_id,
            "booking_id": meeting.booking_id,
            "slot": meeting.slot,
        },
    )
    await repo.delete_meeting(meeting)


async def _meeting(repo: MatchingRepository, meeting_id: int) -> Meeting:
    meeting = await repo.meeting(meeting_id)
    if meeting is None:
        raise NotFound("面談が見つかりません。", code="meeting_not_found")
    return meeting


async def record_outcome(
    db: AsyncSession, actor: Actor, meeting_id: int, raw: Mapping[str, object]
) -> MeetingView:
    """POST /matching/meetings/{id}/outcome, by the company (its own meetings) or staff. A
    match releases the participant's contact details to that company (the views read the
    outcome) and tells the participant (a notice)."""
    valid = validate_outcome(raw)
    repo = MatchingRepository(db)
    meeting = await _meeting(repo, meeting_id)
    try:
        require_own_company(actor, meeting.organization_id)
    except NotFound:
        raise NotFound("面談が見つかりません。", code="meeting_not_found") from None
    if meeting.hired_on is not None and valid.result != "matched":
        # The hire counts in 雇用・就業数: taking the match back would leave it unexplained.
        raise Conflict(
            "採用を記録した面談です。結果は変えられません。",
            code="hire_recorded",
            fields={"result": "採用を記録した面談です。"},
        )
    before = {"outcome": meeting.outcome, "note": meeting.outcome_note}
    meeting.outcome = valid.result
    meeting.outcome_note = valid.note or None
    meeting.outcome_at = clock.now()
    meeting.outcome_by_id = actor.id
    await repo.flush()
    if valid.result == "matched":
        notice_ids = await repo.add_notices(
            [
                (
                    meeting.booking_id,
                    "matching_matched",
                    f"matching-matched:{meeting.id}",
                    {"meeting_id": meeting.id, "organization_id": meeting.organization_id},
                )
            ]
        )
        queue_notices(db, notice_ids)
    await record(
        db,
        actor,
        "matching.outcome",
        "matching_meeting",
        meeting.id,
        before=before,
        after={"outcome": valid.result, "note": valid.note},
    )
    day = await get_day(repo, meeting.event_id)
    return (await meeting_views(repo, meeting.event_id, day.session_id, [meeting]))[0]


# --- the day ------------------------------------------------------------------------------
@dataclass(frozen=True)
class FreeSlot:
    """A table free in a slot, with the company's next choices who are present and free then
    (its own choices by rank first, then people who chose it)."""

    organization_id: int
    table_id: int
    slot: int
    starts_at: datetime
    candidates: list[int]


async def mark_absent(db: AsyncSession, actor: Actor, event_id: int, booking_id: int) -> int:
    """A participant who did not come: their meetings are removed, freeing those slots for the
    companies' next choices. Returns how many meetings were freed."""
    require_role(actor, "cohost")
    repo = MatchingRepository(db)
    await get_day(repo, event_id)
    await repo.lock_day(event_id)
    own = await repo.meetings(event_id, booking_id=booking_id)
    freed = [m for m in own if m.outcome is None]
    await record(
        db,
        actor,
        "matching.absent",
        "booking",
        booking_id,
        before={"meetings": [[m.organization_id, m.slot, m.table_id] for m in freed]},
    )
    await repo.delete_meetings([m.id for m in freed])
    return len(freed)


async def free_slots(db: AsyncSession, actor: Actor, event_id: int) -> list[FreeSlot]:
    require_role(actor, "cohost")
    repo = MatchingRepository(db)
    day = await get_day(repo, event_id)
    window = await repo.session_window(day.session_id)
    assert window is not None
    slots = slot_times(window.starts_at, window.ends_at, day.slot_minutes, day.break_minutes)
    now = clock.now()
    meetings = await repo.meetings(event_id)
    taken = {(m.table_id, m.slot) for m in meetings}
    busy = {(m.booking_id, m.slot) for m in meetings}
    pairs = {(m.organization_id, m.booking_id) for m in meetings}
    per_person: dict[int, int] = defaultdict(int)
    per_company: dict[int, int] = defaultdict(int)
    for m in meetings:
        per_person[m.booking_id] += 1
        per_company[m.organization_id] += 1
    present = {
        p.booking_id
        for p in await repo.participants(day.session_id)
        if p.checked_in and not p.no_show
    }
    wanted: dict[int, list[int]] = defaultdict(list)
    for c in await repo.company_choices(event_id):
        wanted[c.organization_id].append(c.booking_id)
    for pc in await repo.participant_choices(event_id):
        if pc.booking_id not in wanted[pc.organization_id]:
            wanted[pc.organization_id].append(pc.booking_id)
    out: list[FreeSlot] = []
    for table in await repo.tables(event_id):
        company = table.organization_id
        if per_company[company] >= day.max_per_company:
            continue
        for s, (start, _) in enumerate(slots):
            if start <= now or (table.id, s) in taken:
                continue
            candidates = [
                b
                for b in wanted[company]
                if b in present
                and (b, s) not in busy
                and (company, b) not in pairs
                and per_person[b] < day.max_per_person
            ]
            out.append(FreeSlot(company, table.id, s, start, candidates[:5]))
    return out


async def event_of(db: AsyncSession, meeting_id: int) -> int:
    return (await _meeting(MatchingRepository(db), meeting_id)).event_id
