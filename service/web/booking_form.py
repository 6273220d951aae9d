"""The booking form's fields, how a person reads them back, and the form, unavailable and
confirmation pages' shared parts (the steps themselves: service.web.booking_pages)."""

from __future__ import annotations

from dataclasses import asdict

from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.enums import AGE_BANDS, HEARD_FROM, PERSON_WARDS
from service.domain.bookings.errors import session_not_found
from service.domain.bookings.normalize import format_phone
from service.domain.bookings.schemas import (
    COMPANIONS_MAX,
    NEEDS_EXAMPLES,
    ValidBooking,
    validate_booking_input,
)
from service.domain.errors import InvalidInput
from service.domain.events import service as events
from service.domain.events.schemas import EventView, SessionView
from service.domain.matching.schemas import validate_profile
from service.web.party_form import companion_rows, companions_from_form
from service.web.public_common import private_page

# The order of the error summary is the order of the form.
FIELD_LABELS = {
    "name": "お名前",
    "name_kana": "ふりがな",
    "phone": "電話番号",
    "email": "メールアドレス",
    "age_band": "年代",
    "ward": "お住まいの区",
    "heard_from": "このイベントを知ったきっかけ",
    **{
        f"companions.{i}.{key}": f"同伴者{i + 1}の{label}"
        for i in range(COMPANIONS_MAX)
        for key, label in (("name", "氏名"), ("name_kana", "ふりがな"))
    },
    "companions": "同伴者",
    "needs": "配慮事項",
    # A matching day (面談会・交流会): the profile the companies read, and the consent.
    "matching": "面談のためのプロフィール",
    "matching.profile": "経歴・得意分野・希望",
    "matching.consent": "プロフィールを参加企業に見せることへの同意",
}
BOOKING_FIELDS = tuple(k for k in FIELD_LABELS if k != "companions")
CHOICES = {"age_band": AGE_BANDS, "ward": PERSON_WARDS, "heard_from": HEARD_FROM}
EXPECT_SEAT, EXPECT_WAITLIST = "seat", "waitlist"
FORM_KEY_FIELD = "form_key"
FULL_CODES = ("session_full", "waitlist_full")


def base(event_id: int, session_id: int) -> str:
    return f"/events/{event_id}/sessions/{session_id}/book"


async def event_session(
    db: AsyncSession, event_id: int, session_id: int
) -> tuple[EventView, SessionView]:
    event = await events.get_event(db, event_id)
    for s in event.sessions:
        if s.id == session_id:
            return event, s
    raise session_not_found()


def expectation(s: SessionView) -> str:
    return EXPECT_SEAT if s.state == "open" else EXPECT_WAITLIST


def form_page(
    event: EventView,
    s: SessionView,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    *,
    message: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Template:
    errors = {k: v for k, v in (errors or {}).items() if k in FIELD_LABELS}
    ordered = [(name, errors[name]) for name in FIELD_LABELS if name in errors]
    return private_page(
        "book_form.html",
        status,
        event=event,
        s=s,
        values=values,
        errors=errors,
        error_list=ordered,
        message=message,
        notice=notice,
        labels=FIELD_LABELS,
        choices=CHOICES,
        companion_rows=companion_rows(event.max_companions),
        needs_examples=NEEDS_EXAMPLES,
        action=base(event.id, s.id) + "/confirm",
    )


def unavailable_page(event: EventView, s: SessionView, message: str | None = None) -> Template:
    return private_page("book_unavailable.html", 409, event=event, s=s, message=message)


def hidden(valid: ValidBooking) -> dict[str, str]:
    values = {k: v or "" for k, v in asdict(valid).items() if k != "companions"}
    for i, c in enumerate(valid.companions):
        values[f"companions.{i}.name"] = c.name
        values[f"companions.{i}.name_kana"] = c.name_kana
    return values


MATCHING_FLAG = "matching"
CONSENT_YES = "yes"


def raw(values: dict[str, str]) -> dict[str, object]:
    """The form's values as the booking input: the companion rows become one list, and on a
    matching day (the form's hidden flag) the profile and consent become "matching"."""
    out: dict[str, object] = {k: v for k, v in values.items() if not k.startswith("matching")}
    out["companions"] = companions_from_form(values)
    if values.get(MATCHING_FLAG) == "1":
        out["matching"] = {
            "profile": values.get("matching.profile", ""),
            "consent": values.get("matching.consent") == CONSENT_YES,
        }
    return out


def validate(values: dict[str, str]) -> ValidBooking:
    """Every bad field at once: the booking's and, on a matching day, the profile's."""
    fields: dict[str, str] = {}
    valid = None
    try:
        valid = validate_booking_input(raw(values))
    except InvalidInput as exc:
        fields.update(exc.fields)
    if values.get(MATCHING_FLAG) == "1":
        try:
            validate_profile(raw(values)["matching"])
        except InvalidInput as exc:
            fields.update(exc.fields)
    if fields or valid is None:
        raise InvalidInput(fields=fields)
    return valid


def matching_hidden(values: dict[str, str]) -> dict[str, str]:
    """The matching day's fields as the confirmation page carries them."""
    if values.get(MATCHING_FLAG) != "1":
        return {}
    return {
        MATCHING_FLAG: "1",
        "matching.profile": values.get("matching.profile", "").strip(),
        "matching.consent": CONSENT_YES if values.get("matching.consent") == CONSENT_YES else "",
    }


def shown(valid: ValidBooking, typed_kana: str) -> list[tuple[str, str]]:
    """(label, value) as a person reads them back on the confirmation page."""
    shown = [
        ("お名前", valid.name),
        ("ふりがな", typed_kana or valid.name_kana),
        ("電話番号", format_phone(valid.phone)),
        ("メールアドレス", valid.email or ""),
        ("年代", AGE_BANDS.get(valid.age_band or "", "")),
        ("お住まいの区", PERSON_WARDS.get(valid.ward or "", "")),
        ("このイベントを知ったきっかけ", HEARD_FROM.get(valid.heard_from or "", "")),
    ]
    for i, c in enumerate(valid.companions, 1):
        shown.append((f"同伴者{i}", f"{c.name}（{c.name_kana}）"))
    shown.append(("人数", f"{valid.party_size}名"))
    shown.append(("配慮事項", valid.needs or ""))
    return shown


def shown_matching(values: dict[str, str]) -> list[tuple[str, str]]:
    if values.get(MATCHING_FLAG) != "1":
        return []
    return [
        ("経歴・得意分野・希望", values.get("matching.profile", "")),
        ("参加企業への提供", "同意する" if values.get("matching.consent") == CONSENT_YES else ""),
    ]
