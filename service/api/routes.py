"""Everything under /api/v1."""

from __future__ import annotations

from litestar import Router
from litestar.types import ControllerRouterHandler

from service.api.auth import AuthController
from service.api.bookings import BookingsController
from service.api.events import EventsController
from service.api.manage import manage_api_router

API_HANDLERS: list[ControllerRouterHandler] = []
API_HANDLERS += [AuthController, manage_api_router]
API_HANDLERS += [EventsController, BookingsController]

api_router = Router(path="/api/v1", route_handlers=API_HANDLERS, tags=["api"])
