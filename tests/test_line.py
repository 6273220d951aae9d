"""The desk's official LINE account, against a local LINE stand-in on loopback
(tests/line_standin.py), a real arq worker, PostgreSQL, Redis and SMTP."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import structlog.testing
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.domain.bookings.normalize import format_code
from service.domain.indicators import service as indicators
from service.domain.line.repository import LineRepository, NewsPrefs
from service.platform.jobs import enqueue_after_commit_jobs
from service.platform.local_time import TOKYO
from service.platform.settings import Settings
from tests.conftest import open_app
from tests.factories import make_org, person
from tests.line_standin import (
    SECRET,
    TOKEN,
    LineStandIn,
    Planned,
    event,
    payload,
    sign,
    user_id,
)
from tests.mail_support import Mailbox, arq_pool, book_and_commit, run_worker, session_at, tokyo_day
from tests.manage_support import bearer, csrf_token, issue_token, make_staff, post_form, web_login


@pytest.fixture
async def standin() -> AsyncIterator[LineStandIn]:
    async with LineStandIn().running() as server:
        yield server


@pytest.fixture
def line_settings(mail_settings: Settings, standin: LineStandIn) -> Settings:
    return dataclasses.replace(
        mail_settings,
        line_channel_secret=SECRET,
        line_channel_access_token=TOKEN,
        line_api_base_url=standin.url,
        line_data_api_base_url=standin.url,
    )


@pytest.fixture
async def line_client(line_settings: Settings) -> AsyncIterator[AsyncClient]:
    async with open_app(line_settings) as app:
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://testserver") as c:
            c.app = app  # type: ignore[attr-defined]
            yield c


async def post_events(client: AsyncClient, settings: Settings, *events: dict[str, Any]) -> Any:
    """LINE's call: signed body, then the jobs it queued reach Redis (as after a request)."""
    body = payload(*events)
    response = await client.post(
        "/line/webhook",
        content=body,
        headers={"X-Line-Signature": sign(body), "Content-Type": "application/json"},
    )
    await client.app.state.resources.jobs.flush()  # type: ignore[attr-defined]
    return response


async def rows(db: AsyncSession, sql: str, **params: Any) -> list[Any]:
    await db.rollback()
    return list((await db.execute(text(sql), params)).all())


# the webhook


