"""The rules of a follow-up campaign: who it asks, by which channel, sending, and answers.

Each person is reached by their first usable preference (mail needs an address, post a postal
address, phone a number); with no preference recorded: mail, else post, else phone. Mail goes
out in the workers (service.domain.followups.delivery), post as printed letters and labels
(service.domain.followups.letters), phone as the campaign's call list. Answers are one per
person per campaign, changed (not added) until the campaign closes; 就職した becomes a
placement counted once in 雇用・就業数 (service.domain.indicators.placements)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.access import require_role
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import record
from service.domain.errors import Conflict, InvalidInput, NotFound
from service.domain.followups.enums import ANSWER_VIA, TARGET_CHANNELS
from service.domain.followups.models import FollowUpAnswer, FollowUpCampaign
from service.domain.followups.repository import FollowUpRepository
from service.domain.followups.schemas import (
    AnswerInput,
    CampaignView,
    Candidate,
    ChannelCounts,
    ChannelRate,
    FormContext,
    TargetLine,
)
from service.domain.followups.tokens import VALID_DAYS, is_short_code, read_token
from service.domain.followups.validation import check_answer, check_campaign
from service.domain.indicators import placements
from service.platform.job_names import SEND_FOLLOW_UP_MAILS
from service.platform.jobs import enqueue_after_commit
from service.platform.local_time import TOKYO
from service.platform.settings import Settings


def send_job_id(campaign_id: int) -> str:
    return f"follow-up-mails:{campaign_id}"


def campaign_not_found() -> NotFound:
    return NotFound("調査が見つかりませんでした。", code="campaign_not_found")


def channel_for(c: Candidate) -> str | None:
    usable = {
        "mail": c.email is not None,
        "post": c.postal_code is not None and c.address is not None,
        "phone": c.phone is not None,
    }
    for method in (*c.contact_by, "mail", "post", "phone"):
        if usable.get(method):
            return method
    return None


async def _view(
    db: AsyncSession, campaign: FollowUpCampaign, *, with_answers: bool = False
) -> CampaignView:
    repo = FollowUpRepository(db)
    rows = {r.channel: r for r in await repo.counts(campaign.id)}

    def of(column: str) -> ChannelCounts:
        return ChannelCounts(
            **{ch: int(getattr(rows[ch], column)) if ch in rows else 0 for ch in TARGET_CHANNELS}
        )

    rates = tuple(
        ChannelRate(ch, int(rows[ch].targets), int(rows[ch].answered))
        for ch in TARGET_CHANNELS
        if ch in rows
    )
    answers = tuple(await repo.answers(campaign.id)) if with_answers else ()
    return CampaignView(
        id=campaign.id,
        title=campaign.title,
        attended_from=campaign.attended_from,
        attended_to=campaign.attended_to,
        status=campaign.status,
        sent_at=campaign.sent_at,
        closes_at=campaign.closes_at,
        counts=of("targets"),
        sent=of("sent"),
        rates=rates,
        answers=answers,
        placements=sum(1 for a in answers if a.placement_record_id is not None),
    )


async def create(db: AsyncSession, actor: Actor, raw: Mapping[str, object]) -> CampaignView:
    """A draft campaign with its people chosen now, each with their channel: the counts by
    channel are what sending will do."""
    require_role(actor, "organizer")
    data = check_campaign(raw)
    repo = FollowUpRepository(db)
    campaign = await repo.add_campaign(
        FollowUpCampaign(
            title=data.title,
            attended_from=data.attended_from,
            attended_to=data.attended_to,
            created_by_id=actor.id,
        )
    )
    people: list[int] = []
    channels: list[str] = []
    for candidate in await repo.candidates(data.attended_from, data.attended_to):
        channel = channel_for(candidate)
        if channel is not None:
            people.append(candidate.person_id)
            channels.append(channel)
    await repo.add_targets(campaign.id, people, channels)
    await record(
        db,
        actor,
        "follow_up.create",
        "follow_up_campaign",
        campaign.id,
        after={"targets": len(people)},
    )
    return await _view(db, campaign)


async def _campaign(db: AsyncSession, campaign_id: int, *, lock: bool = False) -> FollowUpCampaign:
    campaign = await FollowUpRepository(db).campaign(campaign_id, lock=lock)
    if campaign is None:
        raise campaign_not_found()
    return campaign


async def show(db: AsyncSession, actor: Actor, campaign_id: int) -> CampaignView:
    require_role(actor, "organizer")
    return await _view(db, await _campaign(db, campaign_id), with_answers=True)


async def list_campaigns(db: AsyncSession, actor: Actor) -> list[CampaignView]:
    require_role(actor, "organizer")
    return [await _view(db, c) for c in await FollowUpRepository(db).campaigns(50)]


async def send(db: AsyncSession, actor: Actor, campaign_id: int) -> CampaignView:
    """Starts the campaign: the mails are queued for the workers (after commit), the letters and
    the call list can be printed; answers are taken for VALID_DAYS days. Sending twice changes
    nothing."""
    require_role(actor, "organizer")
    campaign = await _campaign(db, campaign_id, lock=True)
    if campaign.status == "closed":
        raise Conflict("締め切った調査は送れません。", code="campaign_closed")
    if campaign.status == "draft":
        now = clock.now()
        campaign.status = "sending"
        campaign.sent_at = now
        campaign.closes_at = now + timedelta(days=VALID_DAYS)
        await FollowUpRepository(db).refresh(campaign)
        # The letters are printed from now on (GET letters.pdf): the post targets count as sent.
        await FollowUpRepository(db).mark_channel_sent(campaign_id, "post")
        await record(db, actor, "follow_up.send", "follow_up_campaign", campaign_id)
    enqueue_after_commit(db, SEND_FOLLOW_UP_MAILS, send_job_id(campaign_id), campaign_id)
    return await _view(db, campaign)


async def close(db: AsyncSession, actor: Actor, campaign_id: int) -> CampaignView:
    require_role(actor, "organizer")
    campaign = await _campaign(db, campaign_id, lock=True)
    if campaign.status != "closed":
        campaign.status = "closed"
        campaign.closed_at = clock.now()
        await FollowUpRepository(db).refresh(campaign)
        await record(db, actor, "follow_up.close", "follow_up_campaign", campaign_id)
    return await _view(db, campaign)


async def targets(
    db: AsyncSession, actor: Actor, campaign_id: int, channel: str
) -> tuple[CampaignView, list[TargetLine]]:
    """A channel's people (letters and labels: post, by postal code; the call list: phone)."""
    require_role(actor, "organizer")
    campaign = await _campaign(db, campaign_id)
    if channel not in TARGET_CHANNELS:
        raise InvalidInput(fields={"channel": "mail・post・phone のどれかです。"})
    if campaign.status == "draft":
        raise Conflict("送る前の調査です。先に「送る」を押してください。", code="campaign_draft")
    return await _view(db, campaign), await FollowUpRepository(db).targets(campaign_id, channel)


