"""The satisfaction survey: the day after an attended consultation or seminar, attendees with
an address get a link to a one-question page (5 levels, an optional comment, no login). The
link carries the booking and its expiry, signed with SECRET_KEY (nothing stored); it works for
30 days after the session and takes one answer per booking."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.errors import Conflict, InvalidInput, NotFound
from service.domain.events.admin_schemas import FieldReader
from service.domain.indicators.models import SurveyAnswer
from service.domain.indicators.repository import IndicatorRepository
from service.domain.indicators.schemas import COMMENT_MAX
from service.platform.local_time import TOKYO
from service.platform.settings import Settings

VALID_DAYS = 30
SURVEYED_KINDS = ("consultation", "seminar")
SCORES = {
    "5": "とても満足",
    "4": "満足",
    "3": "ふつう",
    "2": "やや不満",
    "1": "不満",
}
# A booking's id, or d and a desk consultation record's id; the last day; the MAC.
_TOKEN = re.compile(r"^(d?[1-9][0-9]{0,17})-([0-9]{8})-([A-Za-z0-9_-]{22})$")
DESK_TITLE = "相談窓口でのご相談"


def _mac(settings: Settings, value: str) -> str:
    digest = hmac.new(
        settings.secret_key.encode(), f"survey:{value}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def expires_on(session_ends_at: datetime) -> date:
    """The last Tokyo day the link works: 30 days after the session's day."""
    return session_ends_at.astimezone(TOKYO).date() + timedelta(days=VALID_DAYS)


def survey_token(settings: Settings, booking_id: int, session_ends_at: datetime) -> str:
    value = f"{booking_id}-{expires_on(session_ends_at):%Y%m%d}"
    return f"{value}-{_mac(settings, value)}"


def survey_path(settings: Settings, booking_id: int, session_ends_at: datetime) -> str:
    return f"/survey/{survey_token(settings, booking_id, session_ends_at)}"


def desk_survey_path(settings: Settings, record_id: int, occurred_on: date) -> str:
    """The same survey for a consultation at the desk (a record with consent): the link staff
    mail or open on the desk's tablet."""
    value = f"d{record_id}-{occurred_on + timedelta(days=VALID_DAYS):%Y%m%d}"
    return f"/survey/{value}-{_mac(settings, value)}"


@dataclass(frozen=True, slots=True)
class SurveyTarget:
    booking_id: int | None
    event_title: str
    starts_at: datetime
    answered: bool
    desk_record_id: int | None = None


def _read_token(settings: Settings, token: str, now: datetime) -> str:
    match = _TOKEN.match(token)
    if match is None or not hmac.compare_digest(
        _mac(settings, f"{match[1]}-{match[2]}").encode(), match[3].encode()
    ):
        raise NotFound("アンケートのページが見つかりません。", code="survey_not_found")
    last = date(int(match[2][:4]), int(match[2][4:6]), int(match[2][6:]))
    if now.astimezone(TOKYO).date() > last:
        raise Conflict(
            "このアンケートの回答期限（開催から30日）を過ぎました。ご協力ありがとうございました。",
            code="survey_expired",
        )
    return match[1]


async def survey_target(
    db: AsyncSession, settings: Settings, token: str, now: datetime | None = None
) -> SurveyTarget:
    subject = _read_token(settings, token, now or clock.now())
    repo = IndicatorRepository(db)
    if subject.startswith("d"):
        desk = await repo.survey_desk_record(int(subject[1:]))
        if desk is None:
            raise NotFound("アンケートのページが見つかりません。", code="survey_not_found")
        day, answered = desk
        return SurveyTarget(None, DESK_TITLE, tokyo_noon(day), answered, int(subject[1:]))
    found = await repo.survey_booking(int(subject))
    if found is None:
        raise NotFound("アンケートのページが見つかりません。", code="survey_not_found")
    title, starts_at, answered = found
    return SurveyTarget(int(subject), title, starts_at, answered)


def tokyo_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=TOKYO)


async def answer_survey(
    db: AsyncSession,
    settings: Settings,
    token: str,
    data: Mapping[str, object],
    now: datetime | None = None,
) -> SurveyTarget:
    target = await survey_target(db, settings, token, now)
    if target.answered:
        raise Conflict("このアンケートには、すでにお答えいただいています。", code="survey_answered")
    f = FieldReader(data)
    score = f.choice("score", "満足度", SCORES)
    comment = f.text("comment", "ご意見・ご感想", max_len=COMMENT_MAX, multiline=True)
    if f.errors:
        raise InvalidInput(fields=f.errors)
    answer = SurveyAnswer(
        booking_id=target.booking_id,
        desk_record_id=target.desk_record_id,
        answered_on=target.starts_at.astimezone(TOKYO).date(),
        score=int(score),
        comment=comment,
        source="web",
        subject="desk" if target.desk_record_id is not None else "event",
        created_by_id=None,
    )
    if not await IndicatorRepository(db).add_survey_answer(answer):
        raise Conflict("このアンケートには、すでにお答えいただいています。", code="survey_answered")
    return target
