"""The timetable: staff ask for it (202), a worker builds it with the solver and stores it;
staff move, add or remove meetings by hand under the same hard rules; the day's outcomes.

Building runs in three steps so the solver never holds a transaction: read the instance (one
short transaction), solve (no database), store (one transaction under the day's row lock, and
only if no newer build was asked for meanwhile: the version in the job id)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.access import require_role
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import record
from service.domain.matching import solver
from service.domain.matching.models import Meeting
from service.domain.matching.repository import MatchingRepository
from service.domain.matching.schemas import (
    MeetingView,
    ScheduleView,
    slot_times,
)
from service.domain.matching.service import (
    COMPANY_ROLE,
    get_day,
)
from service.platform.job_names import BUILD_MATCHING_SCHEDULE
from service.platform.jobs import enqueue_after_commit

# The solver's time limit in the worker (seconds); the job's timeout is well above it.
SOLVER_TIME_LIMIT = 30.0


def build_job_id(event_id: int, version: int) -> str:
    return f"matching:{event_id}:{version}"


async def request_build(db: AsyncSession, actor: Actor, event_id: int) -> ScheduleView:
    """「面談表を作成」: marks the day building and hands the job to the workers after commit."""
    require_role(actor, "cohost")
    repo = MatchingRepository(db)
    day = await repo.lock_day(event_id)
    if day is None:
        await get_day(repo, event_id)
        raise AssertionError("unreachable")
    day.schedule_status = "building"
    day.schedule_version += 1
    day.schedule_error = None
    await repo.flush()
    enqueue_after_commit(
        db,
        BUILD_MATCHING_SCHEDULE,
        build_job_id(event_id, day.schedule_version),
        event_id,
        day.schedule_version,
    )
    await record(
        db,
        actor,
        "matching.schedule",
        "event",
        event_id,
        after={"version": day.schedule_version},
    )
    return await schedule_view(db, actor, event_id)


async def read_instance(
    db: AsyncSession, event_id: int
) -> tuple[solver.Instance, dict[int, list[int]], dict[tuple[int, int], int]] | None:
    """The solver's input: the day's participants (absent ones left out), companies, choices;
    manual meetings pinned; meetings already sent kept where possible. Also each company's
    table ids and each existing pair's table."""
    repo = MatchingRepository(db)
    day = await repo.day(event_id)
    if day is None:
        return None
    window = await repo.session_window(day.session_id)
    assert window is not None
    slots = slot_times(window.starts_at, window.ends_at, day.slot_minutes, day.break_minutes)
    people = [p.booking_id for p in await repo.participants(day.session_id) if not p.no_show]
    present = set(people)
    tables: dict[int, list[int]] = defaultdict(list)
    for t in await repo.tables(event_id):
        tables[t.organization_id].append(t.id)
    ranks: dict[tuple[int, int], list[int | None]] = {}
    for c in await repo.company_choices(event_id):
        if c.booking_id in present:
            ranks.setdefault((c.organization_id, c.booking_id), [None, None])[0] = c.rank
    for pc in await repo.participant_choices(event_id):
        if pc.booking_id in present and pc.organization_id in tables:
            ranks.setdefault((pc.organization_id, pc.booking_id), [None, None])[1] = pc.rank
    pinned: list[solver.Placed] = []
    kept: list[solver.Placed] = []
    staff_added: set[tuple[int, int]] = set()
    table_of: dict[tuple[int, int], int] = {}
    for m in await repo.meetings(event_id):
        if m.booking_id not in present or m.slot >= len(slots):
            continue
        placed = solver.Placed(m.organization_id, m.booking_id, m.slot)
        table_of[(m.organization_id, m.booking_id)] = m.table_id
        if m.source == "manual":
            pinned.append(placed)
            staff_added.add((m.organization_id, m.booking_id))
        elif m.sent_at is not None:
            kept.append(placed)
    pairs = [
        solver.Pair(c, p, r[0], r[1], staff_added=(c, p) in staff_added)
        for (c, p), r in sorted(ranks.items())
    ]
    for company, person in sorted(staff_added - set(ranks)):
        pairs.append(solver.Pair(company, person, None, None, staff_added=True))
    inst = solver.Instance(
        slots=len(slots),
        tables={c: len(ids) for c, ids in tables.items()},
        people=people,
        pairs=pairs,
        max_per_company=day.max_per_company,
        max_per_person=day.max_per_person,
        pinned=pinned,
        kept=kept,
    )
    return inst, dict(tables), table_of


def unmet_companies(inst: solver.Instance, meetings: list[solver.Placed]) -> list[dict[str, int]]:
    """Companies that met fewer of their chosen people than they chose (capped by maxima)."""
    chosen: dict[int, int] = defaultdict(int)
    for pair in inst.pairs:
        if pair.company_rank is not None:
            chosen[pair.company] += 1
    ranks = {(p.company, p.person) for p in inst.pairs if p.company_rank is not None}
    met: dict[int, int] = defaultdict(int)
    for m in meetings:
        if (m.company, m.person) in ranks:
            met[m.company] += 1
    return [
        {"organization_id": c, "chosen": n, "met": met[c]}
        for c, n in sorted(chosen.items())
        if met[c] < n
    ]


