"""Staff API: follow-up campaigns (アフターフォロー・就業状況調査): choose who, see the counts by
channel, send (mail by the workers; letters and labels as PDF; a call list), and enter the
answers that come back on paper or by phone (organizers and admins)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED

from service.domain.errors import InvalidInput
from service.domain.followups import letters
from service.domain.followups import service as followups
from service.domain.followups.schemas import AnswerView, CampaignView, TargetLine
from service.edge.dependencies import DB, AppSettings
from service.edge.staff_auth import Staff

ORGANIZER = {"staff_role": "organizer"}
PerSheet = Annotated[int, QueryParameter(description="12 or 24 labels a sheet")]


class CampaignIn(msgspec.Struct, forbid_unknown_fields=True):
    title: str
    attended_from: str
    attended_to: str


class AnswerIn(msgspec.Struct, forbid_unknown_fields=True):
    person_id: int
    status: str
    via: str
    employer: str | None = None
    started_on: str | None = None
    employment_type: str | None = None
    sector: str | None = None
    comment: str = ""


class CountsOut(msgspec.Struct):
    mail: int
    post: int
    phone: int
    total: int


class RateOut(msgspec.Struct):
    channel: str
    targets: int
    answered: int
    rate: float | None


class CampaignOut(msgspec.Struct):
    id: int
    title: str
    attended_from: date
    attended_to: date
    status: str
    sent_at: datetime | None
    closes_at: datetime | None
    counts: CountsOut
    sent: CountsOut
    response_rates: list[RateOut]
    placements: int
    answers: list[AnswerView]


class AnswerSaved(msgspec.Struct):
    id: int
    person_id: int | None
    status: str
    placement_record_id: int | None


def _counts(c: Any) -> CountsOut:
    return CountsOut(c.mail, c.post, c.phone, c.total)


def campaign_out(v: CampaignView) -> CampaignOut:
    return CampaignOut(
        id=v.id,
        title=v.title,
        attended_from=v.attended_from,
        attended_to=v.attended_to,
        status=v.status,
        sent_at=v.sent_at,
        closes_at=v.closes_at,
        counts=_counts(v.counts),
        sent=_counts(v.sent),
        response_rates=[RateOut(r.channel, r.reached, r.answered, r.rate) for r in v.rates],
        placements=v.placements,
        answers=list(v.answers),
    )


def _pdf(body: bytes, filename: str) -> Response[bytes]:
    return Response(
        body,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


class ManageFollowUpsController(Controller):
    path = "/follow-ups"
    tags = ["staff: follow-up"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="A follow-up campaign: who (attended or consulted), counts by channel",
        description="People not withdrawn, with consent, not yet known to be working, reached "
        "by their first usable contact preference (mail, post, phone). Nothing is sent yet.",
        opt=ORGANIZER,
    )
    async def create(self, db: DB, staff: Staff, data: JSONBody[CampaignIn]) -> CampaignOut:
        return campaign_out(await followups.create(db, staff, msgspec.to_builtins(data)))

    @get("/", summary="Campaigns, newest first", opt=ORGANIZER)
    async def list_campaigns(self, db: DB, staff: Staff) -> list[CampaignOut]:
        return [campaign_out(v) for v in await followups.list_campaigns(db, staff)]

    @get(
        "/{campaign_id:int}",
        summary="A campaign: counts and response rates by channel, answers, placements",
        opt=ORGANIZER,
    )
    async def show(self, db: DB, staff: Staff, campaign_id: FromPath[int]) -> CampaignOut:
        return campaign_out(await followups.show(db, staff, campaign_id))

    @post(
        "/{campaign_id:int}/send",
        status_code=HTTP_202_ACCEPTED,
        summary="Send: the mails go out from the workers in batches; letters and calls follow",
        opt=ORGANIZER,
    )
    async def send(self, db: DB, staff: Staff, campaign_id: FromPath[int]) -> CampaignOut:
        return campaign_out(await followups.send(db, staff, campaign_id))

    @post("/{campaign_id:int}/close", status_code=HTTP_200_OK, summary="Close", opt=ORGANIZER)
    async def close(self, db: DB, staff: Staff, campaign_id: FromPath[int]) -> CampaignOut:
        return campaign_out(await followups.close(db, staff, campaign_id))

    @get(
        "/{campaign_id:int}/letters.pdf",
        summary="A4 letters for the people reached by post (QR code and short URL)",
        media_type="application/pdf",
        opt=ORGANIZER,
    )
    async def letters_pdf(
        self, db: DB, staff: Staff, settings: AppSettings, campaign_id: FromPath[int]
    ) -> Response[bytes]:
        view, people = await followups.targets(db, staff, campaign_id, "post")
        body = await asyncio.to_thread(letters.letters_pdf, settings, view, people)
        return _pdf(body, f"follow-up-{campaign_id}-letters.pdf")

    @get(
        "/{campaign_id:int}/labels.pdf",
        summary="A4 sheets of address labels (12 or 24 a sheet), sorted by postal code",
        media_type="application/pdf",
        opt=ORGANIZER,
    )
    async def labels_pdf(
        self,
        db: DB,
        staff: Staff,
        settings: AppSettings,
        campaign_id: FromPath[int],
        per_sheet: PerSheet = 12,
    ) -> Response[bytes]:
        if per_sheet not in letters.LABEL_SHEETS:
            raise InvalidInput(fields={"per_sheet": "12 か 24 を指定してください。"})
        _view, people = await followups.targets(db, staff, campaign_id, "post")
        body = await asyncio.to_thread(letters.labels_pdf, settings, people, per_sheet)
        return _pdf(body, f"follow-up-{campaign_id}-labels-{per_sheet}.pdf")

    @get(
        "/{campaign_id:int}/calls",
        summary="The call list: people reached by phone, with whether they answered",
        opt=ORGANIZER,
    )
    async def calls(self, db: DB, staff: Staff, campaign_id: FromPath[int]) -> list[TargetLine]:
        _view, people = await followups.targets(db, staff, campaign_id, "phone")
        return people

    @post(
        "/{campaign_id:int}/answers",
        status_code=HTTP_201_CREATED,
        summary="An answer that came back on paper or by phone (one per person; changes it)",
        opt=ORGANIZER,
    )
    async def answer(
        self, db: DB, staff: Staff, campaign_id: FromPath[int], data: JSONBody[AnswerIn]
    ) -> AnswerSaved:
        saved = await followups.answer_for(db, staff, campaign_id, msgspec.to_builtins(data))
        return AnswerSaved(saved.id, saved.person_id, saved.status, saved.placement_record_id)
