"""Organizer pages: the event list, creating and editing events and sessions, publishing and
cancelling, and adding venues and organizations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from service.domain import clock
from service.domain.accounts.actor import Actor
from service.domain.errors import Conflict, InvalidInput
from service.domain.events import admin_events, admin_places, admin_sessions
from service.domain.events.admin_schemas import (
    ORGANIZATION_KINDS_STAFF_ADD,
    validate_organization_input,
    validate_venue_input,
)
from service.domain.events.schemas import EventView, SessionView
from service.domain.notifications.calls import call_counts
from service.domain.rosters import service as rosters
from service.edge.dependencies import DB, AppSettings
from service.edge.staff_auth import Staff
from service.platform.local_time import TOKYO
from service.web.form_errors import Refusal, rerender
from service.web.manage_common import (
    done_message,
    form_fields,
    form_lists,
    page,
    see_other,
)

ORGANIZER = {"staff_role": "organizer"}


def local_input(value: datetime | None) -> str:
    """The value a datetime-local input shows: Japan time, to the minute."""
    return value.astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M") if value else ""


def _event_values(event: EventView) -> dict[str, Any]:
    return {
        "title": event.title,
        "kind": event.kind,
        "sector": event.sector,
        "description": event.description,
        "tags": "、".join(event.tags),
        "sub_kind": event.sub_kind or "",
        "contact": event.contact,
        "what_to_bring": event.what_to_bring,
        "fee_yen": str(event.fee_yen),
        "audience": event.audience,
        "arrival_note": event.arrival_note,
        "alarm_day_before": "1" if event.alarm_day_before else "0",
        "alarm_minutes_before": str(event.alarm_minutes_before or ""),
        "max_companions": str(event.max_companions),
        "reminder_days": "、".join(str(d) for d in event.reminder_days),
        "call_reminders": "1" if event.call_reminders else "",
        "cohost_ids": [str(o.id) for o in event.cohosts],
        "employer_ids": [str(o.id) for o in event.employers],
    }


def _session_values(s: SessionView) -> dict[str, Any]:
    return {
        "venue_id": str(s.venue.id),
        "starts_at": local_input(s.starts_at),
        "ends_at": local_input(s.ends_at),
        "capacity": str(s.capacity),
        "waitlist_limit": str(s.waitlist_limit),
        "booking_opens_at": local_input(s.booking_opens_at),
        "booking_closes_at": local_input(s.booking_closes_at),
    }


async def _event_form_data(request: Request[Any, Any, Any]) -> dict[str, Any]:
    data: dict[str, Any] = dict(await form_fields(request))
    data["cohost_ids"] = await form_lists(request, "cohost_ids")
    data["employer_ids"] = await form_lists(request, "employer_ids")
    return data


class ManageEventPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/", name="manage_home")
    async def home(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        staff: Staff,
        settings: AppSettings,
        status: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
        past: FromQuery[bool] = False,
    ) -> Template:
        try:
            events = await admin_events.list_events(
                db, staff, status=status, title=q, include_past=past
            )
            error = None
        except InvalidInput as exc:
            events, error = [], " ".join(exc.fields.values())
        return page(
            "manage/events.html",
            staff,
            flash=done_message(request),
            events=events,
            status=status or "",
            q=q or "",
            past=past,
            error=error,
            calls=await call_counts(db, staff, clock.now()),
        )

    # --- events --------------------------------------------------------------------------
    async def _event_form(
        self,
        db: DB,
        staff: Actor,
        *,
        values: dict[str, Any],
        errors: dict[str, str],
        event: EventView | None = None,
        status_code: int = 200,
    ) -> Template:
        choices = await admin_events.form_choices(db, staff)
        return page(
            "manage/event_form.html",
            staff,
            status_code=status_code,
            values=values,
            errors=errors,
            event=event,
            choices=choices,
        )

    @get("/events/new", opt=ORGANIZER)
    async def new_event(self, db: DB, staff: Staff) -> Template:
        values: dict[str, Any] = {
            "kind": "",
            "sector": "",
            "max_companions": "1",
            "reminder_days": "3、1",
            "cohost_ids": [],
            "employer_ids": [],
        }
        return await self._event_form(db, staff, values=values, errors={})

    @post("/events", opt=ORGANIZER, status_code=303)
    async def create_event(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff
    ) -> Template | Redirect:
        data = await _event_form_data(request)
        try:
            event_id = await admin_events.create_event(
                db, staff, await admin_events.check_event_input(db, data)
            )
        except InvalidInput as exc:
            return await rerender(
                db, exc, lambda r: self._event_form(db, staff, values=data, errors=r.fields)
            )
        return see_other(f"/manage/events/{event_id}", done="event_created")

    @get("/events/{event_id:int}")
    async def show_event(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, event_id: FromPath[int]
    ) -> Template:
        event = await admin_events.show_event(db, staff, event_id)
        needs = await rosters.needs_by_session(db, staff, event_id)
        return page(
            "manage/event.html",
            staff,
            flash=done_message(request),
            event=event,
            needs=needs,
            now=clock.now(),
        )

    @get("/events/{event_id:int}/edit", opt=ORGANIZER)
    async def edit_event(self, db: DB, staff: Staff, event_id: FromPath[int]) -> Template:
        event = await admin_events.show_event(db, staff, event_id)
        return await self._event_form(
            db, staff, values=_event_values(event), errors={}, event=event
        )

    @post("/events/{event_id:int}", opt=ORGANIZER, status_code=303)
    async def update_event(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, event_id: FromPath[int]
    ) -> Template | Redirect:
        data = await _event_form_data(request)
        try:
            await admin_events.update_event(
                db, staff, event_id, await admin_events.check_event_input(db, data)
            )
        except InvalidInput as exc:

            async def again(refusal: Refusal) -> Template:
                event = await admin_events.show_event(db, staff, event_id)
                return await self._event_form(
                    db, staff, values=data, errors=refusal.fields, event=event
                )

            return await rerender(db, exc, again)
        return see_other(f"/manage/events/{event_id}", done="event_saved")

    @post("/events/{event_id:int}/publish", opt=ORGANIZER, status_code=303)
    async def publish_event(
        self, db: DB, staff: Staff, event_id: FromPath[int]
    ) -> Template | Redirect:
        try:
            await admin_events.publish_event(db, staff, event_id)
        except Conflict as exc:

            async def again(refusal: Refusal) -> Template:
                event = await admin_events.show_event(db, staff, event_id)
                return page(
                    "manage/event.html",
                    staff,
                    event=event,
                    error=refusal.message,
                    now=clock.now(),
                )

            return await rerender(db, exc, again)
        return see_other(f"/manage/events/{event_id}", done="event_published")

    @get("/events/{event_id:int}/cancel", opt=ORGANIZER)
    async def cancel_event_form(self, db: DB, staff: Staff, event_id: FromPath[int]) -> Template:
        event = await admin_events.show_event(db, staff, event_id)
        by_mail, by_phone = await admin_sessions.event_reach(db, staff, event_id)
        return page(
            "manage/cancel_form.html",
            staff,
            event=event,
            session=None,
            errors={},
            by_mail=by_mail,
            by_phone=by_phone,
        )

    @post("/events/{event_id:int}/cancel", opt=ORGANIZER, status_code=303)
    async def cancel_event(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, event_id: FromPath[int]
    ) -> Template | Redirect:
        fields = await form_fields(request)
        try:
            await admin_sessions.cancel_event(db, staff, event_id, fields.get("reason", ""))
        except (InvalidInput, Conflict) as exc:

            async def again(refusal: Refusal) -> Template:
                event = await admin_events.show_event(db, staff, event_id)
                errors = refusal.fields or {"reason": refusal.message}
                by_mail, by_phone = await admin_sessions.event_reach(db, staff, event_id)
                return page(
                    "manage/cancel_form.html",
                    staff,
                    event=event,
                    session=None,
                    errors=errors,
                    by_mail=by_mail,
                    by_phone=by_phone,
                )

            return await rerender(db, exc, again)
        return see_other(f"/manage/events/{event_id}", done="event_cancelled")

    # --- sessions ------------------------------------------------------------------------
    async def _session_form(
        self,
        db: DB,
        staff: Actor,
        event: EventView,
        *,
        values: dict[str, Any],
        errors: dict[str, str],
        session: SessionView | None = None,
        status_code: int = 200,
    ) -> Template:
        choices = await admin_events.form_choices(db, staff)
        return page(
            "manage/session_form.html",
            staff,
            status_code=status_code,
            event=event,
            session=session,
            values=values,
            errors=errors,
            venues=choices.venues,
        )

    @get("/events/{event_id:int}/sessions/new", opt=ORGANIZER)
    async def new_session(self, db: DB, staff: Staff, event_id: FromPath[int]) -> Template:
        event = await admin_events.show_event(db, staff, event_id)
        values = {"capacity": "", "waitlist_limit": "0", "venue_id": ""}
        if event.sessions:  # the next session is usually like the last one
            last = event.sessions[-1]
            values.update(
                venue_id=str(last.venue.id),
                capacity=str(last.capacity),
                waitlist_limit=str(last.waitlist_limit),
            )
        return await self._session_form(db, staff, event, values=values, errors={})

    @post("/events/{event_id:int}/sessions", opt=ORGANIZER, status_code=303)
    async def add_session(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, event_id: FromPath[int]
    ) -> Template | Redirect:
        data = await form_fields(request)
        try:
            await admin_sessions.add_session(db, staff, event_id, data)
        except (InvalidInput, Conflict) as exc:

            async def again(refusal: Refusal) -> Template:
                event = await admin_events.show_event(db, staff, event_id)
                errors = refusal.fields or {"form": refusal.message}
                return await self._session_form(db, staff, event, values=data, errors=errors)

            return await rerender(db, exc, again)
        return see_other(f"/manage/events/{event_id}", done="session_added")

    @get("/sessions/{session_id:int}/edit", opt=ORGANIZER)
    async def edit_session(self, db: DB, staff: Staff, session_id: FromPath[int]) -> Template:
        event, session = await admin_sessions.show_session(db, staff, session_id)
        values = {
            **_session_values(session),
            **await admin_sessions.session_joining(db, staff, session_id),
        }
        return await self._session_form(db, staff, event, values=values, errors={}, session=session)

    @post("/sessions/{session_id:int}", opt=ORGANIZER, status_code=303)
    async def update_session(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, session_id: FromPath[int]
    ) -> Template | Redirect:
        data = await form_fields(request)
        if data.get("back"):
            # 「戻って直す」 on the warning: the form again, as typed.
            event, session = await admin_sessions.show_session(db, staff, session_id)
            return await self._session_form(
                db, staff, event, values=data, errors={}, session=session
            )
        try:
            warning = await admin_sessions.update_session_after_warning(
                db, staff, session_id, data, warned=data.get("warned") == "1"
            )
        except (InvalidInput, Conflict) as exc:

            async def again(refusal: Refusal) -> Template:
                event, session = await admin_sessions.show_session(db, staff, session_id)
                errors = refusal.fields or {"form": refusal.message}
                return await self._session_form(
                    db, staff, event, values=data, errors=errors, session=session
                )

            return await rerender(db, exc, again)
        event, session = await admin_sessions.show_session(db, staff, session_id)
        if warning is not None:
            hidden = {k: v for k, v in data.items() if k not in ("_csrf_token", "warned", "back")}
            return page(
                "manage/session_change_confirm.html",
                staff,
                event=event,
                session=session,
                warning=warning,
                hidden=hidden,
            )
        return see_other(f"/manage/events/{event.id}", done="session_saved")

    @get("/sessions/{session_id:int}/cancel", opt=ORGANIZER)
    async def cancel_session_form(
        self, db: DB, staff: Staff, session_id: FromPath[int]
    ) -> Template:
        event, session = await admin_sessions.show_session(db, staff, session_id)
        by_mail, by_phone = await admin_sessions.session_reach(db, staff, session_id)
        return page(
            "manage/cancel_form.html",
            staff,
            event=event,
            session=session,
            errors={},
            by_mail=by_mail,
            by_phone=by_phone,
            started=session.starts_at <= clock.now(),
        )

    @post("/sessions/{session_id:int}/cancel", opt=ORGANIZER, status_code=303)
    async def cancel_session(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff, session_id: FromPath[int]
    ) -> Template | Redirect:
        fields = await form_fields(request)
        try:
            await admin_sessions.cancel_session(db, staff, session_id, fields.get("reason", ""))
        except (InvalidInput, Conflict) as exc:

            async def again(refusal: Refusal) -> Template:
                event, session = await admin_sessions.show_session(db, staff, session_id)
                errors = refusal.fields or {"reason": refusal.message}
                by_mail, by_phone = await admin_sessions.session_reach(db, staff, session_id)
                return page(
                    "manage/cancel_form.html",
                    staff,
                    event=event,
                    session=session,
                    errors=errors,
                    by_mail=by_mail,
                    by_phone=by_phone,
                )

            return await rerender(db, exc, again)
        event, _ = await admin_sessions.show_session(db, staff, session_id)
        return see_other(f"/manage/events/{event.id}", done="session_cancelled")

    # --- venues and organizations ----------------------------------------------------------
    @get("/venues/new", opt=ORGANIZER)
    async def new_venue(self, staff: Staff) -> Template:
        return page("manage/venue_form.html", staff, values={}, errors={})

    @post("/venues", opt=ORGANIZER, status_code=303)
    async def add_venue(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff
    ) -> Template | Redirect:
        data = await form_fields(request)
        try:
            await admin_places.add_venue(db, staff, validate_venue_input(data))
        except (InvalidInput, Conflict) as exc:
            return await rerender(
                db,
                exc,
                lambda r: page(
                    "manage/venue_form.html",
                    staff,
                    values=data,
                    errors=r.fields or {"name": r.message},
                ),
            )
        return see_other("/manage", done="venue_added")

    @get("/organizations/new", opt=ORGANIZER)
    async def new_organization(self, staff: Staff) -> Template:
        return page(
            "manage/organization_form.html",
            staff,
            values={},
            errors={},
            kinds=ORGANIZATION_KINDS_STAFF_ADD,
        )

    @post("/organizations", opt=ORGANIZER, status_code=303)
    async def add_organization(
        self, request: Request[Any, Any, Any], db: DB, staff: Staff
    ) -> Template | Redirect:
        data = await form_fields(request)
        try:
            await admin_places.add_organization(db, staff, validate_organization_input(data))
        except (InvalidInput, Conflict) as exc:
            return await rerender(
                db,
                exc,
                lambda r: page(
                    "manage/organization_form.html",
                    staff,
                    values=data,
                    errors=r.fields or {"name": r.message},
                    kinds=ORGANIZATION_KINDS_STAFF_ADD,
                ),
            )
        return see_other("/manage", done="organization_added")