def _open(status: str, closes_at: datetime | None, now: datetime) -> bool:
    return status in ("sending", "sent") and (closes_at is None or now < closes_at)


async def _save_answer(
    db: AsyncSession,
    campaign_id: int,
    person: object,
    data: AnswerInput,
    *,
    via: str,
    staff_id: int | None,
) -> FollowUpAnswer:
    person_id = int(getattr(person, "person_id"))  # noqa: B009 - a row of the repository
    repo = FollowUpRepository(db)
    answer = await repo.answer(campaign_id, person_id, lock=True)
    if answer is None:
        answer = await repo.add_answer(
            FollowUpAnswer(
                campaign_id=campaign_id, person_id=person_id, via=via, status=data.status
            )
        )
    old_placement = answer.placement_record_id
    answer.status = data.status
    answer.employer = data.employer
    answer.started_on = data.started_on
    answer.employment_type = data.employment_type
    answer.sector = data.sector
    answer.comment = data.comment
    answer.via = via
    answer.entered_by_id = staff_id
    now = clock.now()
    if old_placement is not None:
        # Written again from the answer as it is now (or gone when no longer 就職した).
        await placements.withdraw_placement(db, old_placement)
        answer.placement_record_id = None
    if data.status == "employed":
        outcome = await placements.record_placement(
            db,
            person_id=person_id,
            person_name=str(getattr(person, "name", "")),
            age_band=getattr(person, "age_band", None),
            employer=data.employer,
            occurred_on=data.started_on or now.date(),
            sector=data.sector,
        )
        answer.placement_record_id = outcome.record_id
    await repo.flush()
    await repo.touch_person(person_id, now)
    return answer


