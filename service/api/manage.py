"""The staff API under /api/v1/manage: every route behind the staff guard (bearer tokens)."""

from __future__ import annotations

from litestar import Router

from service.api.manage_calls import ManageCallOutcomeController, ManageCallsController
from service.api.manage_events import (
    ManageEventsController,
    ManageReferenceController,
    ManageSessionsController,
)
from service.api.manage_followups import ManageFollowUpsController
from service.api.manage_indicators import ManageIndicatorsController
from service.api.manage_line import ManageLineController
from service.api.manage_matching import ManageMatchingController, ManageMeetingsController
from service.api.manage_people import ManagePeopleController
from service.api.manage_rosters import ManageBookingController, ManageRosterController
from service.api.manage_search import search_bookings
from service.api.manage_users import (
    ManageAuditController,
    ManageLoginLocksController,
    ManageUsersController,
)
from service.edge.staff_auth import STAFF_DEPENDENCIES, staff_guard

manage_api_router = Router(
    path="/manage",
    route_handlers=[
        ManageEventsController,
        ManageSessionsController,
        ManageReferenceController,
        ManageRosterController,
        ManageBookingController,
        search_bookings,
        ManageCallsController,
        ManageCallOutcomeController,
        ManageUsersController,
        ManageAuditController,
        ManageLoginLocksController,
        ManageIndicatorsController,
        ManageLineController,
        ManageMatchingController,
        ManageMeetingsController,
        ManagePeopleController,
        ManageFollowUpsController,
    ],
    guards=[staff_guard],
    dependencies=STAFF_DEPENDENCIES,
    security=[{"BearerToken": []}],
)
