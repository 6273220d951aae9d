"""Console pages for changing a booking (edit, move to another session), the confirmation
steps before undoing a person (one companion, 辞退 on the call list), and finding a booking
across every event (/manage/search).

A destructive action asks once more: its button on the booking page or the call list is a
link to a GET page that says what will happen (「キャンセル待ちの方が繰り上がります」 only when
someone waits), and only that page's form posts."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from service.domain.accounts.actor import Actor
from service.domain.bookings import errors as booking_errors
from service.domain.errors import Conflict, InvalidInput, NotFound
from service.domain.rosters import changes
from service.domain.rosters import service as rosters
from service.domain.rosters.schemas import RosterEntry, SessionHeader
from service.domain.rosters.search import SHOWN, find_bookings
from service.edge.dependencies import DB
from service.edge.staff_auth import Staff
from service.web.form_errors import Refusal, rerender
from service.web.manage_common import form_fields, page, see_other
from service.web.party_form import companion_rows, companions_from_form

EDIT_FIELDS = ("name", "name_kana", "phone", "email", "needs")


def _form_values(entry: RosterEntry) -> dict[str, str]:
    values = {
        "name": entry.name,
        "name_kana": entry.name_kana,
        "phone": entry.display_phone,
        "email": entry.email or "",
        "needs": entry.needs or "",
    }
    for i, c in enumerate(entry.live_companions):
        values[f"companions.{i}.name"] = c.name
        values[f"companions.{i}.name_kana"] = c.name_kana
    return values


async def _booking(db: DB, staff: Actor, booking_id: int) -> tuple[RosterEntry, SessionHeader]:
    entry = await rosters.get_booking(db, staff, booking_id)
    session_id = await rosters.session_of_booking(db, staff, booking_id)
    return entry, await rosters.session_header(db, staff, session_id)


def _promotes(entry: RosterEntry, header: SessionHeader) -> bool:
    """Whether freeing this booking's seats moves someone up: only a confirmed party frees
    seats, and only when someone waits."""
    return entry.status == "confirmed" and header.waitlist_count > 0


def _changed_done(before: RosterEntry, after: RosterEntry) -> str:
    if after == before:
        return "booking_unchanged"
    if before.status == "confirmed" and after.status == "waitlisted":
        return "booking_changed_waitlisted"
    return "booking_changed"


class ManageBookingChangePages(Controller):
    path = "/bookings/{booking_id:int}"
    include_in_schema = False

    async def _edit_page(
        self,
        db: DB,
        staff: Actor,
        booking_id: int,
        values: dict[str, str] | None,
        refusal: Refusal | None = None,
    ) -> Template:
        entry, header = await _booking(db, staff, booking_id)
        return page(
            "manage/booking_edit.html",
            staff,
            entry=entry,
            s=header,
            companion_rows=companion_rows(max(header.max_companions, len(entry.live_companions))),
            values=values if values is not None else _form_values(entry),
            errors=refusal.fields if refusal else {},
            error=refusal.message if refusal else None,
        )

    @get("/edit")
    async def edit_form(self, db: DB, staff: Staff, booking_id: FromPath[int]) -> Template:
        return await self._edit_page(db, staff, booking_id, None)

    @post("/edit", status_code=303)
    async def edit(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, booking_id: FromPath[int]
    ) -> Template | Redirect:
        data = await form_fields(request)
        patch: dict[str, object] = {k: data.get(k, "") for k in EDIT_FIELDS}
        patch["companions"] = companions_from_form(data)
        before = await rosters.get_booking(db, staff, booking_id)
        try:
            after = await changes.change_booking(db, staff, booking_id, patch)
        except (InvalidInput, Conflict) as exc:
            return await rerender(db, exc, partial(self._edit_page, db, staff, booking_id, data))
        return see_other(f"/manage/bookings/{booking_id}", done=_changed_done(before, after))

    async def _move_page(
        self, db: DB, staff: Actor, booking_id: int, refusal: Refusal | None = None
    ) -> Template:
        entry, header = await _booking(db, staff, booking_id)
        return page(
            "manage/booking_move.html",
            staff,
            entry=entry,
            s=header,
            targets=await changes.move_targets(db, staff, booking_id),
            errors=refusal.fields if refusal else {},
            error=refusal.message if refusal else None,
        )

    @get("/move")
    async def move_form(self, db: DB, staff: Staff, booking_id: FromPath[int]) -> Template:
        return await self._move_page(db, staff, booking_id)

    @post("/move", status_code=303)
    async def move(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, booking_id: FromPath[int]
    ) -> Template | Redirect:
        raw = (await form_fields(request)).get("session_id", "").strip()
        target: object = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else raw
        try:
            after = await changes.move_booking(db, staff, booking_id, target)
        except (InvalidInput, Conflict, NotFound) as exc:
            return await rerender(db, exc, partial(self._move_page, db, staff, booking_id))
        done = "booking_moved" if after.status == "confirmed" else "booking_moved_waitlisted"
        return see_other(f"/manage/bookings/{booking_id}", done=done)

    @get("/companions/{position:int}/cancel")
    async def companion_question(
        self, db: DB, staff: Staff, booking_id: FromPath[int], position: FromPath[int]
    ) -> Template | Redirect:
        entry, header = await _booking(db, staff, booking_id)
        companion = next((c for c in entry.live_companions if c.position == position), None)
        if companion is None or entry.status == "cancelled":
            # Already done (Back after confirming): the booking page says how things are.
            return see_other(f"/manage/bookings/{booking_id}")
        if entry.checked_in_at is not None:
            return _absent_question(staff, entry, header, companion.name, position)
        return page(
            "manage/confirm.html",
            staff,
            entry=entry,
            s=header,
            title=f"{companion.name}さんだけ取り消しますか",
            lines=[
                f"{entry.name}さんの予約（{entry.party_size}名）から、"
                f"同伴者の{companion.name}さんだけを取り消します。",
                f"予約は{entry.party_size - 1}名になります。{entry.name}さんの予約はそのままです。",
            ],
            promotes=_promotes(entry, header),
            action=f"/manage/bookings/{booking_id}/companions/{position}/cancel",
            confirm_label=f"{companion.name}さんだけ取り消す",
            back_url=f"/manage/bookings/{booking_id}",
        )

    @get("/calls/declined")
    async def declined_question(
        self, db: DB, staff: Staff, booking_id: FromPath[int]
    ) -> Template | Redirect:
        entry, header = await _booking(db, staff, booking_id)
        if entry.status == "cancelled":
            return see_other("/manage/calls")
        people = f"（{entry.party_size}名）" if entry.party_size > 1 else ""
        return page(
            "manage/confirm.html",
            staff,
            entry=entry,
            s=header,
            title=f"{entry.name}さんは辞退として、予約を取り消しますか",
            lines=[
                f"{entry.name}さんの予約{people}を取り消し、電話連絡を終わりにします。",
                "取り消した予約は元に戻せません。",
            ],
            promotes=_promotes(entry, header),
            action=f"/manage/bookings/{booking_id}/calls/declined",
            confirm_label="辞退として取り消す",
            back_url=f"/manage/calls#c{booking_id}",
        )


def _absent_question(
    staff: Actor, entry: RosterEntry, header: SessionHeader, name: str, position: int
) -> Template:
    """A checked-in party stays whole: before the start nothing is asked (the domain refuses
    it), after it the answer records the companion as absent, the seat kept and nobody moved
    up, so the question says that and not 「取り消し」「繰り上がります」."""
    if header.now < header.starts_at:
        return page(
            "manage/booking.html",
            staff,
            error=booking_errors.companion_checked_in_staff().message,
            entry=entry,
            s=header,
        )
    return page(
        "manage/confirm.html",
        staff,
        entry=entry,
        s=header,
        title=f"{name}さんを欠席として記録しますか",
        lines=[
            f"受付済みの{entry.name}さんの組（{entry.party_size}名）で、"
            f"同伴者の{name}さんが来なかったことを記録します。",
            f"人数は{entry.party_size - 1}名になります。席はそのままで、"
            "キャンセル待ちの方の繰り上げはありません。",
        ],
        promotes=False,
        action=f"/manage/bookings/{entry.id}/companions/{position}/cancel",
        confirm_label=f"{name}さんを欠席として記録する",
        back_url=f"/manage/bookings/{entry.id}",
    )


SearchQuery = Annotated[str | None, QueryParameter(max_length=200)]


class ManageSearchPages(Controller):
    path = "/search"
    include_in_schema = False

    @get("/")
    async def search(self, db: DB, staff: Staff, q: SearchQuery = None) -> Template:
        try:
            result = await find_bookings(db, staff, q)
        except InvalidInput as exc:
            return page(
                "manage/search.html",
                staff,
                status_code=422,
                q=q or "",
                result=None,
                error=" ".join(exc.fields.values()),
                shown=SHOWN,
            )
        return page("manage/search.html", staff, q=q or "", result=result, shown=SHOWN)