async def answer_by_form(
    db: AsyncSession, target_id: int, raw: Mapping[str, object]
) -> FollowUpAnswer:
    """The person's own answer from the link (mail) or the short URL (letter)."""
    repo = FollowUpRepository(db)
    row = await repo.form_target(target_id=target_id)
    if row is None or row.withdrawn_at is not None:
        raise campaign_not_found()
    if not _open(row.status, row.closes_at, clock.now()):
        raise Conflict("この調査の回答期間は終わりました。", code="campaign_closed")
    return await _save_answer(db, row.campaign_id, row, check_answer(raw), via="web", staff_id=None)


async def answer_for(
    db: AsyncSession, actor: Actor, campaign_id: int, raw: Mapping[str, object]
) -> FollowUpAnswer:
    """An answer that came back on paper or by phone, entered by staff against the person."""
    require_role(actor, "organizer")
    campaign = await _campaign(db, campaign_id)
    via = raw.get("via")
    if via not in ("paper", "phone"):
        raise InvalidInput(fields={"via": "paper か phone を選んでください。"})
    person_id = raw.get("person_id")
    if isinstance(person_id, str) and person_id.isdigit():
        person_id = int(person_id)
    if not isinstance(person_id, int) or isinstance(person_id, bool) or person_id <= 0:
        raise InvalidInput(fields={"person_id": "回答した方を選んでください。"})
    if not _open(campaign.status, campaign.closes_at, clock.now()):
        raise Conflict("この調査は送る前か、締め切られています。", code="campaign_closed")
    person = await FollowUpRepository(db).person_in_campaign(campaign_id, person_id)
    if person is None or person.withdrawn_at is not None:
        raise InvalidInput(
            fields={"person_id": "この方は登録されていないか、同意を取り消しています。"}
        )
    saved = await _save_answer(
        db, campaign_id, person, check_answer(raw), via=str(via), staff_id=actor.id
    )
    await record(
        db,
        actor,
        "follow_up.answer",
        "follow_up_campaign",
        campaign_id,
        after={"person_id": person_id, "status": saved.status, "via": via},
    )
    return saved


__all__ = ["ANSWER_VIA", "answer_by_form", "answer_for", "create", "send", "show"]


async def form_context(
    db: AsyncSession, settings: Settings, *, token: str = "", short_code: str = ""
) -> FormContext:
    """The form a link opens: by the signed token (mail) or the short code (letter)."""
    repo = FollowUpRepository(db)
    now = clock.now()
    row = None
    if token:
        target_id = read_token(settings, token, now.astimezone(TOKYO).date())
        row = await repo.form_target(target_id=target_id) if target_id else None
    elif is_short_code(short_code):
        row = await repo.form_target(short_code=short_code)
    if row is None or row.withdrawn_at is not None or row.status == "draft":
        raise NotFound("このページは開けません。お手紙やメールのアドレスをご確認ください。",
                       code="follow_up_not_found")  # fmt: skip
    answer = await repo.answer(row.campaign_id, row.person_id)
    given = (
        AnswerInput(
            answer.status,
            answer.employer,
            answer.started_on,
            answer.employment_type,
            answer.sector,
            answer.comment,
        )
        if answer
        else None
    )
    return FormContext(
        target_id=row.target_id,
        campaign_id=row.campaign_id,
        title=row.title,
        name=row.name,
        closes_at=row.closes_at,
        is_open=_open(row.status, row.closes_at, now),
        answer=given,
    )
