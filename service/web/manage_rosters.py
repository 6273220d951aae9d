"""Organizer pages for the day itself: the roster with one-tap check-in, the printed 受付名簿,
the CSV export, phone bookings, walk-ins, no-shows, promoting and cancelling for someone."""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from service.domain.accounts.actor import Actor
from service.domain.errors import Conflict, InvalidInput
from service.domain.notifications import history
from service.domain.rosters import service as rosters
from service.domain.rosters.csv_export import roster_csv, roster_filename
from service.domain.rosters.schemas import SessionHeader
from service.edge.dependencies import DB
from service.edge.downloads import csv_download
from service.edge.staff_auth import Staff
from service.web.form_errors import Refusal, refusal_of, rerender
from service.web.manage_common import done_message, form_fields, page, problem_message, see_other
from service.web.party_form import companion_rows, companions_from_form

PERSON_FIELDS = (
    "name",
    "name_kana",
    "phone",
    "email",
    "age_band",
    "ward",
    "heard_from",
    "needs",
)


def _roster_url(session_id: FromPath[int], q: str | None = None) -> str:
    url = f"/manage/sessions/{session_id}"
    return f"{url}?q={quote(q)}" if q else url


async def roster_page(
    db: DB,
    staff: Actor,
    session_id: FromPath[int],
    *,
    q: str | None,
    flash: str | None = None,
    error: str | None = None,
) -> Template:
    try:
        roster = await rosters.get_roster(db, staff, session_id, query=q)
    except InvalidInput as exc:
        # The whole roster, with what is wrong with the search.
        return await rerender(
            db,
            exc,
            lambda r: roster_page(db, staff, session_id, q=None, error=" ".join(r.fields.values())),
        )
    return page(
        "manage/roster.html",
        staff,
        flash=flash,
        error=error,
        roster=roster,
        s=roster.session,
    )


class ManageRosterPages(Controller):
    path = "/sessions/{session_id:int}"
    include_in_schema = False

    @get("/", name="manage_roster")
    async def roster(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        staff: Staff,
        session_id: FromPath[int],
        q: FromQuery[str | None] = None,
    ) -> Template:
        return await roster_page(
            db,
            staff,
            session_id,
            q=q,
            flash=done_message(request),
            error=problem_message(request),
        )

    @get("/print")
    async def print_roster(self, db: DB, staff: Staff, session_id: FromPath[int]) -> Template:
        roster = await rosters.get_roster(db, staff, session_id, purpose="print")
        by_kana = sorted(roster.confirmed, key=lambda e: (e.name_kana, e.id))
        return page(
            "manage/roster_print.html", staff, roster=roster, s=roster.session, entries=by_kana
        )

    @get("/roster.csv")
    async def export(self, db: DB, staff: Staff, session_id: FromPath[int]) -> Response[bytes]:
        roster = await rosters.get_roster(db, staff, session_id, purpose="export")
        return csv_download(roster_csv(roster), roster_filename(roster))

    async def _booking_form(
        self,
        staff: Actor,
        header: SessionHeader,
        kind: str,
        *,
        values: dict[str, str],
        errors: dict[str, str],
        error: str | None = None,
        status_code: int = 200,
    ) -> Template:
        return page(
            "manage/booking_form.html",
            staff,
            status_code=status_code,
            s=header,
            kind=kind,
            companion_rows=companion_rows(header.max_companions),
            values=values,
            errors=errors,
            error=error,
        )

    async def _booking_again(
        self,
        db: DB,
        staff: Actor,
        session_id: int,
        kind: str,
        values: dict[str, str],
        refusal: Refusal,
    ) -> Template:
        header = await rosters.session_header(db, staff, session_id)
        return await self._booking_form(
            staff, header, kind, values=values, errors=refusal.fields, error=refusal.message
        )

    @get("/phone-booking")
    async def phone_form(self, db: DB, staff: Staff, session_id: FromPath[int]) -> Template:
        header = await rosters.session_header(db, staff, session_id)
        return await self._booking_form(staff, header, "phone", values={}, errors={})

    @post("/phone-booking", status_code=303)
    async def phone_booking(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, session_id: FromPath[int]
    ) -> Template | Redirect:
        data = await form_fields(request)
        person: dict[str, object] = {k: data.get(k, "") for k in PERSON_FIELDS}
        person["companions"] = companions_from_form(data)
        try:
            entry = await rosters.phone_booking(db, staff, session_id, person)
        except (InvalidInput, Conflict) as exc:
            return await rerender(
                db, exc, partial(self._booking_again, db, staff, session_id, "phone", data)
            )
        return see_other(f"/manage/bookings/{entry.id}", done="phone_booked")

    @get("/walk-in")
    async def walk_in_form(self, db: DB, staff: Staff, session_id: FromPath[int]) -> Template:
        header = await rosters.session_header(db, staff, session_id)
        return await self._booking_form(staff, header, "walk_in", values={}, errors={})

    @post("/walk-in", status_code=303)
    async def walk_in(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, session_id: FromPath[int]
    ) -> Template | Redirect:
        data = await form_fields(request)
        person: dict[str, object] = {k: data.get(k, "") for k in PERSON_FIELDS}
        person["companions"] = companions_from_form(data)
        try:
            entry = await rosters.walk_in(
                db, staff, session_id, person, override=data.get("override") == "1"
            )
        except (InvalidInput, Conflict) as exc:
            return await rerender(
                db, exc, partial(self._booking_again, db, staff, session_id, "walk_in", data)
            )
        return see_other(_roster_url(session_id), done="walk_in_added", anchor=f"b{entry.id}")

    @post("/no-shows", status_code=303)
    async def mark_no_shows(
        self, db: DB, staff: Staff, session_id: FromPath[int]
    ) -> Template | Redirect:
        try:
            await rosters.mark_remaining_no_shows(db, staff, session_id)
        except Conflict as exc:
            return await rerender(
                db, exc, lambda r: roster_page(db, staff, session_id, q=None, error=r.message)
            )
        return see_other(_roster_url(session_id), done="no_shows_marked")


