"""Every query of the follow-up survey: the selection, targets and their mail leases (in
batches), answers, and the counts of the campaign page."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    Select,
    Text,
    and_,
    case,
    cast,
    column,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnClause
from sqlalchemy.sql.selectable import TableValuedAlias

from service.domain.bookings.models import Booking
from service.domain.events.models import EventSession
from service.domain.followups.models import FollowUpAnswer, FollowUpCampaign, FollowUpTarget
from service.domain.followups.schemas import (
    AnswerView,
    Candidate,
    MailLease,
    TargetLine,
)
from service.domain.indicators.models import DeskRecord
from service.domain.people.models import Person

_TOKYO = "Asia/Tokyo"
# The mail queue's rows as ix_follow_up_targets_due (a partial index) names them, written into
# the SQL: with bound values a prepared statement's generic plan could not use that index.
_MAIL: ColumnClause[str] = literal_column("'mail'")
_PENDING: ColumnClause[str] = literal_column("'pending'")
_LEASED: ColumnClause[str] = literal_column("'leased'")
_DUE = (_PENDING, _LEASED)


def _selection(first: date, last: date) -> Select[*tuple[Any, ...]]:
    """Attended (checked in) or consulted between the two Tokyo days; not withdrawn; consent
    given; not yet known to be working (no placement recorded, no 就職した answer since the
    start); reachable somehow."""
    p, b, s, d, a = Person, Booking, EventSession, DeskRecord, FollowUpAnswer
    attended = (
        select(b.id)
        .join(s, s.id == b.session_id)
        .where(
            b.person_id == p.id,
            b.checked_in_at.is_not(None),
            cast(func.timezone(_TOKYO, s.starts_at), Date).between(first, last),
        )
        .exists()
    )
    consulted = exists().where(
        d.person_id == p.id, d.kind == "consultation", d.occurred_on.between(first, last)
    )
    placed = exists().where(d.person_id == p.id, d.kind == "placement", d.occurred_on >= first)
    employed = exists().where(
        a.person_id == p.id, a.status == "employed", a.updated_at >= cast(first, Date)
    )
    reachable = or_(
        p.email.is_not(None),
        p.phone.is_not(None),
        and_(p.postal_code.is_not(None), p.address.is_not(None)),
    )
    return (
        select(p.id, p.email, p.phone, p.postal_code, p.address, p.contact_by)
        .where(
            p.withdrawn_at.is_(None),
            p.consent_privacy,
            or_(attended, consulted),
            ~placed,
            ~employed,
            reachable,
        )
        .order_by(p.id)
    )


def _pairs(ids: list[int], texts: list[str], id_name: str, text_name: str) -> TableValuedAlias:
    """unnest(CAST(ids AS bigint[]), CAST(texts AS text[])) AS (id_name, text_name): two
    parallel arrays as rows, in order."""
    return func.unnest(cast(ids, ARRAY(BigInteger)), cast(texts, ARRAY(Text))).table_valued(
        column(id_name, BigInteger), column(text_name, Text)
    )


def _target_lines(campaign_id: int) -> Select[*tuple[Any, ...]]:
    t, p, a = FollowUpTarget, Person, FollowUpAnswer
    answered = exists().where(a.campaign_id == t.campaign_id, a.person_id == t.person_id)
    return (
        select(
            t.id,
            t.person_id,
            t.channel,
            t.status,
            p.name,
            p.name_kana,
            p.phone,
            p.postal_code,
            p.address,
            t.short_code,
            answered.label("answered"),
        )
        .join(p, p.id == t.person_id)
        .where(t.campaign_id == campaign_id, p.withdrawn_at.is_(None))
    )


class FollowUpRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def add_campaign(self, campaign: FollowUpCampaign) -> FollowUpCampaign:
        self.db.add(campaign)
        await self.db.flush()
        await self.db.refresh(campaign)
        return campaign

    async def campaign(self, campaign_id: int, *, lock: bool = False) -> FollowUpCampaign | None:
        stmt = select(FollowUpCampaign).where(FollowUpCampaign.id == campaign_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.db.scalars(stmt)).one_or_none()

    async def campaigns(self, limit: int) -> list[FollowUpCampaign]:
        rows = await self.db.scalars(
            select(FollowUpCampaign).order_by(FollowUpCampaign.id.desc()).limit(limit)
        )
        return list(rows.all())

    async def refresh(self, campaign: FollowUpCampaign) -> None:
        await self.db.flush()
        await self.db.refresh(campaign)

    async def candidates(self, first: date, last: date) -> list[Candidate]:
        rows = await self.db.execute(_selection(first, last))
        return [
            Candidate(r.id, r.email, r.phone, r.postal_code, r.address, tuple(r.contact_by or ()))
            for r in rows.all()
        ]

    async def add_targets(self, campaign_id: int, people: list[int], channels: list[str]) -> None:
        chosen = _pairs(people, channels, "person_id", "channel").render_derived(name="t")
        await self.db.execute(
            insert(FollowUpTarget)
            .from_select(
                ["campaign_id", "person_id", "channel"],
                select(literal(campaign_id, BigInteger), chosen.c.person_id, chosen.c.channel),
                # status and attempts from the table's server defaults, as before (not the
                # model's Python defaults sent again as values).
                include_defaults=False,
            )
            .on_conflict_do_nothing(
                index_elements=[FollowUpTarget.campaign_id, FollowUpTarget.person_id]
            )
        )

    async def counts(self, campaign_id: int) -> list[Any]:
        t, a = FollowUpTarget, FollowUpAnswer
        rows = await self.db.execute(
            select(
                t.channel,
                func.count().label("targets"),
                func.count().filter(t.status == "sent").label("sent"),
                func.count(a.id).label("answered"),
            )
            .select_from(t)
            .outerjoin(a, and_(a.campaign_id == t.campaign_id, a.person_id == t.person_id))
            .where(t.campaign_id == campaign_id)
            .group_by(t.channel)
        )
        return list(rows.all())

    async def answers(self, campaign_id: int) -> list[AnswerView]:
        a, p, t = FollowUpAnswer, Person, FollowUpTarget
        rows = await self.db.execute(
            select(
                a.id,
                a.person_id,
                p.name,
                a.status,
                a.employer,
                a.started_on,
                a.employment_type,
                a.sector,
                a.comment,
                a.via,
                t.channel,
                a.placement_record_id,
                a.updated_at,
            )
            .select_from(a)
            .outerjoin(p, p.id == a.person_id)
            .outerjoin(t, and_(t.campaign_id == a.campaign_id, t.person_id == a.person_id))
            .where(a.campaign_id == campaign_id)
            .order_by(a.updated_at.desc(), a.id.desc())
        )
        return [AnswerView(**dict(r._mapping)) for r in rows.all()]

    async def targets(self, campaign_id: int, channel: str) -> list[TargetLine]:
        """A channel's targets; post ones sorted by postal code (as labels are stuck)."""
        first = Person.postal_code if channel == "post" else Person.kana_key
        rows = await self.db.execute(
            _target_lines(campaign_id)
            .where(FollowUpTarget.channel == channel)
            .order_by(first, FollowUpTarget.id)
        )
        return [TargetLine(**dict(r._mapping)) for r in rows.all()]

    async def mark_channel_sent(self, campaign_id: int, channel: str) -> int:
        t = FollowUpTarget
        result = await self.db.execute(
            update(t)
            .where(t.campaign_id == campaign_id, t.channel == channel, t.status == "pending")
            .values(status="sent", sent_at=func.now())
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # mail, in batches

    async def drop_unmailable(self, campaign_id: int) -> None:
        """Targets whose person withdrew or lost their address since: never mailed."""
        t, p = FollowUpTarget, Person
        await self.db.execute(
            update(t)
            .where(
                t.campaign_id == campaign_id,
                t.channel == _MAIL,
                t.status.in_(_DUE),
                p.id == t.person_id,
                or_(p.email.is_(None), p.withdrawn_at.is_not(None)),
            )
            .values(status="failed", leased_until=None, last_error="no address")
            .execution_options(synchronize_session=False)
        )

    async def lease_mail(self, campaign_id: int, limit: int, seconds: int) -> list[MailLease]:
        """Up to limit due mail targets, leased for seconds (a worker that dies leaves them to
        the next after that); one statement for the whole batch."""
        t, p, c = FollowUpTarget, Person, FollowUpCampaign
        due = (
            select(t.id)
            .where(
                t.campaign_id == campaign_id,
                t.channel == _MAIL,
                or_(t.status == _PENDING, and_(t.status == _LEASED, t.leased_until < func.now())),
            )
            .order_by(t.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due")
        )
        rows = await self.db.execute(
            update(t)
            .where(t.id == due.c.id, p.id == t.person_id, c.id == t.campaign_id)
            .values(
                status="leased",
                attempts=t.attempts + 1,
                leased_until=func.now() + timedelta(seconds=seconds),
            )
            .returning(t.id, p.email, p.name, c.sent_at)
            .execution_options(synchronize_session=False)
        )
        return [MailLease(r.id, r.email, r.name, r.sent_at) for r in rows.all()]

    async def mark_mailed(self, ids: list[int]) -> None:
        t = FollowUpTarget
        await self.db.execute(
            update(t)
            .where(t.id.in_(ids), t.status == "leased")
            .values(status="sent", sent_at=func.now(), leased_until=None, last_error=None)
            .execution_options(synchronize_session=False)
        )

    async def mark_unsent(self, ids: list[int], errors: list[str], max_attempts: int) -> None:
        """Back to pending for another try, or failed after max_attempts."""
        t = FollowUpTarget
        e = _pairs(ids, errors, "id", "error").render_derived(name="e")
        await self.db.execute(
            update(t)
            .where(t.id == e.c.id, t.status == "leased")
            .values(
                leased_until=None,
                last_error=e.c.error,
                status=case((t.attempts >= max_attempts, "failed"), else_="pending"),
            )
            .execution_options(synchronize_session=False)
        )

    async def mail_left(self, campaign_id: int) -> int:
        t = FollowUpTarget
        found = await self.db.scalar(
            select(func.count())
            .select_from(t)
            .where(t.campaign_id == campaign_id, t.channel == _MAIL, t.status.in_(_DUE))
        )
        return int(found or 0)

    # the form and answers

    async def form_target(
        self, *, target_id: int | None = None, short_code: str | None = None
    ) -> Any:
        t, c, p = FollowUpTarget, FollowUpCampaign, Person
        which = t.id == target_id if target_id is not None else t.short_code == short_code
        row = (
            await self.db.execute(
                select(
                    t.id.label("target_id"),
                    t.campaign_id,
                    t.person_id,
                    c.title,
                    c.status,
                    c.closes_at,
                    p.name,
                    p.age_band,
                    p.withdrawn_at,
                )
                .join(c, c.id == t.campaign_id)
                .join(p, p.id == t.person_id)
                .where(which)
            )
        ).one_or_none()
        return row

    async def person_in_campaign(self, campaign_id: int, person_id: int) -> Any:
        p = Person
        return (
            await self.db.execute(
                select(p.id.label("person_id"), p.name, p.age_band, p.withdrawn_at).where(
                    p.id == person_id
                )
            )
        ).one_or_none()

    async def answer(
        self, campaign_id: int, person_id: int, *, lock: bool = False
    ) -> FollowUpAnswer | None:
        stmt = select(FollowUpAnswer).where(
            FollowUpAnswer.campaign_id == campaign_id, FollowUpAnswer.person_id == person_id
        )
        if lock:
            stmt = stmt.with_for_update()
        return (await self.db.scalars(stmt)).one_or_none()

    async def add_answer(self, answer: FollowUpAnswer) -> FollowUpAnswer:
        self.db.add(answer)
        await self.db.flush()
        return answer

    async def flush(self) -> None:
        await self.db.flush()

    async def touch_person(self, person_id: int, at: datetime) -> None:
        await self.db.execute(
            update(Person)
            .where(Person.id == person_id)
            # Activity is no edit of the person: updated_at (onupdate) stays as it was.
            .values(last_active_at=at, updated_at=Person.updated_at)
            .execution_options(synchronize_session=False)
        )
