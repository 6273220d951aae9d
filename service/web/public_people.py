"""The person's own pages, without a login:

- 「登録」 (/register): a person registers themselves, with the privacy text shown and their
  consent recorded (its version and date);
- 「予約の確認」 (/my): a phone number of theirs and the code of any one of their bookings
  (rate limited, as the booking look-up) open every booking of theirs, upcoming first, each
  with its own cancel (asked once more);
- 「登録内容の変更・配信停止」 (/my/settings): with the same proof, how to reach them, whether
  they want news, and withdrawing consent (contact details removed at once).

Every POST answers 303 to a GET page; the opened person is a grant in Redis
(page_drafts.PERSON_GRANT, 15 minutes) named by an unguessable token in the address.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from redis.asyncio import Redis as RedisClient

from service.domain import clock
from service.domain.bookings import use_cases
from service.domain.bookings.normalize import format_code
from service.domain.errors import DomainError, InvalidInput
from service.domain.people import service as people
from service.domain.people.enums import AGE_BANDS, CONTACT_METHODS, INTERESTS, PERSON_WARDS
from service.domain.people.validation import check_person, format_postal_code
from service.domain.privacy import PRIVACY_VERSION
from service.edge.dependencies import DB, AppSettings, Redis
from service.web import page_drafts
from service.web.form_errors import refusal_of
from service.web.public_common import form_values, limit_client, private_page

Token = Annotated[str, QueryParameter(max_length=64)]
BookingRef = Annotated[int, QueryParameter(ge=0, le=2**63 - 1)]
Answer = Template | Redirect

REGISTER_FIELDS = (
    "name",
    "name_kana",
    "phone",
    "email",
    "postal_code",
    "address",
    "age_band",
    "ward",
    "contact_1",
    "contact_2",
    "contact_3",
    "consent_privacy",
    "consent_news",
)
REGISTER_LABELS = {
    "name": "お名前",
    "name_kana": "ふりがな",
    "phone": "電話番号",
    "email": "メールアドレス",
    "postal_code": "郵便番号",
    "address": "住所",
    "age_band": "年代",
    "ward": "お住まいの区",
    "interests": "関心のある分野",
    "contact_by": "連絡の方法",
    "consent_privacy": "個人情報の取り扱いへの同意",
}
LOOKUP_LABELS = {"phone": "電話番号", "code": "予約番号"}
SETTINGS_LABELS = {
    "email": "メールアドレス",
    "postal_code": "郵便番号",
    "address": "住所",
    "contact_by": "連絡の方法",
}
CHOICES = {
    "AGE_BANDS": AGE_BANDS,
    "PERSON_WARDS": PERSON_WARDS,
    "INTERESTS": INTERESTS,
    "CONTACT_METHODS": CONTACT_METHODS,
}
EXPIRED = (
    f"表示できる時間（{page_drafts.PERSON_GRANT.ttl_seconds // 60}分）が過ぎました。"
    "お手数ですが、もう一度、電話番号と予約番号を入力してください。"
)
NOT_FOUND = "ご予約が見つかりませんでした。電話番号と、予約番号（どれか1つ）をご確認ください。"


def _ordered(errors: dict[str, str], labels: dict[str, str]) -> list[tuple[str, str]]:
    return [(name, errors[name]) for name in labels if name in errors]


def _contact_order(values: dict[str, Any]) -> list[str]:
    order = [values.get(f"contact_{i}", "") for i in (1, 2, 3)]
    return [c for c in order if isinstance(c, str) and c]


async def _interests(request: Request[Any, Any, Any]) -> list[str]:
    form = await request.form()
    return [v[:40] for v in form.getall("interests", []) if isinstance(v, str)][:20]


def _register_page(
    values: dict[str, Any], errors: dict[str, str] | None = None, *, status: int = 200
) -> Template:
    errors = errors or {}
    return private_page(
        "register_form.html",
        status,
        values=values,
        errors=errors,
        error_list=_ordered(errors, REGISTER_LABELS),
        labels=REGISTER_LABELS,
        privacy_version=PRIVACY_VERSION,
        **CHOICES,
    )


async def _person_grant(redis: RedisClient, token: str) -> int | None:
    grant = await page_drafts.load(redis, page_drafts.PERSON_GRANT, token)
    person_id = grant.get("person_id") if grant else None
    return person_id if isinstance(person_id, int) else None


def _lookup_page(
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    *,
    message: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Template:
    errors = errors or {}
    return private_page(
        "my_lookup.html",
        status,
        values=values,
        errors=errors,
        error_list=_ordered(errors, LOOKUP_LABELS),
        labels=LOOKUP_LABELS,
        message=message,
        notice=notice,
    )


class PersonPages(Controller):
    include_in_schema = False

    # registration

    @get("/register", name="register_form")
    async def register_form(self, redis: Redis, d: Token = "") -> Template:
        if not d:
            return _register_page({"consent_news": "yes"})
        draft = await page_drafts.load(redis, page_drafts.REGISTER, d)
        if draft is None:
            return _register_page({})
        return _register_page(draft["values"], draft.get("errors"))

    @post("/register", name="register_post")
    async def register(
        self, request: Request[Any, Any, Any], db: DB, redis: Redis, settings: AppSettings
    ) -> Answer:
        await limit_client(request, redis, settings, "register")
        values: dict[str, Any] = await form_values(request, REGISTER_FIELDS)
        values["interests"] = await _interests(request)
        raw = {**values, "contact_by": _contact_order(values)}
        errors: dict[str, str] = {}
        try:
            data = check_person(raw)
        except InvalidInput as exc:
            errors = dict(exc.fields)
        if values["consent_privacy"] != "yes":
            errors["consent_privacy"] = "登録には、個人情報の取り扱いへの同意が必要です。"
        if errors:
            token = await page_drafts.save(
                redis, page_drafts.REGISTER, {"values": values, "errors": errors}
            )
            if token is None:
                return _register_page(values, errors, status=422)
            return Redirect(f"/register?d={token}", status_code=303)
        try:
            await people.create(
                db,
                data,
                via="web",
                consent_privacy=True,
                consent_news=values["consent_news"] == "yes",
            )
        except DomainError as exc:
            # Already registered: the page says the same as for a new registration (it must
            # not tell a stranger who is registered), and that nothing was changed.
            await refusal_of(db, exc)
        return Redirect("/register/done", status_code=303)

    @get("/register/done", name="register_done")
    async def register_done(self) -> Template:
        return private_page("register_done.html")

    # 予約の確認

    @get("/my", name="my_lookup")
    async def my_lookup(self, redis: Redis, d: Token = "") -> Template:
        if not d:
            return _lookup_page({"phone": "", "code": ""})
        draft = await page_drafts.load(redis, page_drafts.PERSON_LOOKUP, d)
        if draft is None:
            return _lookup_page({"phone": "", "code": ""}, notice=EXPIRED)
        return _lookup_page(draft["values"], draft.get("errors"), message=draft.get("message"))

    @post("/my", name="my_lookup_post")
    async def my_lookup_post(
        self, request: Request[Any, Any, Any], db: DB, redis: Redis, settings: AppSettings
    ) -> Answer:
        await limit_client(request, redis, settings, "lookup")
        values = await form_values(request, ("phone", "code"))
        errors = {}
        if not values["phone"].strip():
            errors["phone"] = "電話番号を入力してください（例：090-1234-5678）。"
        if not values["code"].strip():
            errors["code"] = "予約番号を入力してください（例：1234-5678-9012）。"
        person_id = (
            None if errors else await people.person_by_proof(db, values["phone"], values["code"])
        )
        if person_id is None:
            message = None if errors else NOT_FOUND
            draft = {"values": values, "errors": errors, "message": message}
            token = await page_drafts.save(redis, page_drafts.PERSON_LOOKUP, draft)
            if token is None:
                status = 422 if errors else 404
                return _lookup_page(values, errors, message=message, status=status)
            return Redirect(f"/my?d={token}", status_code=303)
        grant = await page_drafts.save(redis, page_drafts.PERSON_GRANT, {"person_id": person_id})
        if grant is None:
            return _lookup_page(
                values, message="ただいま表示できません。しばらくしてからお試しください。"
            )
        return Redirect(f"/my/bookings?g={grant}", status_code=303)

    @get("/my/bookings", name="my_bookings")
    async def my_bookings(self, db: DB, redis: Redis, g: Token = "") -> Template:
        person_id = await _person_grant(redis, g)
        if person_id is None:
            return _lookup_page({"phone": "", "code": ""}, notice=EXPIRED)
        grant = await page_drafts.load(redis, page_drafts.PERSON_GRANT, g) or {}
        now = clock.now()
        person = await people.get(db, person_id)
        return private_page(
            "my_bookings.html",
            person=person,
            bookings=await people.own_bookings(db, person_id, now),
            now=now,
            grant=g,
            notice=grant.get("notice"),
            format_code=format_code,
        )

    @get("/my/cancel", name="my_cancel_question")
    async def my_cancel_question(
        self, db: DB, redis: Redis, g: Token = "", b: BookingRef = 0
    ) -> Answer:
        person_id = await _person_grant(redis, g)
        if person_id is None:
            return _lookup_page({"phone": "", "code": ""}, notice=EXPIRED)
        lines = await people.own_bookings(db, person_id, clock.now())
        line = next((x for x in lines if x.id == b), None)
        if line is None or line.status == "cancelled" or line.checked_in:
            return Redirect(f"/my/bookings?g={g}", status_code=303)
        return private_page("my_cancel.html", booking=line, grant=g, format_code=format_code)

    @post("/my/cancel", name="my_cancel")
    async def my_cancel(
        self, request: Request[Any, Any, Any], db: DB, redis: Redis, settings: AppSettings
    ) -> Answer:
        await limit_client(request, redis, settings, "cancel")
        values = await form_values(request, ("g", "b"))
        g = values["g"]
        person_id = await _person_grant(redis, g)
        if person_id is None:
            return Redirect("/my", status_code=303)
        found = (
            await people.booking_of(db, person_id, int(values["b"]))
            if values["b"].isdigit() and len(values["b"]) < 19
            else None
        )
        if found is None:
            return Redirect(f"/my/bookings?g={g}", status_code=303)
        code, phone = found
        try:
            await use_cases.cancel(db, code, phone, repeat_ok=True)
            notice = f"予約番号 {format_code(code)} のご予約を取り消しました。"
        except DomainError as exc:
            notice = (await refusal_of(db, exc)).message
        await page_drafts.update(redis, page_drafts.PERSON_GRANT, g, {"notice": notice})
        return Redirect(f"/my/bookings?g={g}", status_code=303)

    # 登録内容の変更・配信停止

    @get("/my/settings", name="my_settings")
    async def my_settings(self, db: DB, redis: Redis, g: Token = "") -> Template:
        person_id = await _person_grant(redis, g)
        if person_id is None:
            return _lookup_page({"phone": "", "code": ""}, notice=EXPIRED)
        grant = await page_drafts.load(redis, page_drafts.PERSON_GRANT, g) or {}
        person = await people.get(db, person_id)
        values: dict[str, Any] = grant.get("settings_values") or {
            "email": person.email or "",
            "postal_code": format_postal_code(person.postal_code),
            "address": person.address or "",
            "consent_news": "yes" if person.consent.news else "",
            **{f"contact_{i}": c for i, c in enumerate(person.contact_by, start=1)},
        }
        errors = grant.get("settings_errors") or {}
        return private_page(
            "my_settings.html",
            422 if errors else 200,
            person=person,
            values=values,
            errors=errors,
            error_list=_ordered(errors, SETTINGS_LABELS),
            labels=SETTINGS_LABELS,
            grant=g,
            **CHOICES,
        )

    @post("/my/settings", name="my_settings_post")
    async def my_settings_post(
        self, request: Request[Any, Any, Any], db: DB, redis: Redis, settings: AppSettings
    ) -> Answer:
        await limit_client(request, redis, settings, "register")
        values: dict[str, Any] = await form_values(
            request,
            ("g", "email", "postal_code", "address", "contact_1", "contact_2", "contact_3",
             "consent_news"),
        )  # fmt: skip
        g = values.pop("g")
        person_id = await _person_grant(redis, g)
        if person_id is None:
            return Redirect("/my", status_code=303)
        raw = {**values, "contact_by": _contact_order(values)}
        try:
            await people.change_own(db, person_id, raw, news=values["consent_news"] == "yes")
        except DomainError as exc:
            refusal = await refusal_of(db, exc)
            await page_drafts.update(
                redis,
                page_drafts.PERSON_GRANT,
                g,
                {"settings_values": values, "settings_errors": refusal.fields},
            )
            return Redirect(f"/my/settings?g={g}", status_code=303)
        await page_drafts.update(
            redis,
            page_drafts.PERSON_GRANT,
            g,
            {
                "notice": "登録内容を変更しました。",
                "settings_values": None,
                "settings_errors": None,
            },
        )
        return Redirect(f"/my/bookings?g={g}", status_code=303)

    @get("/my/withdraw", name="my_withdraw_question")
    async def my_withdraw_question(self, redis: Redis, g: Token = "") -> Template:
        if await _person_grant(redis, g) is None:
            return _lookup_page({"phone": "", "code": ""}, notice=EXPIRED)
        return private_page("my_withdraw.html", grant=g)

    @post("/my/withdraw", name="my_withdraw")
    async def my_withdraw(
        self, request: Request[Any, Any, Any], db: DB, redis: Redis, settings: AppSettings
    ) -> Answer:
        await limit_client(request, redis, settings, "cancel")
        g = (await form_values(request, ("g",)))["g"]
        person_id = await _person_grant(redis, g)
        if person_id is None:
            return Redirect("/my", status_code=303)
        await people.withdraw(db, person_id, actor=None)
        # Nothing of theirs is shown any more: the grant ends here.
        await page_drafts.update(redis, page_drafts.PERSON_GRANT, g, {"person_id": None})
        return Redirect("/my/withdrawn", status_code=303)

    @get("/my/withdrawn", name="my_withdrawn")
    async def my_withdrawn(self) -> Template:
        return private_page("my_withdrawn.html")
