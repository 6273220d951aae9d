"""The indicators' rules: compiling a year, asking for a compile, the desk's records, hand
figures, paper survey answers and the definitions admins keep. Every change is audited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.access import require_role
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import changed, record
from service.domain.errors import Conflict, InvalidInput, NotFound
from service.domain.events.admin_schemas import FieldReader
from service.domain.indicators import fiscal
from service.domain.indicators.compile import Match, YearInput
from service.domain.indicators.compile import compile_year as count_year
from service.domain.indicators.line_followers import with_line_followers
from service.domain.indicators.matching_days import with_matching_days
from service.domain.indicators.models import DeskRecord, IndicatorDefinition, SurveyAnswer
from service.domain.indicators.repository import IndicatorRepository
from service.domain.indicators.schemas import (
    KEEP_PERSON,
    DefinitionView,
    RecordInput,
    RecordView,
    company_key,
    definition_values,
    fiscal_year_value,
    read_date,
    validate_definition,
    validate_hand_figure,
    validate_paper_answer,
    validate_record,
    validate_year_figure,
)
from service.domain.people import service as people
from service.platform.job_names import COMPILE_INDICATORS
from service.platform.jobs import enqueue_after_commit

RECORDS_PER_PAGE = 50


def current_fiscal_year() -> int:
    return fiscal.fiscal_year_of(clock.now())


def compile_job_id(fiscal_year: int, version: int) -> str:
    return f"indicators:{fiscal_year}:{version}"


@dataclass(frozen=True, slots=True)
class CompileOutcome:
    fiscal_year: int
    version: int
    figures: int


async def year_window(repo: IndicatorRepository, fiscal_year: int) -> fiscal.Window:
    return fiscal.window(fiscal_year, await repo.window_start(fiscal_year))


async def compile_year(db: AsyncSession, fiscal_year: int) -> CompileOutcome:
    """Replaces the year's figures with what the data says now. Idempotent; compiles of one
    year wait for each other, so two workers at once leave the same table."""
    repo = IndicatorRepository(db)
    await repo.lock_year(fiscal_year)
    # Read the version before the data: a change committed after this read bumps it again.
    version = await repo.dirty_version(fiscal_year)
    window = await year_window(repo, fiscal_year)
    # The whole year's attendance (the per-event counts of 【実施状況】); the count itself
    # keeps to the reporting window.
    attendance = await repo.attendance(
        fiscal.tokyo_midnight(fiscal.first_day(fiscal_year)), window.ends_before
    )
    now = clock.now()
    employers = await repo.employers(window.starts_at, window.ends_before, now)
    events = await repo.event_facts(
        [a.event_id for a in attendance] + [e.event_id for e in employers]
    )
    data = YearInput(
        window=window,
        attendance=attendance,
        events=events,
        employers=employers,
        records=await repo.record_rows(window.starts_on, window.ends_on),
        survey=await repo.survey_rows(window.starts_on, window.ends_on),
        # 公式LINE新規登録者数 compiled from the LINE account's follows where it has them.
        hand=await with_line_followers(
            db, fiscal_year, await repo.hand_rows(window.starts_on, window.ends_on)
        ),
        yearly=await repo.year_rows(fiscal_year),
    )
    definitions = [Match.of(d) for d in await repo.definitions()]
    result = count_year(definitions, data)
    # 新現役交流会's three rows from the matching days' meetings where the year has them.
    figures = await with_matching_days(db, window, result.figures)
    await repo.replace_figures(fiscal_year, figures, result.heard_from, version, now)
    await repo.replace_event_figures(fiscal_year, result.event_people)
    return CompileOutcome(fiscal_year, version, len(figures))


async def year_choices(db: AsyncSession, selected: int) -> list[int]:
    """The year selector: every year with data, the current year and the one shown."""
    years = set(await IndicatorRepository(db).years_with_data())
    years |= {current_fiscal_year(), selected}
    return sorted(y for y in years if fiscal.FIRST_FISCAL_YEAR <= y <= fiscal.LAST_FISCAL_YEAR)


async def stale_years(db: AsyncSession) -> list[int]:
    repo = IndicatorRepository(db)
    await repo.mark_ended_sessions(clock.now())
    return await repo.stale_years()


def _queue_compile(db: AsyncSession, fiscal_year: int, version: int) -> None:
    enqueue_after_commit(db, COMPILE_INDICATORS, compile_job_id(fiscal_year, version), fiscal_year)


async def request_compile(db: AsyncSession, actor: Actor, raw_year: object) -> tuple[int, str]:
    """The console button and POST .../compile: marks the year and queues a compile after
    commit. (fiscal_year, job id)."""
    require_role(actor, "organizer")
    fiscal_year = fiscal_year_value(raw_year)
    version = await IndicatorRepository(db).touch_year(fiscal_year)
    await record(db, actor, "indicators.compile", "fiscal_year", fiscal_year)
    _queue_compile(db, fiscal_year, version)
    return fiscal_year, compile_job_id(fiscal_year, version)


# the desk's records


def _record_values(row: DeskRecord) -> dict[str, object]:
    return {
        "kind": row.kind,
        "occurred_on": row.occurred_on,
        "sector": row.sector,
        "channel": row.channel,
        "person_name": row.person_name,
        "company": row.company,
        "senior": row.senior,
        "quantity": row.quantity,
        "note": row.note,
        "contact_phone": row.contact_phone,
        "contact_email": row.contact_email,
        "survey_consent": row.survey_consent,
        "person_id": row.person_id,
    }


async def _person_of(
    db: AsyncSession, data: RecordInput, current: int | None = None
) -> RecordInput:
    """The record's person checked: one the desk knows and who has not withdrawn (their
    consent no longer lets the desk link a new record to them). A record already linked to
    someone who withdrew since can still be corrected with the link it has (the edit form sends
    it back). A record linked without a name typed takes the person's name (what the list and
    the placements' name match read)."""
    if not isinstance(data.person_id, int) or data.person_id == current:
        return data
    try:
        person = await people.get(db, data.person_id)
    except NotFound:
        raise InvalidInput(fields={"person_id": "登録者が見つかりません。"}) from None
    if person.withdrawn:
        raise InvalidInput(
            fields={"person_id": "この方は登録を取り消しています。記録に結び付けられません。"}
        )
    return replace(data, person_name=data.person_name or person.name)


