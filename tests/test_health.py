from __future__ import annotations

import dataclasses

from httpx import ASGITransport, AsyncClient

from service.devtools.embedded_servers import free_port
from service.platform.settings import Settings
from tests.conftest import open_app


async def test_health_is_up(client: AsyncClient) -> None:
    r = await client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["x-request-id"]


async def test_ready_when_database_and_redis_reachable(client: AsyncClient) -> None:
    r = await client.get("/health/ready")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_request_id_is_echoed_when_safe(client: AsyncClient) -> None:
    r = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await client.get("/health", headers={"X-Request-ID": "<script>"})
    assert r.headers["x-request-id"] != "<script>"


async def test_every_answer_has_a_request_id_even_for_an_unknown_path(client: AsyncClient) -> None:
    """The id is given around the whole app, not per route: a 404 or 405 carries one too,
    distinct per request."""
    missing = await client.get("/no/such/page", headers={"X-Request-ID": "lost-1"})
    assert missing.status_code == 404 and missing.headers["x-request-id"] == "lost-1"
    wrong = await client.delete("/health")
    assert wrong.status_code == 405 and wrong.headers["x-request-id"]
    again = await client.delete("/health")
    assert again.headers["x-request-id"] != wrong.headers["x-request-id"]


async def test_ready_is_503_when_database_is_down(settings: Settings) -> None:
    down = dataclasses.replace(
        settings, database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    )
    async with open_app(down) as app:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as c:
            live = await c.get("/health")
            ready = await c.get("/health/ready")
    assert live.status_code == 200
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("unavailable")
    assert body["checks"]["redis"] == "ok"


async def test_unknown_api_route_gives_json_error(client: AsyncClient) -> None:
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


async def test_unknown_page_gives_japanese_html(client: AsyncClient) -> None:
    r = await client.get("/nothing-here")
    assert r.status_code == 404
    assert "text/html" in r.headers["content-type"]
    assert "ページが見つかりません" in r.text


async def test_openapi_schema_is_served(client: AsyncClient) -> None:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    assert r.json()["info"]["title"]


async def test_every_api_route_names_an_unreadable_body(client: AsyncClient) -> None:
    """The one error mapping, not a per-route handler: the staff login gets it too."""
    r = await client.post(
        "/api/v1/auth/token", content=b"not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["error"] == "validation_error"
    assert set(r.json()["fields"]) == {"body"}
    typed = await client.post("/api/v1/auth/token", json={"username": 5, "password": []})
    assert typed.status_code == 422
    assert set(typed.json()["fields"]) <= {"username", "password"} and typed.json()["fields"]
