"""Line breaks as browsers and clients send them (CR LF from a textarea, a lone CR from old
clients, LF from JSON): kept as LF where a field is multi-line, refused with a plain "one line"
message where it is not."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.events.admin_schemas import FieldReader
from service.domain.matching.schemas import clean_text
from tests.test_manage_events import _event_body, _organizer


def test_a_multi_line_field_keeps_every_kind_of_line_break_as_lf() -> None:
    for raw in ("一行目\r\n二行目", "一行目\r二行目", "一行目\n二行目"):
        f = FieldReader({"description": raw})
        assert f.text("description", "内容", max_len=100, multiline=True) == "一行目\n二行目"
        assert f.errors == {}


def test_a_one_line_field_with_a_line_break_asks_for_one_line() -> None:
    for raw in ("お仕事\r\n面談会", "お仕事\r面談会", "お仕事\n面談会", "お仕事\t面談会"):
        f = FieldReader({"title": raw})
        f.text("title", "イベント名", max_len=100)
        assert f.errors == {"title": "イベント名は改行やタブを入れずに1行で入力してください。"}, raw


def test_invisible_characters_get_the_forbidden_characters_message_in_any_field() -> None:
    for multiline in (False, True):
        f = FieldReader({"title": "お仕事\u200b面談会"})
        f.text("title", "イベント名", max_len=100, multiline=multiline)
        assert "使えない文字" in f.errors["title"]


def test_matching_profiles_keep_their_line_breaks() -> None:
    fields: dict[str, str] = {}
    value = clean_text(
        "経理20年\r\n簿記2級\r運転免許", "profile", "自己紹介", 500, fields, multiline=True
    )
    assert value == "経理20年\n簿記2級\n運転免許" and fields == {}
    clean_text("経理\r\n20年", "name", "お名前", 50, fields, multiline=False)
    assert "name" in fields


async def test_the_event_api_names_the_one_line_field(
    client: AsyncClient, db: AsyncSession
) -> None:
    headers = await _organizer(db)
    r = await client.post(
        "/api/v1/manage/events",
        json=_event_body(title="お仕事\n面談会", description="一行目\r\n二行目"),
        headers=headers,
    )
    assert r.status_code == 422, r.text
    assert r.json()["fields"] == {
        "title": "イベント名は改行やタブを入れずに1行で入力してください。"
    }
    r = await client.post(
        "/api/v1/manage/events", json=_event_body(description="一行目\r\n二行目"), headers=headers
    )
    assert r.status_code == 201, r.text
    stored = await db.scalar(
        text("SELECT description FROM events WHERE id = :e"), {"e": r.json()["id"]}
    )
    assert stored == "一行目\n二行目"