def _apply(row: DeskRecord, data: RecordInput) -> None:
    row.kind = data.kind
    row.occurred_on = data.occurred_on
    row.sector = data.sector
    row.channel = data.channel
    row.person_name = data.person_name
    row.company = data.company
    row.company_key = company_key(data.company) if data.company else None
    row.senior = data.senior
    row.quantity = data.quantity
    row.note = data.note
    row.contact_phone = data.contact_phone
    row.contact_email = data.contact_email
    row.survey_consent = data.survey_consent
    if data.person_id is not KEEP_PERSON:
        row.person_id = data.person_id if isinstance(data.person_id, int) else None


def _check_day(day: date) -> None:
    if not date(fiscal.FIRST_FISCAL_YEAR, 4, 1) <= day <= date(fiscal.LAST_FISCAL_YEAR, 3, 31):
        raise InvalidInput(fields={"occurred_on": "日付が範囲外です。"})


async def add_record(db: AsyncSession, actor: Actor, data: Mapping[str, object]) -> RecordView:
    require_role(actor, "organizer")
    valid = await _person_of(db, validate_record(data))
    _check_day(valid.occurred_on)
    row = DeskRecord(created_by_id=actor.id)
    _apply(row, valid)
    await IndicatorRepository(db).add_record(row)
    await record(
        db,
        actor,
        "desk_record.create",
        "desk_record",
        row.id,
        after=_record_values(row),
    )
    return RecordView.of(row)


async def get_record(db: AsyncSession, actor: Actor, record_id: int) -> RecordView:
    require_role(actor, "organizer")
    row = await IndicatorRepository(db).record(record_id)
    if row is None:
        raise NotFound("記録が見つかりません。", code="record_not_found")
    return RecordView.of(row)


async def update_record(
    db: AsyncSession, actor: Actor, record_id: int, data: Mapping[str, object]
) -> RecordView:
    require_role(actor, "organizer")
    valid = validate_record(data)
    _check_day(valid.occurred_on)
    row = await IndicatorRepository(db).lock_record(record_id)
    if row is None:
        raise NotFound("記録が見つかりません。", code="record_not_found")
    valid = await _person_of(db, valid, current=row.person_id)
    before = _record_values(row)
    _apply(row, valid)
    await IndicatorRepository(db).flush()
    old, new = changed(before, _record_values(row))
    if new:
        await record(
            db,
            actor,
            "desk_record.update",
            "desk_record",
            record_id,
            before=old,
            after=new,
        )
    return RecordView.of(row)


async def delete_record(db: AsyncSession, actor: Actor, record_id: int) -> None:
    require_role(actor, "organizer")
    repo = IndicatorRepository(db)
    row = await repo.lock_record(record_id)
    if row is None:
        raise NotFound("記録が見つかりません。", code="record_not_found")
    before = _record_values(row)
    await repo.delete_record(record_id)
    await record(
        db,
        actor,
        "desk_record.delete",
        "desk_record",
        record_id,
        before=before,
    )


