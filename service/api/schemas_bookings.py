"""Request and response bodies of the booking API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from service.domain.bookings.enums import AGE_BANDS, BOOKING_STATUSES, HEARD_FROM, PERSON_WARDS
from service.domain.bookings.schemas import BookingView
from service.domain.events.enums import EVENT_KINDS
from service.platform.local_time import TOKYO


def _choices(description: str, choices: dict[str, str]) -> str:
    return description + " One of: " + ", ".join(f"`{k}` ({v})" for k, v in choices.items())


# Every field is a plain string, checked and normalised by the booking core
# (validate_booking_input), so that each bad field gets its own Japanese message.
class CompanionIn(msgspec.Struct):
    name: Annotated[str | None, Meta(description="同伴者のお名前.", examples=["静岡 花子"])] = None
    name_kana: Annotated[
        str | None, Meta(description="同伴者のふりがな.", examples=["しずおか はなこ"])
    ] = None


class MatchingIn(msgspec.Struct):
    profile: Annotated[
        str | None,
        Meta(
            description="経歴・得意分野・希望 (required on a matching day, up to 1000 characters)."
        ),
    ] = None
    consent: Annotated[
        bool | None,
        Meta(
            description="true: the day's companies may read the name, age band and profile "
            "(never phone, e-mail or address before a match). Required on a matching day."
        ),
    ] = None


class BookingRequest(msgspec.Struct):
    name: Annotated[
        str | None,
        Meta(description="お名前 (required, up to 50 characters).", examples=["静岡 太郎"]),
    ] = None
    name_kana: Annotated[
        str | None,
        Meta(
            description="ふりがな: hiragana or katakana, full or half width (required). "
            "Stored as full-width katakana.",
            examples=["しずおか たろう"],
        ),
    ] = None
    phone: Annotated[
        str | None,
        Meta(
            description="Phone number, fixed line or mobile, with or without hyphens, full-width "
            "digits accepted (required). Needed again to look up or cancel the booking.",
            examples=["090-1234-5678", "０５４－２５４－２７７０"],
        ),
    ] = None
    email: Annotated[
        str | None, Meta(description="E-mail address (optional).", examples=["taro@example.jp"])
    ] = None
    age_band: Annotated[str | None, Meta(description=_choices("年代 (optional).", AGE_BANDS))] = (
        None
    )
    ward: Annotated[
        str | None, Meta(description=_choices("お住まいの区 (optional).", PERSON_WARDS))
    ] = None
    heard_from: Annotated[
        str | None, Meta(description=_choices("How they heard of it (optional).", HEARD_FROM))
    ] = None
    companions: Annotated[
        list[CompanionIn] | None,
        Meta(
            description="同伴者 (optional): people coming with the booker, each with name and "
            "name_kana, up to the event's limit (`max_companions`, usually 1; 0: none). The "
            "whole party gets seats together or joins the waiting list together, never split. "
            "A bad field is named `companions.<index>.<field>` (index from 0).",
        ),
    ] = None
    needs: Annotated[
        str | None,
        Meta(
            description="配慮事項 (optional, up to 200 characters): what the person needs at the "
            "door, shown to staff only.",
            examples=["車いすで参加します"],
        ),
    ] = None
    matching: Annotated[
        MatchingIn | None,
        Meta(
            description="On a matching day (お仕事面談会, 新現役交流会) both fields are required; "
            "refused on other days. Errors name `matching.profile`, `matching.consent`."
        ),
    ] = None


class CancelRequest(msgspec.Struct):
    phone: Annotated[
        str | None, Meta(description="The phone number the booking was made with.")
    ] = None
    reason: Annotated[
        str | None, Meta(description="Why (optional, up to 200 characters).", examples=["体調不良"])
    ] = None


class CompanionOut(msgspec.Struct):
    position: Annotated[int, Meta(description="1, 2, ...: used to cancel this companion.")]
    cancelled: bool


class EventBrief(msgspec.Struct):
    id: int
    title: str
    kind: str
    kind_label: str


class SessionBrief(msgspec.Struct):
    id: int
    starts_at: Annotated[datetime, Meta(description="Asia/Tokyo time with its offset.")]
    ends_at: datetime
    venue_name: str
    venue_address: str
    ward: str
    status: Annotated[str, Meta(description="`scheduled` or `cancelled`.")]


class BookingOut(msgspec.Struct):
    code: Annotated[
        str,
        Meta(
            description="The booking code in display form. Accepted back in any form (lower "
            "case, without the hyphen, full width).",
            examples=["4821-0937-5516"],
        ),
    ]
    status: Annotated[str, Meta(description="`confirmed`, `waitlisted` or `cancelled`.")]
    status_label: str
    waitlist_position: Annotated[
        int | None, Meta(description="1 is next in line; only while waitlisted.")
    ]
    message: Annotated[str, Meta(description="A plain Japanese summary to show the person.")]
    created_at: datetime
    confirmed_at: datetime | None
    waitlisted_at: datetime | None
    cancelled_at: datetime | None
    session: SessionBrief
    event: EventBrief
    party_size: Annotated[
        int, Meta(description="People in the party (the booker and live companions): seats held.")
    ] = 1
    companions: list[CompanionOut] = msgspec.field(default_factory=list)


def _tokyo(value: datetime | None) -> datetime | None:
    return value.astimezone(TOKYO) if value is not None else None


def _message(view: BookingView, just_now: bool) -> str:
    code = view.display_code
    people = f"（{view.party_size}名）" if view.party_size > 1 else ""
    if view.status == "confirmed":
        if just_now:
            return f"ご予約{people}が確定しました。予約番号は {code} です。"
        return f"ご予約{people}は確定しています（予約番号 {code}）。"
    if view.status == "waitlisted":
        if just_now:
            return (
                f"満席のため、キャンセル待ち（{view.waitlist_position}番目）で受け付けました。"
                f"予約番号は {code} です。お席が空きしだいお知らせします。"
            )
        return (
            f"キャンセル待ちの{view.waitlist_position}番目です（予約番号 {code}）。"
            "お席が空きしだいお知らせします。"
        )
    if just_now:
        return f"予約番号 {code} のご予約を取り消しました。"
    return f"予約番号 {code} のご予約は取り消されています。"


def booking_out(view: BookingView, *, just_now: bool = False) -> BookingOut:
    """Only what the booker may see again: no name, phone or e-mail address. `just_now`: the
    booking or cancellation happened in this request (the message says so)."""
    s = view.session
    return BookingOut(
        code=view.display_code,
        status=view.status,
        status_label=BOOKING_STATUSES.get(view.status, view.status),
        waitlist_position=view.waitlist_position if view.status == "waitlisted" else None,
        message=_message(view, just_now),
        created_at=view.created_at.astimezone(TOKYO),
        confirmed_at=_tokyo(view.confirmed_at),
        waitlisted_at=_tokyo(view.waitlisted_at),
        cancelled_at=_tokyo(view.cancelled_at),
        session=SessionBrief(
            id=s.id,
            starts_at=s.starts_at.astimezone(TOKYO),
            ends_at=s.ends_at.astimezone(TOKYO),
            venue_name=s.venue_name,
            venue_address=s.venue_address,
            ward=s.ward,
            status=s.status,
        ),
        event=EventBrief(
            id=s.event_id,
            title=s.event_title,
            kind=s.event_kind,
            kind_label=EVENT_KINDS.get(s.event_kind, s.event_kind),
        ),
        party_size=view.party_size,
        companions=[
            CompanionOut(position=c.position, cancelled=c.cancelled_at is not None)
            for c in view.companions
        ],
    )
