"""The console's people pages (organizers and admins): search, the desk's registration form
(tablet), the person page with history and probable duplicates, merging, changes and
withdrawal (each destructive step asks once more)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from service.domain import clock
from service.domain.bookings.normalize import format_code, format_phone
from service.domain.errors import DomainError, InvalidInput
from service.domain.matching.enums import OUTCOMES
from service.domain.notifications.call_scripts import CALL_KINDS
from service.domain.notifications.history import MAIL_KINDS, MAIL_STATUSES
from service.domain.people import merge as merging
from service.domain.people import service as people
from service.domain.people.enums import CONTACT_METHODS, INTERESTS, REGISTERED_VIA
from service.domain.people.validation import FIELDS, check_person, format_postal_code
from service.edge.dependencies import DB
from service.edge.staff_auth import Staff
from service.web.form_errors import rerender
from service.web.manage_common import done_message, form_fields, form_lists, page, see_other

ORGANIZER = {"staff_role": "organizer"}
Query = Annotated[str | None, QueryParameter(max_length=100, required=False)]

HISTORY_KINDS = {
    "booking": "予約",
    "consultation": "相談",
    "placement": "就職（雇用・就業）",
    "follow_up_answer": "就業状況調査の回答",
    "follow_up_mail": "就業状況調査（メール）",
    "follow_up_post": "就業状況調査（郵便）",
    "follow_up_phone": "就業状況調査（電話）",
    "mail": "メール",
    "call": "電話連絡",
    "matching_meeting": "面談会の面談",
}
# The history's detail codes (status[:attendance] or status[:employer]) in words.
DETAIL_WORDS = {
    "confirmed": "予約確定",
    "waitlisted": "キャンセル待ち",
    "cancelled": "取消",
    "attended": "出席",
    "no_show": "無断欠席",
    "employed": "就職した",
    "seeking": "就職活動中",
    "not_working": "就業していない",
    "no_answer": "回答しない",
    "pending": "未送付",
    "leased": "送信中",
    "sent": "送付済み",
    "failed": "送れず",
    "open": "未連絡",
    "done": "連絡済",
    "declined": "辞退",
    "superseded": "後の変更とまとめて連絡",
    # A matching day's meeting: its outcome, and a hire recorded after a match.
    **OUTCOMES,
    "no_outcome": "結果未記録",
    "hired": "採用",
}


def history_detail(detail: str, kind: str = "") -> str:
    """A history row's detail in words; a mail's is its delivery state, in the words of the
    mail history (it showed 'skipped' as typed)."""
    words = MAIL_STATUSES if kind == "mail" else DETAIL_WORDS
    return "・".join(words.get(part, part) for part in detail.split(":") if part)


VOCABS: dict[str, Any] = {
    "history_detail": history_detail,
    "CONTACT_METHODS": CONTACT_METHODS,
    "INTERESTS": INTERESTS,
    "REGISTERED_VIA": REGISTERED_VIA,
    "HISTORY_KINDS": HISTORY_KINDS,
    # A mail's or a call's notice kind, in words (the history's title for those rows).
    "NOTICE_KINDS": {**CALL_KINDS, **MAIL_KINDS},
    "format_phone": format_phone,
    "format_code": format_code,
    "format_postal_code": format_postal_code,
}


async def _form_values(request: Request[Any, Any, Any]) -> dict[str, object]:
    fields: dict[str, object] = dict(await form_fields(request))
    # Contact preference in order: first, second, third choice (selects), blanks dropped.
    order = [fields.pop(f"contact_{i}", "") for i in (1, 2, 3)]
    fields["contact_by"] = [c for c in order if isinstance(c, str) and c]
    fields["interests"] = await form_lists(request, "interests")
    return fields


def _form_page(
    staff: Staff,
    values: dict[str, object],
    errors: dict[str, str],
    *,
    error: str | None = None,
    status_code: int = 200,
    person_id: int | None = None,
) -> Template:
    contact = values.get("contact_by") or []
    assert isinstance(contact, list)
    shown = dict(values)
    for i, method in enumerate(contact[:3], start=1):
        shown[f"contact_{i}"] = method
    return page(
        "manage/person_form.html",
        staff,
        status_code=status_code,
        values=shown,
        errors=errors,
        error=error,
        person_id=person_id,
        **VOCABS,
    )


class ManagePeoplePages(Controller):
    path = "/people"
    include_in_schema = False

    @get("/", opt=ORGANIZER)
    async def search(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, q: Query = None
    ) -> Template:
        found = await people.search(db, staff, q or "")
        return page(
            "manage/people.html",
            staff,
            flash=done_message(request),
            people=found,
            q=q or "",
            **VOCABS,
        )

    @get("/new", opt=ORGANIZER)
    async def new(self, staff: Staff) -> Template:
        people.require_people_access(staff)
        return _form_page(staff, {"via": "desk", "contact_by": []}, {})

    @post("/", opt=ORGANIZER, status_code=303)
    async def create(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff
    ) -> Template | Redirect:
        people.require_people_access(staff)
        values = await _form_values(request)
        via = values.get("via") if values.get("via") in ("desk", "phone") else "desk"
        try:
            person = await people.create(
                db,
                check_person(values),
                via=str(via),
                consent_privacy=values.get("consent_privacy") == "yes",
                consent_news=values.get("consent_news") == "yes",
                actor=staff,
            )
        except DomainError as exc:
            return await rerender(
                db,
                exc,
                lambda r: _form_page(staff, values, r.fields, error=r.message),
            )
        return see_other(f"/manage/people/{person.id}", done="person_registered")

    @get("/{person_id:int}", opt=ORGANIZER)
    async def show(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, person_id: FromPath[int]
    ) -> Template:
        detail = await people.detail(db, staff, person_id)
        return page(
            "manage/person.html",
            staff,
            flash=done_message(request),
            d=detail,
            p=detail.person,
            now=clock.now(),
            **VOCABS,
        )

    @get("/{person_id:int}/merge", opt=ORGANIZER)
    async def merge_question(
        self, db: DB, staff: Staff, person_id: FromPath[int], duplicate_id: FromQuery[int]
    ) -> Template:
        kept = await people.detail(db, staff, person_id)
        dup = await people.detail(db, staff, duplicate_id)
        return page("manage/person_merge.html", staff, kept=kept, dup=dup, **VOCABS)

    @post("/{person_id:int}/merge", opt=ORGANIZER, status_code=303)
    async def merge(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, person_id: FromPath[int]
    ) -> Template | Redirect:
        raw = (await form_fields(request)).get("duplicate_id", "")
        if not raw.isdigit():
            raise InvalidInput(fields={"duplicate_id": "統合する登録者を選んでください。"})
        try:
            await merging.merge(db, staff, person_id, int(raw))
        except DomainError as exc:

            async def again(r: Any) -> Template:
                detail = await people.detail(db, staff, person_id)
                return page(
                    "manage/person.html",
                    staff,
                    d=detail,
                    p=detail.person,
                    now=clock.now(),
                    error=r.message,
                    **VOCABS,
                )

            return await rerender(db, exc, again)
        return see_other(f"/manage/people/{person_id}", done="person_merged")

    @get("/{person_id:int}/withdraw", opt=ORGANIZER)
    async def withdraw_question(self, db: DB, staff: Staff, person_id: FromPath[int]) -> Template:
        detail = await people.detail(db, staff, person_id)
        return page("manage/person_withdraw.html", staff, p=detail.person, **VOCABS)

    @post("/{person_id:int}/withdraw", opt=ORGANIZER, status_code=303)
    async def withdraw(self, db: DB, staff: Staff, person_id: FromPath[int]) -> Redirect:
        people.require_people_access(staff)
        await people.withdraw(db, person_id, actor=staff)
        return see_other(f"/manage/people/{person_id}", done="person_withdrawn")

    @get("/{person_id:int}/edit", opt=ORGANIZER)
    async def edit(self, db: DB, staff: Staff, person_id: FromPath[int]) -> Template:
        people.require_people_access(staff)
        p = await people.get(db, person_id)
        values: dict[str, object] = {
            "name": p.name,
            "name_kana": p.name_kana,
            "phone": p.phone or "",
            "phone_alt": p.phone_alt or "",
            "email": p.email or "",
            "postal_code": format_postal_code(p.postal_code),
            "address": p.address or "",
            "age_band": p.age_band or "",
            "birth_year": str(p.birth_year or ""),
            "ward": p.ward or "",
            "interests": list(p.interests),
            "contact_by": list(p.contact_by),
            "consent_news": "yes" if p.consent.news else "",
        }
        return _form_page(staff, values, {}, person_id=person_id)

    @post("/{person_id:int}/edit", opt=ORGANIZER, status_code=303)
    async def save(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, person_id: FromPath[int]
    ) -> Template | Redirect:
        people.require_people_access(staff)
        values = await _form_values(request)
        changes = {k: values.get(k) for k in FIELDS}
        try:
            await people.update(
                db,
                person_id,
                changes,
                actor=staff,
                consent_news=values.get("consent_news") == "yes",
            )
        except DomainError as exc:
            return await rerender(
                db,
                exc,
                lambda r: _form_page(staff, values, r.fields, error=r.message, person_id=person_id),
            )
        return see_other(f"/manage/people/{person_id}", done="person_saved")