@dataclass(frozen=True, slots=True)
class RecordPage:
    fiscal_year: int
    items: list[RecordView]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


async def list_records(
    db: AsyncSession, actor: Actor, raw_year: object, kind: str | None, page: int
) -> RecordPage:
    require_role(actor, "organizer")
    fiscal_year = fiscal_year_value(raw_year)
    page = max(1, min(page, 100_000))
    items, total = await IndicatorRepository(db).records(
        fiscal.first_day(fiscal_year),
        fiscal.last_day(fiscal_year),
        kind or None,
        RECORDS_PER_PAGE,
        (page - 1) * RECORDS_PER_PAGE,
    )
    return RecordPage(fiscal_year, [RecordView.of(r) for r in items], total, page, RECORDS_PER_PAGE)


# hand figures and paper survey answers


async def set_hand_figure(db: AsyncSession, actor: Actor, data: Mapping[str, object]) -> None:
    """Sets (or, with no value, clears) a definition's figure for one month."""
    require_role(actor, "organizer")
    valid = validate_hand_figure(data)
    repo = IndicatorRepository(db)
    definition = await repo.definition(valid.definition_id)
    if definition is None:
        raise InvalidInput(fields={"definition_id": "指標を選んでください。"})
    if definition.unit == "percent" and valid.value is not None and valid.value > 100:
        raise InvalidInput(fields={"value": "割合は0から100までで入力してください。"})
    await repo.set_hand_figure(
        valid.definition_id, valid.month, valid.value, valid.answers, actor.id
    )
    await record(
        db,
        actor,
        "indicators.hand_figure",
        "indicator_definition",
        valid.definition_id,
        after={"month": valid.month, "value": valid.value, "answers": valid.answers},
    )


async def set_year_figure(db: AsyncSession, actor: Actor, data: Mapping[str, object]) -> int:
    """Sets (or, with no value, clears) a definition's figure for a whole year: it has no
    months. Returns the fiscal year."""
    require_role(actor, "organizer")
    definition_id, year, value, answers = validate_year_figure(data)
    repo = IndicatorRepository(db)
    definition = await repo.definition(definition_id)
    if definition is None:
        raise InvalidInput(fields={"definition_id": "指標を選んでください。"})
    if definition.unit == "percent" and value is not None and value > 100:
        raise InvalidInput(fields={"value": "割合は0から100までで入力してください。"})
    await repo.set_year_figure(definition_id, year, value, answers, actor.id)
    await record(
        db,
        actor,
        "indicators.year_figure",
        "indicator_definition",
        definition_id,
        after={"fiscal_year": year, "value": value, "answers": answers},
    )
    return year


async def add_paper_answer(db: AsyncSession, actor: Actor, data: Mapping[str, object]) -> None:
    """An answer given on paper or on the desk's tablet (marked so), about the desk or an
    event; with a desk record's id, the answer of that consultation (one per record)."""
    require_role(actor, "organizer")
    valid = validate_paper_answer(data)
    _check_day(valid.answered_on)
    repo = IndicatorRepository(db)
    subject = valid.subject
    if valid.desk_record_id is not None:
        found = await repo.record(valid.desk_record_id)
        if found is None or found.kind != "consultation":
            raise InvalidInput(fields={"desk_record_id": "相談の記録が見つかりません。"})
        subject = "desk"
    answer = SurveyAnswer(
        booking_id=None,
        desk_record_id=valid.desk_record_id,
        answered_on=valid.answered_on,
        score=valid.score,
        comment=valid.comment,
        source=valid.source,
        subject=subject,
        created_by_id=actor.id,
    )
    if not await repo.add_survey_answer(answer):
        raise Conflict(
            "この相談のアンケートには、すでに回答があります。",
            code="survey_answered",
            fields={"desk_record_id": "この相談のアンケートには、すでに回答があります。"},
        )
    await record(
        db,
        actor,
        "survey.paper_answer",
        "survey_answer",
        None,
        after={
            "answered_on": valid.answered_on,
            "score": valid.score,
            "source": valid.source,
            "subject": subject,
            "desk_record_id": valid.desk_record_id,
        },
    )


# definitions (admins)


async def _recompile_all(db: AsyncSession) -> None:
    repo = IndicatorRepository(db)
    for year in await repo.touch_compiled_years():
        _queue_compile(db, year, await repo.dirty_version(year))


async def window_of(db: AsyncSession, actor: Actor, fiscal_year: int) -> fiscal.Window:
    require_role(actor, "organizer")
    return await year_window(IndicatorRepository(db), fiscal_year)


async def list_definitions(db: AsyncSession, actor: Actor) -> list[DefinitionView]:
    require_role(actor, "organizer")
    rows = await IndicatorRepository(db).definitions(include_retired=True)
    return [DefinitionView.of(d) for d in rows]


