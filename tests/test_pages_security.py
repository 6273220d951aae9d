"""Security headers on every response, including errors and unknown paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from httpx import AsyncClient
from jinja2 import Environment, FileSystemLoader

from service.platform.settings import Settings
from service.web.templating import configure_environment, number_parts


@pytest.mark.parametrize("path", ["/", "/nothing-here", "/static/site.css", "/health"])
async def test_every_response_carries_the_security_headers(client: AsyncClient, path: str) -> None:
    r = await client.get(path)
    csp = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in r.headers  # served over plain http here


async def test_wrong_method_still_gets_headers(client: AsyncClient) -> None:
    r = await client.put("/")
    assert r.status_code == 405
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


async def test_openapi_viewer_has_its_own_policy(client: AsyncClient) -> None:
    r = await client.get("/schema/swagger")
    assert "https://cdn.jsdelivr.net" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_numbers_kept_on_one_line_are_still_escaped(settings: Settings) -> None:
    """A hint or error keeps a phone number on one line, and what was typed stays escaped."""
    assert number_parts("例：090-1234-5678。０５４－２２１－１１１１") == [
        ("例：", False),
        ("090-1234-5678", True),
        ("。", False),
        ("０５４－２２１－１１１１", True),
    ]
    env = Environment(loader=FileSystemLoader(Path(__file__).parents[1] / "templates"))
    configure_environment(env, settings)
    page = env.from_string('{% from "_public.html" import unbroken %}{{ unbroken(x) }}')
    out = page.render(x='<script>alert("090-1234-5678")</script>')
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert '<span class="nowrap">090-1234-5678</span>' in out