class ManageBookingPages(Controller):
    path = "/bookings/{booking_id:int}"
    include_in_schema = False

    @get("/")
    async def show(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, booking_id: FromPath[int]
    ) -> Template:
        entry = await rosters.get_booking(db, staff, booking_id)
        session_id = await rosters.session_of_booking(db, staff, booking_id)
        header = await rosters.session_header(db, staff, session_id)
        return page(
            "manage/booking.html",
            staff,
            flash=done_message(request),
            entry=entry,
            s=header,
            mails=await history.booking_mails(db, staff, booking_id),
            MAIL_KINDS=history.MAIL_KINDS,
            MAIL_STATUSES=history.MAIL_STATUSES,
            SKIP_REASONS=history.SKIP_REASONS,
        )

    async def _act(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        staff: Actor,
        booking_id: FromPath[int],
        action: str,
        done: str,
    ) -> Template | Redirect:
        """A one-tap action from the roster; back to the same row of the roster."""
        fields = await form_fields(request)
        q = fields.get("q") or None
        session_id = await rosters.session_of_booking(db, staff, booking_id)
        try:
            if action == "check_in":
                await rosters.check_in(db, staff, booking_id)
            elif action == "undo_check_in":
                await rosters.undo_check_in(db, staff, booking_id)
            elif action == "no_show":
                await rosters.mark_no_show(db, staff, booking_id)
            elif action == "undo_no_show":
                await rosters.undo_no_show(db, staff, booking_id)
            elif action == "promote":
                await rosters.promote(db, staff, booking_id, override=fields.get("override") == "1")
            else:  # pragma: no cover - the routes below name every action
                raise ValueError(action)
        except Conflict as exc:
            if action == "promote" and exc.code == "session_full":
                # Back to the roster's address (not left on the POST's), saying why.
                await refusal_of(db, exc)
                return see_other(
                    _roster_url(session_id, q), problem="promote_no_seat", anchor=f"b{booking_id}"
                )
            # Nothing was changed; say why on the roster.
            return await rerender(
                db, exc, lambda r: roster_page(db, staff, session_id, q=q, error=r.message)
            )
        return see_other(_roster_url(session_id, q), done=done, anchor=f"b{booking_id}")

    @post("/check-in", status_code=303)
    async def check_in(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, booking_id: FromPath[int]
    ) -> Template | Redirect:
        return await self._act(request, db, staff, booking_id, "check_in", "checked_in")

    @post("/undo-check-in", status_code=303)
    async def undo_check_in(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, booking_id: FromPath[int]
    ) -> Template | Redirect:
        return await self._act(request, db, staff, booking_id, "undo_check_in", "check_in_undone")

    @post("/no-show", status_code=303)
    async def no_show(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, booking_id: FromPath[int]
    ) -> Template | Redirect:
        return await self._act(request, db, staff, booking_id, "no_show", "no_show")

    @post("/undo-no-show", status_code=303)
    async def undo_no_show(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, booking_id: FromPath[int]
    ) -> Template | Redirect:
        return await self._act(request, db, staff, booking_id, "undo_no_show", "no_show_undone")

    @post("/promote", status_code=303)
    async def promote(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, booking_id: FromPath[int]
    ) -> Template | Redirect:
        return await self._act(request, db, staff, booking_id, "promote", "promoted")

    @post("/companions/{position:int}/cancel", status_code=303)
    async def cancel_companion(
        self,
        db: DB,
        staff: Staff,
        booking_id: FromPath[int],
        position: FromPath[int],
    ) -> Template | Redirect:
        try:
            await rosters.cancel_companion_for(db, staff, booking_id, position)
        except Conflict as exc:
            return await rerender(db, exc, partial(self._booking_page, db, staff, booking_id))
        return see_other(f"/manage/bookings/{booking_id}", done="companion_cancelled")

    async def _booking_page(
        self, db: DB, staff: Staff, booking_id: int, refusal: Refusal
    ) -> Template:
        entry = await rosters.get_booking(db, staff, booking_id)
        session_id = await rosters.session_of_booking(db, staff, booking_id)
        header = await rosters.session_header(db, staff, session_id)
        return page("manage/booking.html", staff, error=refusal.message, entry=entry, s=header)

    @get("/cancel")
    async def cancel_form(self, db: DB, staff: Staff, booking_id: FromPath[int]) -> Template:
        entry = await rosters.get_booking(db, staff, booking_id)
        session_id = await rosters.session_of_booking(db, staff, booking_id)
        header = await rosters.session_header(db, staff, session_id)
        return page("manage/booking_cancel.html", staff, entry=entry, s=header, errors={})

    @post("/cancel", status_code=303)
    async def cancel(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, booking_id: FromPath[int]
    ) -> Template | Redirect:
        fields = await form_fields(request)
        session_id = await rosters.session_of_booking(db, staff, booking_id)
        try:
            await rosters.cancel_for(db, staff, booking_id, fields.get("reason", ""))
        except (InvalidInput, Conflict) as exc:

            async def again(refusal: Refusal) -> Template:
                entry = await rosters.get_booking(db, staff, booking_id)
                header = await rosters.session_header(db, staff, session_id)
                errors = refusal.fields or {"reason": refusal.message}
                return page(
                    "manage/booking_cancel.html", staff, entry=entry, s=header, errors=errors
                )

            return await rerender(db, exc, again)
        return see_other(_roster_url(session_id), done="booking_cancelled", anchor=f"b{booking_id}")