async def get_definition(db: AsyncSession, actor: Actor, definition_id: int) -> DefinitionView:
    require_role(actor, "organizer")
    found = await IndicatorRepository(db).definition(definition_id)
    if found is None:
        raise NotFound("指標が見つかりません。", code="definition_not_found")
    return DefinitionView.of(found)


async def definition_targets(
    db: AsyncSession, actor: Actor, years: list[int]
) -> dict[tuple[int, int], Decimal]:
    require_role(actor, "organizer")
    return await IndicatorRepository(db).targets(years)


async def save_definition(
    db: AsyncSession,
    actor: Actor,
    definition_id: int | None,
    data: Mapping[str, object],
    years: list[int],
) -> DefinitionView:
    """Creates (definition_id None) or changes a definition and its targets; every compiled
    year is compiled again."""
    require_role(actor, "admin")
    valid = validate_definition(data, years=years)
    repo = IndicatorRepository(db)
    other = await repo.definition_by_code(valid.code)
    if other is not None and other.id != definition_id:
        raise Conflict(
            "このコードはすでに使われています。",
            code="code_taken",
            fields={"code": "このコードはすでに使われています。"},
        )
    if definition_id is None:
        row = IndicatorDefinition(position=valid.position or await repo.max_position() + 10)
        before: dict[str, object] = {}
    else:
        found = await repo.definition(definition_id)
        if found is None:
            raise NotFound("指標が見つかりません。", code="definition_not_found")
        row = found
        before = definition_values(row)
    row.code, row.name, row.unit = valid.code, valid.name, valid.unit
    row.section, row.policy, row.measure = valid.section, valid.policy, valid.measure
    row.kinds, row.sectors, row.sub_kinds = valid.kinds, valid.sectors, valid.sub_kinds
    row.record_kind, row.channels, row.senior = valid.record_kind, valid.channels, valid.senior
    row.exclude_sub_kinds, row.survey_subjects = valid.exclude_sub_kinds, valid.survey_subjects
    if valid.position is not None:
        row.position = valid.position
    if definition_id is None:
        await repo.add_definition(row)
    else:
        await repo.flush()
    old_targets = await repo.targets(years)
    for year, target in valid.targets.items():
        await repo.set_target(row.id, year, target)
    after = definition_values(row)
    after["targets"] = {y: t for y, t in valid.targets.items()}
    before["targets"] = {y: old_targets.get((row.id, y)) for y in years} if before else {}
    old, new = changed(before, after)
    await record(
        db,
        actor,
        "indicator.create" if definition_id is None else "indicator.update",
        "indicator_definition",
        row.id,
        before=old or None,
        after=new,
    )
    await _recompile_all(db)
    return DefinitionView.of(row)


async def retire_definition(
    db: AsyncSession, actor: Actor, definition_id: int, *, retire: bool = True
) -> DefinitionView:
    require_role(actor, "admin")
    repo = IndicatorRepository(db)
    row = await repo.definition(definition_id)
    if row is None:
        raise NotFound("指標が見つかりません。", code="definition_not_found")
    before = row.retired_at
    await repo.set_retired(definition_id, retire=retire)
    await repo.reload(row)
    await record(
        db,
        actor,
        "indicator.retire" if retire else "indicator.restore",
        "indicator_definition",
        definition_id,
        before={"retired_at": before},
        after={"retired_at": row.retired_at},
    )
    await _recompile_all(db)
    return DefinitionView.of(row)


async def set_window_start(db: AsyncSession, actor: Actor, data: Mapping[str, object]) -> int:
    """A year's reporting window starts on this day (none: April 1); the year is compiled
    again. Returns the fiscal year."""
    require_role(actor, "admin")
    fiscal_year = fiscal_year_value(data.get("fiscal_year"))
    starts_on = None
    if data.get("starts_on") not in (None, ""):
        f = FieldReader(data)
        starts_on = read_date(f, "starts_on", "集計の開始日")
        if f.errors:
            raise InvalidInput(fields=f.errors)
    if starts_on is not None and not (
        fiscal.first_day(fiscal_year) <= starts_on <= fiscal.last_day(fiscal_year)
    ):
        raise InvalidInput(fields={"starts_on": "その年度の中の日付を入力してください。"})
    repo = IndicatorRepository(db)
    await repo.set_window_start(fiscal_year, starts_on)
    await record(
        db,
        actor,
        "indicators.window",
        "fiscal_year",
        fiscal_year,
        after={"window_starts_on": starts_on},
    )
    version = await repo.touch_year(fiscal_year)
    _queue_compile(db, fiscal_year, version)
    return fiscal_year
