"""The staff API is documented in the OpenAPI schema, with its bearer-token security."""

from __future__ import annotations

from httpx import AsyncClient


async def test_staff_api_is_in_the_openapi_schema(client: AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    for path, method in [
        ("/api/v1/auth/token", "post"),
        ("/api/v1/manage/events", "post"),
        ("/api/v1/manage/events/{event_id}/sessions", "post"),
        ("/api/v1/manage/sessions/{session_id}/roster", "get"),
        ("/api/v1/manage/sessions/{session_id}/roster.csv", "get"),
        ("/api/v1/manage/sessions/{session_id}/phone-bookings", "post"),
        ("/api/v1/manage/sessions/{session_id}/walk-ins", "post"),
        ("/api/v1/manage/bookings/{booking_id}/check-in", "delete"),
        ("/api/v1/manage/audit", "get"),
    ]:
        assert method in paths[path], (path, method)
    assert schema["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    check_in = paths["/api/v1/manage/bookings/{booking_id}/check-in"]["post"]
    assert check_in["security"] == [{"BearerToken": []}]
    assert "security" not in paths["/api/v1/auth/token"]["post"]
    # The pages are not API.
    assert not any(p.startswith("/manage") for p in paths)