async def test_a_bad_or_missing_signature_is_refused_and_nothing_is_kept(
    db: AsyncSession, line_client: AsyncClient, line_settings: Settings
) -> None:
    body = payload(event("follow", user_id(1)))
    wrong = sign(body, secret="another-channel-secret")
    for headers in ({"X-Line-Signature": wrong}, {}, {"X-Line-Signature": "短い".encode()}):
        with structlog.testing.capture_logs() as logged:
            response = await line_client.post("/line/webhook", content=body, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "line_signature_invalid"
        # Logged, without the body (user ids, what people wrote).
        [entry] = [e for e in logged if e["event"] == "line_webhook_bad_signature"]
        assert user_id(1) not in repr(logged) and entry["bytes"] == len(body)
    # Signed with the right secret but tampered with afterwards.
    tampered = body.replace(b"follow", b"unfollow")
    response = await line_client.post(
        "/line/webhook", content=tampered, headers={"X-Line-Signature": sign(body)}
    )
    assert response.status_code == 401
    assert await rows(db, "SELECT id FROM line_webhook_events") == []


async def test_the_webhook_is_off_without_the_channel_secrets(client: AsyncClient) -> None:
    body = payload(event("follow", user_id(1)))
    response = await client.post(
        "/line/webhook", content=body, headers={"X-Line-Signature": sign(body)}
    )
    assert response.status_code == 404
    assert (await client.get("/line/link?linkToken=abc")).status_code == 404


async def test_a_good_event_is_processed_once_even_when_redelivered(
    db: AsyncSession, line_client: AsyncClient, line_settings: Settings, standin: LineStandIn
) -> None:
    follow = event("follow", user_id(1), event_id="01HFOLLOWONCE0000000000000")
    first = await post_events(line_client, line_settings, follow)
    assert first.status_code == 200 and first.json() == {"stored": 1}
    await run_worker(line_settings)
    again = dict(follow, deliveryContext={"isRedelivery": True})
    second = await post_events(line_client, line_settings, again)
    assert second.status_code == 200 and second.json() == {"stored": 0}
    await run_worker(line_settings)

    assert len(await rows(db, "SELECT id FROM line_follows")) == 1
    [stored] = await rows(db, "SELECT processed_at, last_error FROM line_webhook_events")
    assert stored.processed_at is not None and stored.last_error is None
    # One welcome, with the button that starts the link.
    [reply] = standin.delivered("reply")
    [message] = reply.body["messages"]
    assert "友だち追加ありがとうございます" in message["text"]
    assert message["quickReply"]["items"][0]["action"]["text"] == "予約と連携"
    # The user id is kept only hashed.
    [follow_row] = await rows(db, "SELECT user_hash FROM line_follows")
    assert user_id(1) not in follow_row.user_hash and len(follow_row.user_hash) == 64


# 公式LINE新規登録者数


def ms(day: datetime) -> int:
    return int(day.timestamp() * 1000)


async def test_follows_compile_into_the_indicator_once_per_user_and_year(
    db: AsyncSession, line_client: AsyncClient, line_settings: Settings
) -> None:
    [definition] = await rows(
        db, "SELECT id FROM indicator_definitions WHERE code = 'outcome_line_registrations'"
    )
    # Hand figures: R4 (before LINE was connected) and a month of R6 before the first follow.
    await db.execute(
        text(
            "INSERT INTO indicator_hand_figures (definition_id, month, value) VALUES "
            "(:d, '2022-09-01', 30), (:d, '2024-04-01', 7), (:d, '2024-05-01', 99)"
        ),
        {"d": definition.id},
    )
    await db.commit()
    may = datetime(2024, 5, 10, 12, tzinfo=TOKYO)
    june = datetime(2024, 6, 3, 12, tzinfo=TOKYO)
    await post_events(
        line_client,
        line_settings,
        event("follow", user_id(1), at_ms=ms(may)),
        event("unfollow", user_id(1), at_ms=ms(may + timedelta(days=1))),
        event("follow", user_id(1), at_ms=ms(june)),  # again, same year: not new
        event("follow", user_id(2), at_ms=ms(june)),
        event("follow", user_id(3), at_ms=ms(datetime(2025, 4, 2, tzinfo=TOKYO))),
    )
    await run_worker(line_settings)
    # The follows marked their years stale, so the minute's compile picks them up.
    assert {2024, 2025} <= set(await indicators.stale_years(db))
    for year in (2022, 2024, 2025):
        await indicators.compile_year(db, year)
    await db.commit()

    figures = {
        (r.fiscal_year, r.period): r.value
        for r in await rows(
            db,
            "SELECT fiscal_year, period, value FROM indicator_figures "
            "WHERE definition_id = :d AND scope_org_id = 0",
            d=definition.id,
        )
    }
    assert figures[(2022, "2022-09")] == Decimal(30)  # an earlier year keeps its hand figure
    assert figures[(2024, "2024-04")] == Decimal(7)  # a month before the first follow too
    assert figures[(2024, "2024-05")] == Decimal(1)  # compiled, replacing the typed 99
    assert figures[(2024, "2024-06")] == Decimal(1)  # user 2 only: user 1 counted in May
    assert figures[(2024, "total")] == Decimal(9)
    assert figures[(2025, "2025-04")] == Decimal(1)


# linking


async def _link_through_the_page(
    client: AsyncClient,
    settings: Settings,
    standin: LineStandIn,
    user: str,
    code: str,
    phone: str,
    news: dict[str, Any] | None = None,
) -> str:
    """The chat's 「予約と連携」, our page, and LINE's accountLink event: the nonce."""
    await post_events(
        client,
        settings,
        event(
            "message",
            user,
            message={"type": "text", "id": "1", "text": "予約と連携", "quoteToken": "q"},
        ),
    )
    await run_worker(settings)
    invitation = standin.delivered("reply")[-1].body["messages"][0]
    url = invitation["quickReply"]["items"][0]["action"]["uri"]
    assert url.startswith(settings.base_url + "/line/link?linkToken=LT")
    link_token = parse_qs(urlsplit(url).query)["linkToken"][0]
    assert standin.link_tokens[link_token] == user

    page = await client.get(f"/line/link?linkToken={link_token}")
    assert page.status_code == 200 and "予約番号または連携コード" in page.text
    form = {"linkToken": link_token, "code": code, "phone": phone, **(news or {})}
    sent = await client.post(
        "/line/link", data=form, headers={"x-csrftoken": await csrf_token(client)}
    )
    assert sent.status_code == 303, sent.text
    target = urlsplit(sent.headers["location"])
    assert (target.scheme, target.netloc, target.path) == (
        "https",
        "access.line.me",
        "/dialog/bot/accountLink",
    )
    query = parse_qs(target.query)
    assert query["linkToken"] == [link_token]
    return query["nonce"][0]


async def test_account_link_end_to_end_and_unlink_from_the_chat(
    db: AsyncSession, line_client: AsyncClient, line_settings: Settings, standin: LineStandIn
) -> None:
    session = await session_at(db, tokyo_day(5) + timedelta(hours=10))
    async with arq_pool(line_settings) as redis:
        view = await book_and_commit(db, redis, session.id, person(7, email=True))
    user = user_id(7)
    await post_events(line_client, line_settings, event("follow", user))
    await run_worker(line_settings)

    # A wrong phone is refused on the page, with the field named, and links nothing.
    wrong = await line_client.post(
        "/line/link",
        data={"linkToken": "LTabc", "code": format_code(view.code), "phone": "0900000000"},
        headers={"x-csrftoken": await csrf_token(line_client)},
    )
    assert wrong.status_code == 303 and wrong.headers["location"].startswith("/line/link?d=")
    shown = await line_client.get(wrong.headers["location"])
    assert "確認できませんでした" in shown.text

    nonce = await _link_through_the_page(
        line_client,
        line_settings,
        standin,
        user,
        format_code(view.code),
        "０９０－００００－０００７",
    )
    assert await rows(db, "SELECT id FROM line_links") == []  # not before LINE's event
    link_event = event("accountLink", user, link={"result": "ok", "nonce": nonce})
    await post_events(line_client, line_settings, link_event)
    await run_worker(line_settings)
    [link] = await rows(db, "SELECT line_user_id, person_id FROM line_links")
    [booking] = await rows(db, "SELECT person_id FROM bookings WHERE id = :b", b=view.id)
    assert (link.line_user_id, link.person_id) == (user, booking.person_id)
    assert "連携しました" in standin.texts("reply")[-1]

    # The same nonce again (another user replaying it) links nobody.
    await post_events(
        line_client,
        line_settings,
        event("accountLink", user_id(8), link={"result": "ok", "nonce": nonce}),
    )
    await run_worker(line_settings)
    assert len(await rows(db, "SELECT id FROM line_links")) == 1
    assert "連携できませんでした" in standin.texts("reply")[-1]

    # Unlinking from the chat asks first; the postback does it.
    await post_events(
        line_client,
        line_settings,
        event(
            "message",
            user,
            message={"type": "text", "id": "2", "text": "連携解除", "quoteToken": "q"},
        ),
    )
    await run_worker(line_settings)
    assert len(await rows(db, "SELECT id FROM line_links")) == 1
    await post_events(
        line_client, line_settings, event("postback", user, postback={"data": "unlink"})
    )
    await run_worker(line_settings)
    assert await rows(db, "SELECT id FROM line_links") == []


async def test_a_desk_code_links_a_person_without_a_booking_code(
    db: AsyncSession, line_client: AsyncClient, line_settings: Settings, standin: LineStandIn
) -> None:
    session = await session_at(db, tokyo_day(5) + timedelta(hours=10))
    async with arq_pool(line_settings) as redis:
        view = await book_and_commit(db, redis, session.id, person(9))
    staff = await make_staff(db, "organizer")
    token = await issue_token(db, staff)
    await db.commit()
    issued = await line_client.post(
        f"/api/v1/manage/bookings/{view.id}/line-code", headers=bearer(token)
    )
    assert issued.status_code == 200
    code = issued.json()["code"]
    assert re.fullmatch(r"\d{8}", code)
    user = user_id(9)
    nonce = await _link_through_the_page(
        line_client, line_settings, standin, user, code, view.phone
    )
    await post_events(
        line_client,
        line_settings,
        event("accountLink", user, link={"result": "ok", "nonce": nonce}),
    )
    await run_worker(line_settings)
    assert len(await rows(db, "SELECT id FROM line_links WHERE line_user_id = :u", u=user)) == 1


# notices


async def _linked_waiting_person(
    db: AsyncSession, settings: Settings, *, email: bool
) -> tuple[Any, Any, str]:
    """A full session (one seat) with a holder and a person on the waiting list whose LINE is
    linked; the holder's cancel promotes them."""
    session = await session_at(db, tokyo_day(3) + timedelta(hours=10), capacity=1)
    async with arq_pool(settings) as redis:
        first = await book_and_commit(db, redis, session.id, person(1, email=True))
        waiting = await book_and_commit(db, redis, session.id, person(2, email=email))
    user = user_id(2)
    [row] = await rows(db, "SELECT person_id FROM bookings WHERE id = :b", b=waiting.id)
    await LineRepository(db).link(user, row.person_id, NewsPrefs())
    await db.commit()
    return first, waiting, user


async def _cancel_and_send(db: AsyncSession, settings: Settings, first: Any) -> None:
    await run_worker(settings)  # the confirmations and the waiting-list notice
    await bookings.cancel_booking(db, first.code, first.phone)
    await db.commit()
    await db.execute(text("UPDATE notifications SET send_after = now()"))
    await db.commit()
    async with arq_pool(settings) as redis:
        await enqueue_after_commit_jobs(db, redis)
    await run_worker(settings)


async def test_a_promotion_reaches_a_linked_person_by_line(
    db: AsyncSession, line_settings: Settings, standin: LineStandIn, smtp: tuple[Mailbox, int]
) -> None:
    first, waiting, user = await _linked_waiting_person(db, line_settings, email=True)
    await _cancel_and_send(db, line_settings, first)

    pushes = [r for r in standin.delivered("push") if r.body["to"] == user]
    promoted = [r for r in pushes if "ご予約が確定しました" in r.body["messages"][0]["text"]]
    assert len(promoted) == 1
    message = promoted[0].body["messages"][0]
    assert format_code(waiting.code) in message["text"]
    actions = [i["action"] for i in message["quickReply"]["items"]]
    # 「キャンセルする」 only asks (a postback answered with a question), never cancels.
    assert {
        "type": "postback",
        "label": "キャンセルする",
        "data": f"cancel:{waiting.id}",
        "displayText": "キャンセルする",
    } in actions
    mailbox = smtp[0]
    assert "taro2@example.jp" not in [r for rs in mailbox.recipients for r in rs]
    [line_row] = await rows(
        db,
        "SELECT d.status FROM line_deliveries d JOIN notifications n ON n.id = d.notification_id "
        "WHERE n.kind = 'booking_promoted'",
    )
    assert line_row.status == "sent"


async def test_a_refused_push_falls_back_to_mail_then_to_the_call_list(
    db: AsyncSession, line_settings: Settings, standin: LineStandIn, smtp: tuple[Mailbox, int]
) -> None:
    first, _waiting, _user = await _linked_waiting_person(db, line_settings, email=True)
    await run_worker(line_settings)
    standin.plan("push", Planned(400))
    await _cancel_and_send(db, line_settings, first)
    mailbox = smtp[0]
    subjects = [str(m["Subject"]) for m in mailbox.messages if m["To"] == "taro2@example.jp"]
    assert any("確定" in s for s in subjects), subjects
    # A 400 is final: tried once, recorded, and the mail went instead.
    assert [r.status for r in standin.of("push")].count(400) == 1
    [delivery] = await rows(
        db,
        "SELECT d.status, d.last_error, n.status AS notice FROM line_deliveries d "
        "JOIN notifications n ON n.id = d.notification_id WHERE n.kind = 'booking_promoted'",
    )
    assert (delivery.status, delivery.notice) == ("failed", "sent")
    assert delivery.last_error.startswith("400")
    assert not any("ご予約が確定しました" in t for t in standin.texts("push"))


async def test_with_neither_line_nor_mail_the_promotion_goes_to_the_call_list(
    db: AsyncSession, line_settings: Settings, standin: LineStandIn
) -> None:
    first, waiting, _user = await _linked_waiting_person(db, line_settings, email=False)
    await run_worker(line_settings)
    standin.plan("push", Planned(400))
    await _cancel_and_send(db, line_settings, first)
    tasks = await rows(db, "SELECT booking_id, kind, reason FROM call_tasks")
    assert [(t.booking_id, t.kind, t.reason) for t in tasks] == [
        (waiting.id, "booking_promoted", "no_email")
    ]


async def test_429_with_retry_after_is_honoured_and_the_retry_key_kept(
    db: AsyncSession, line_settings: Settings, standin: LineStandIn
) -> None:
    first, _waiting, _user = await _linked_waiting_person(db, line_settings, email=False)
    await run_worker(line_settings)
    before = len(standin.of("push"))
    standin.plan("push", Planned(429, headers={"Retry-After": "1"}))
    await _cancel_and_send(db, line_settings, first)
    tries = standin.of("push")[before:]
    assert [t.status for t in tries][:2] == [429, 200]
    assert tries[1].at - tries[0].at >= 1.0
    assert tries[0].retry_key == tries[1].retry_key
    assert await rows(db, "SELECT id FROM call_tasks") == []


async def test_a_push_repeated_after_a_crash_is_not_sent_twice(
    db: AsyncSession, line_settings: Settings, standin: LineStandIn
) -> None:
    first, _waiting, _user = await _linked_waiting_person(db, line_settings, email=False)
    await _cancel_and_send(db, line_settings, first)
    # As if the worker died after LINE accepted, before the notice was marked sent.
    await db.execute(
        text(
            "UPDATE notifications SET status = 'pending', send_after = now() "
            "WHERE kind = 'booking_promoted'"
        )
    )
    await db.execute(text("UPDATE line_deliveries SET status = 'sending'"))
    await db.commit()
    [notice_id] = await db.scalars(
        text("SELECT id FROM notifications WHERE kind = 'booking_promoted'")
    )
    async with arq_pool(line_settings) as redis:
        await redis.enqueue_job("send_notification", notice_id, _job_id=f"again:{notice_id}")
    await run_worker(line_settings)

    promoted = [
        r
        for r in standin.of("push")
        if "確定しました" in r.body.get("messages", [{}])[0].get("text", "")
    ]
    assert [r.status for r in promoted] == [200, 409]  # LINE dropped the copy by its key
    assert promoted[0].retry_key == promoted[1].retry_key
    [notice] = await rows(db, "SELECT status FROM notifications WHERE id = :n", n=notice_id)
    assert notice.status == "sent"
    assert await rows(db, "SELECT id FROM call_tasks") == []


# news


async def test_news_reaches_only_followers_who_asked_for_it(
    db: AsyncSession, line_client: AsyncClient, line_settings: Settings, standin: LineStandIn
) -> None:
    session = await session_at(db, tokyo_day(20) + timedelta(hours=10), title="介護の仕事説明会")
    async with arq_pool(line_settings) as redis:
        people = [await book_and_commit(db, redis, session.id, person(n)) for n in range(1, 6)]
    person_ids = [r.person_id for r in await rows(db, "SELECT person_id FROM bookings ORDER BY id")]
    repo = LineRepository(db)
    await repo.link(user_id(1), person_ids[0], NewsPrefs(True, ("care",), ()))
    await repo.link(user_id(2), person_ids[1], NewsPrefs(True, ("security",), ()))  # not care
    await repo.link(user_id(3), person_ids[2], NewsPrefs(False, ("care",), ()))  # no consent
    await repo.link(user_id(4), person_ids[3], NewsPrefs(True, (), ("job_fair",)))  # by kind
    await repo.link(user_id(5), person_ids[4], NewsPrefs(True, ("care",), ()))
    await repo.set_following(user_id(5), False)  # unfollowed
    staff = await make_staff(db, "organizer")
    token = await issue_token(db, staff)
    await db.commit()
    event_id = session.event_id
    assert len(people) == 5

    preview = await line_client.get(
        f"/api/v1/manage/events/{event_id}/line-news?audience=subscribers", headers=bearer(token)
    )
    assert preview.status_code == 200
    assert preview.json()["recipients"] == 2 and "介護の仕事説明会" in preview.json()["text"]
    sent = await line_client.post(
        f"/api/v1/manage/events/{event_id}/line-news",
        headers=bearer(token),
        json={"audience": "subscribers"},
    )
    assert sent.status_code == 202, sent.text
    await line_client.app.state.resources.jobs.flush()  # type: ignore[attr-defined]
    await run_worker(line_settings)
    [multicast] = standin.delivered("multicast")
    assert multicast.body["to"] == [user_id(1), user_id(4)]
    again = await line_client.post(
        f"/api/v1/manage/events/{event_id}/line-news",
        headers=bearer(token),
        json={"audience": "subscribers"},
    )
    assert again.status_code == 409 and again.json()["error"] == "line_news_already_sent"
    # Staff without the organizer role cannot send news.
    cohost = await make_staff(db, "cohost", organization=await make_org(db, "ハローワーク静岡"))
    cohost_token = await issue_token(db, cohost)
    await db.commit()
    refused = await line_client.get(
        f"/api/v1/manage/events/{event_id}/line-news", headers=bearer(cohost_token)
    )
    assert refused.status_code in (403, 404)


# the chat's cancel, the look-up page's unlink, the console


async def test_cancel_from_the_chat_asks_first_and_only_for_the_persons_own_booking(
    db: AsyncSession, line_client: AsyncClient, line_settings: Settings, standin: LineStandIn
) -> None:
    session = await session_at(db, tokyo_day(4) + timedelta(hours=10))
    async with arq_pool(line_settings) as redis:
        mine = await book_and_commit(db, redis, session.id, person(11))
        other = await book_and_commit(db, redis, session.id, person(12))
    [row] = await rows(db, "SELECT person_id FROM bookings WHERE id = :b", b=mine.id)
    user = user_id(11)
    await LineRepository(db).link(user, row.person_id, NewsPrefs())
    await db.commit()

    await post_events(
        line_client, line_settings, event("postback", user, postback={"data": f"cancel:{mine.id}"})
    )
    await run_worker(line_settings)
    [status] = await rows(db, "SELECT status FROM bookings WHERE id = :b", b=mine.id)
    assert status.status == "confirmed"  # one tap only asks
    question = standin.delivered("reply")[-1].body["messages"][0]
    assert "取り消しますか" in question["text"]
    yes = question["quickReply"]["items"][0]["action"]
    assert (yes["label"], yes["data"]) == ("はい、キャンセルする", f"cancel_yes:{mine.id}")

    # Someone else's booking id reads as unknown, and stays booked.
    await post_events(
        line_client,
        line_settings,
        event("postback", user, postback={"data": f"cancel_yes:{other.id}"}),
    )
    await post_events(
        line_client, line_settings, event("postback", user, postback={"data": yes["data"]})
    )
    await run_worker(line_settings)
    statuses = dict((r.id, r.status) for r in await rows(db, "SELECT id, status FROM bookings"))
    assert statuses == {mine.id: "cancelled", other.id: "confirmed"}
    assert any("取り消しました" in t for t in standin.texts("reply"))


async def test_the_lookup_page_unlinks_after_asking(
    db: AsyncSession, line_client: AsyncClient, line_settings: Settings
) -> None:
    session = await session_at(db, tokyo_day(4) + timedelta(hours=10))
    async with arq_pool(line_settings) as redis:
        view = await book_and_commit(db, redis, session.id, person(13))
    [row] = await rows(db, "SELECT person_id FROM bookings WHERE id = :b", b=view.id)
    await LineRepository(db).link(user_id(13), row.person_id, NewsPrefs())
    await db.commit()
    csrf = await csrf_token(line_client)
    found = await line_client.post(
        "/bookings/lookup",
        data={"code": view.code, "phone": view.phone},
        headers={"x-csrftoken": csrf},
    )
    details = await line_client.get(found.headers["location"])
    assert "LINEとの連携をやめる" in details.text
    grant = parse_qs(urlsplit(found.headers["location"]).query)["g"][0]
    question = await line_client.get(f"/bookings/line-unlink?g={grant}")
    assert question.status_code == 200 and "連携をやめますか" in question.text
    assert len(await rows(db, "SELECT id FROM line_links")) == 1  # asking changes nothing
    done = await line_client.post(
        "/bookings/line-unlink", data={"g": grant}, headers={"x-csrftoken": csrf}
    )
    assert done.status_code == 303
    assert "LINEとの連携をやめました" in (await line_client.get(done.headers["location"])).text
    assert await rows(db, "SELECT id FROM line_links") == []


async def test_console_news_page_previews_then_sends_once(
    db: AsyncSession, line_client: AsyncClient, line_settings: Settings, standin: LineStandIn
) -> None:
    session = await session_at(db, tokyo_day(20) + timedelta(hours=10))
    async with arq_pool(line_settings) as redis:
        view = await book_and_commit(db, redis, session.id, person(21))
    [row] = await rows(db, "SELECT person_id FROM bookings WHERE id = :b", b=view.id)
    await LineRepository(db).link(user_id(21), row.person_id, NewsPrefs(True, ("care",), ()))
    staff = await make_staff(db, "organizer")
    await db.commit()
    await web_login(line_client, db, staff)
    await db.commit()

    shown = await line_client.get(f"/manage/events/{session.event_id}/line-news")
    assert shown.status_code == 200
    assert "<strong>1</strong>人" in shown.text and "この内容で送る" in shown.text
    sent = await post_form(
        line_client, f"/manage/events/{session.event_id}/line-news", {"audience": "subscribers"}
    )
    assert sent.status_code == 303
    await line_client.app.state.resources.jobs.flush()  # type: ignore[attr-defined]
    await run_worker(line_settings)
    after = await line_client.get(sent.headers["location"])
    assert "送信済み" in after.text and "この内容で送る" not in after.text
    assert [r.body["to"] for r in standin.delivered("multicast")] == [[user_id(21)]]

    code_page = await post_form(line_client, f"/manage/bookings/{view.id}/line-code")
    assert code_page.status_code == 200
    assert re.search(r"\d{4} \d{4}", code_page.text)


async def test_a_change_notice_by_line_says_before_and_after(
    db: AsyncSession, line_client: AsyncClient, line_settings: Settings, standin: LineStandIn
) -> None:
    starts = tokyo_day(6) + timedelta(hours=10)
    session = await session_at(db, starts)
    session_id, venue_id = session.id, session.venue_id
    async with arq_pool(line_settings) as redis:
        view = await book_and_commit(db, redis, session_id, person(31))
    [row] = await rows(db, "SELECT person_id FROM bookings WHERE id = :b", b=view.id)
    await LineRepository(db).link(user_id(31), row.person_id, NewsPrefs())
    staff = await make_staff(db, "organizer")
    token = await issue_token(db, staff)
    await db.commit()
    await run_worker(line_settings)
    moved = starts + timedelta(days=1, hours=3)
    body = {
        "venue_id": venue_id,
        "starts_at": moved.isoformat(),
        "ends_at": (moved + timedelta(hours=2)).isoformat(),
        "capacity": 15,
        "waitlist_limit": 10,
    }
    changed = await line_client.put(
        f"/api/v1/manage/sessions/{session_id}", json=body, headers=bearer(token)
    )
    assert changed.status_code == 200, changed.text
    await line_client.app.state.resources.jobs.flush()  # type: ignore[attr-defined]
    await run_worker(line_settings)
    [text_] = [t for t in standin.texts("push") if "変わりました" in t]
    old, new = starts.astimezone(TOKYO), moved.astimezone(TOKYO)
    before_part, after_part = text_.split("変更後：", 1)
    assert "【日時】" in before_part
    assert f"変更前：{old.month}月{old.day}日" in before_part and "10:00" in before_part
    assert after_part.startswith(f"{new.month}月{new.day}日") and "13:00" in after_part


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b'{"events": "none"}',
        b"[]",
        b'{"events": [1]}',
        b'{"events": [{"type": "follow"}]}',
        b'{"events": [{"type": "follow", "webhookEventId": "' + b"9" * 65 + b'"}]}',
        b'{"events": [{"type": "follow", "webhookEventId": "a\\u0000b"}]}',
        b'{"events": [{"type": 5, "webhookEventId": "x"}]}',
    ],
)
async def test_a_signed_but_malformed_body_is_a_4xx_and_keeps_nothing(
    db: AsyncSession, line_client: AsyncClient, body: bytes
) -> None:
    response = await line_client.post(
        "/line/webhook", content=body, headers={"X-Line-Signature": sign(body)}
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"] == "validation_error"
    assert await rows(db, "SELECT id FROM line_webhook_events") == []


async def test_nul_in_what_a_person_wrote_is_stored_not_a_500(
    db: AsyncSession, line_client: AsyncClient, line_settings: Settings
) -> None:
    message = {"type": "text", "id": "1", "text": "予約\u0000と連携", "quoteToken": "q"}
    response = await post_events(
        line_client, line_settings, event("message", user_id(1), message=message)
    )
    assert response.status_code == 200
    [stored] = await rows(db, "SELECT payload FROM line_webhook_events")
    assert stored.payload["message"]["text"] == "予約\ufffdと連携"


async def test_a_booking_changed_by_staff_is_told_by_line_with_what_changed(
    db: AsyncSession,
    line_client: AsyncClient,
    line_settings: Settings,
    standin: LineStandIn,
    smtp: tuple[Mailbox, int],
) -> None:
    session = await session_at(db, tokyo_day(5) + timedelta(hours=10))
    async with arq_pool(line_settings) as redis:
        view = await book_and_commit(db, redis, session.id, person(32, email=True))
    [row] = await rows(db, "SELECT person_id FROM bookings WHERE id = :b", b=view.id)
    await LineRepository(db).link(user_id(32), row.person_id, NewsPrefs())
    token = await issue_token(db, await make_staff(db, "organizer"))
    await db.commit()
    await run_worker(line_settings)
    changed = await line_client.patch(
        f"/api/v1/manage/bookings/{view.id}",
        json={"needs": "車いすで伺います"},
        headers=bearer(token),
    )
    assert changed.status_code == 200, changed.text
    await line_client.app.state.resources.jobs.flush()  # type: ignore[attr-defined]
    await run_worker(line_settings)

    [text_] = [t for t in standin.texts("push") if "ご予約の内容を変更しました" in t]
    assert "変更した項目：配慮事項" in text_ and format_code(view.code) in text_
    [notice] = await rows(
        db, "SELECT status, last_error FROM notifications WHERE kind = 'booking_changed'"
    )
    assert (notice.status, notice.last_error) == ("sent", None)
    # By LINE, so not by mail as well.
    subjects = [str(m["Subject"]) for m in smtp[0].messages]
    assert not any("変更" in s for s in subjects), subjects


async def test_a_kind_without_line_wording_goes_by_mail(
    db: AsyncSession,
    line_settings: Settings,
    standin: LineStandIn,
    smtp: tuple[Mailbox, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A notice kind added later, with no LINE wording yet (here: the promotion's taken away),
    goes by mail as it would without LINE, never failing on the missing words."""
    from service.domain.notifications import line_channel

    monkeypatch.delitem(line_channel.HEADLINES, "booking_promoted")
    first, _waiting, _user = await _linked_waiting_person(db, line_settings, email=True)
    await _cancel_and_send(db, line_settings, first)

    assert not any("確定" in t for t in standin.texts("push"))
    subjects = [str(m["Subject"]) for m in smtp[0].messages if m["To"] == "taro2@example.jp"]
    assert any("確定" in s for s in subjects), subjects
    [notice] = await rows(
        db, "SELECT id, status FROM notifications WHERE kind = 'booking_promoted'"
    )
    assert notice.status == "sent"
    # Not even tried by LINE: no delivery kept for it.
    assert (
        await rows(db, "SELECT id FROM line_deliveries WHERE notification_id = :n", n=notice.id)
        == []
    )


async def test_a_news_choice_not_on_the_list_is_named_on_the_link_page(
    line_client: AsyncClient,
) -> None:
    # A tampered form: the refusal said only 「入力内容に誤りがあります」, naming no field.
    posted = await line_client.post(
        "/line/link",
        data={
            "linkToken": "LTabc",
            "code": "1234-5678-9012",
            "phone": "0900000007",
            "news": "yes",
            "sectors": "nope",
            "kinds": "party",
        },
        headers={"x-csrftoken": await csrf_token(line_client)},
    )
    assert posted.status_code == 303
    shown = (await line_client.get(posted.headers["location"])).text
    assert '<a href="#sectors">' in shown and "分野を一覧から選んでください。" in shown
    assert '<a href="#kinds">' in shown and "種類を一覧から選んでください。" in shown
    assert 'id="sectors"' in shown and 'id="kinds"' in shown