async def store(
    db: AsyncSession,
    event_id: int,
    version: int,
    inst: solver.Instance,
    tables: dict[int, list[int]],
    table_of: dict[tuple[int, int], int],
    solution: solver.Solution,
) -> bool:
    """Writes the timetable, unless a newer build was asked for meanwhile. Meetings that stay
    (same pair, slot and table) keep their row, and with it their sent mark and outcome."""
    repo = MatchingRepository(db)
    day = await repo.lock_day(event_id)
    if day is None or day.schedule_version != version:
        return False
    now = clock.now()
    day.built_at = now
    day.solver_status = solution.status
    day.solve_seconds = round(solution.seconds, 3)
    if not solution.meetings and solution.status not in ("OPTIMAL", "FEASIBLE"):
        day.schedule_status = "failed"
        day.schedule_error = f"solver: {solution.status}"
        await repo.flush()
        return True
    window = await repo.session_window(day.session_id)
    assert window is not None
    slots = slot_times(window.starts_at, window.ends_at, day.slot_minutes, day.break_minutes)
    assigned = solver.assign_tables(solution.meetings, tables, table_of)
    existing = {(m.organization_id, m.booking_id): m for m in await repo.meetings(event_id)}
    wanted = {(p.company, p.person): (p, t) for p, t in assigned.items()}
    gone = [
        m.id
        for key, m in existing.items()
        if key not in wanted or (m.slot, m.table_id) != (wanted[key][0].slot, wanted[key][1])
    ]
    await repo.delete_meetings(gone)
    await repo.flush()
    for key, (placed, table_id) in wanted.items():
        old = existing.get(key)
        if old is not None and old.id not in gone:
            continue
        start, end = slots[placed.slot]
        repo.stage(
            Meeting(
                event_id=event_id,
                organization_id=placed.company,
                booking_id=placed.person,
                table_id=table_id,
                slot=placed.slot,
                starts_at=start,
                ends_at=end,
                source="manual" if old is not None and old.source == "manual" else "solver",
                # A meeting that moved is a change the person must hear of: not sent.
                sent_at=None,
            )
        )
    day.schedule_status = "ready"
    day.objective = solution.objective
    day.bound = solution.bound
    day.unmet = unmet_companies(inst, solution.meetings)
    await repo.flush()
    return True


async def mark_failed(db: AsyncSession, event_id: int, version: int, error: str) -> None:
    repo = MatchingRepository(db)
    day = await repo.lock_day(event_id)
    if day is not None and day.schedule_version == version:
        day.schedule_status = "failed"
        day.schedule_error = error[:500]
        await repo.flush()


async def schedule_view(db: AsyncSession, actor: Actor, event_id: int) -> ScheduleView:
    """GET /events/{id}/matching/schedule: a company login sees only its own meetings."""
    repo = MatchingRepository(db)
    day = await get_day(repo, event_id)
    own = actor.organization_id if actor.role == COMPANY_ROLE else None
    meetings = await repo.meetings(event_id, organization_id=own)
    views = await meeting_views(repo, event_id, day.session_id, meetings)
    unmet = [u for u in day.unmet if own is None or u.get("organization_id") == own]
    return ScheduleView(
        status=day.schedule_status,
        meetings=views,
        objective=day.objective if own is None else None,
        bound=day.bound if own is None else None,
        solver_status=day.solver_status,
        solve_seconds=day.solve_seconds,
        built_at=day.built_at,
        unmet=unmet,
        error=day.schedule_error if own is None else None,
    )


async def meeting_views(
    repo: MatchingRepository, event_id: int, session_id: int, meetings: list[Meeting]
) -> list[MeetingView]:
    tables = {t.id: t for t in await repo.tables(event_id)}
    names = {c.organization_id: name for c, name in await repo.companies(event_id)}
    people = {p.booking_id: p.name for p in await repo.participants(session_id)}
    return [
        MeetingView(
            id=m.id,
            organization_id=m.organization_id,
            company=names.get(m.organization_id, ""),
            booking_id=m.booking_id,
            participant=people.get(m.booking_id, ""),
            slot=m.slot,
            starts_at=m.starts_at,
            ends_at=m.ends_at,
            table=tables[m.table_id].number,
            place=tables[m.table_id].place,
            join_url=tables[m.table_id].join_url,
            source=m.source,
            outcome=m.outcome,
            outcome_note=m.outcome_note,
            hired_on=m.hired_on,
            employment_type=m.employment_type,
        )
        for m in meetings
    ]


async def participant_meetings(db: AsyncSession, booking_id: int) -> list[MeetingView]:
    """A participant's own timetable (look-up page, mail, .ics)."""
    repo = MatchingRepository(db)
    session_id = await repo.booking_session(booking_id)
    if session_id is None:
        return []
    day = await repo.day_of_session(session_id)
    if day is None or day.schedule_status == "none":
        return []
    meetings = await repo.meetings(day.event_id, booking_id=booking_id)
    return await meeting_views(repo, day.event_id, session_id, meetings)
