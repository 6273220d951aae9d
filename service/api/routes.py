"""Everything under /api/v1."""

from __future__ import annotations

from litestar import Router
from litestar.types import ControllerRouterHandler

API_HANDLERS: list[ControllerRouterHandler] = []

api_router = Router(path="/api/v1", route_handlers=API_HANDLERS, tags=["api"])
