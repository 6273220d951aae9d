"""The organizer console under /manage: every page behind the staff guard (session cookie),
except the login page."""

from __future__ import annotations

from litestar import Router
from litestar.types import ControllerRouterHandler

from service.edge.staff_auth import STAFF_DEPENDENCIES, staff_guard
from service.web.manage_admin import ManageAdminPages
from service.web.manage_auth import ManageLoginPages, logout_page
from service.web.manage_booking_changes import ManageBookingChangePages, ManageSearchPages
from service.web.manage_calendar_links import ManageCalendarLinkPages
from service.web.manage_calls import ManageCallPages
from service.web.manage_events import ManageEventPages
from service.web.manage_followups import ManageFollowUpPages
from service.web.manage_indicator_document import ManageIndicatorDocumentPages
from service.web.manage_indicators import ManageIndicatorPages
from service.web.manage_line import ManageLinePages
from service.web.manage_mails import ManageMailPages
from service.web.manage_matching import ManageMatchingPages
from service.web.manage_people import ManagePeoplePages
from service.web.manage_rosters import ManageBookingPages, ManageRosterPages

manage_pages_router = Router(
    path="/manage",
    route_handlers=[
        ManageEventPages,
        ManageRosterPages,
        ManageBookingPages,
        ManageBookingChangePages,
        ManageSearchPages,
        ManageCallPages,
        ManageMailPages,
        ManageAdminPages,
        ManageIndicatorPages,
        ManageIndicatorDocumentPages,
        ManageCalendarLinkPages,
        ManageLinePages,
        ManageMatchingPages,
        ManagePeoplePages,
        ManageFollowUpPages,
        logout_page,
    ],
    guards=[staff_guard],
    dependencies=STAFF_DEPENDENCIES,
    include_in_schema=False,
)

manage_page_handlers: list[ControllerRouterHandler] = [ManageLoginPages, manage_pages_router]
