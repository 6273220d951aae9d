"""People (登録者) on the real database: registering, matching a booking to a known person,
duplicates, merges and withdrawal."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.domain.bookings.schemas import ValidBooking
from service.domain.errors import Conflict, InvalidInput
from service.domain.people import service as people
from service.domain.people.validation import check_person
from service.domain.privacy import PRIVACY_VERSION
from tests.factories import make_session


def _raw(**changes: object) -> dict[str, object]:
    return {
        "name": "駿河 花子",
        "name_kana": "するが はなこ",
        "phone": "０５４－２５４－１１１１",
        "email": "hanako@example.jp",
        "postal_code": "420-0853",
        "age_band": "65_69",
        "ward": "aoi",
        "contact_by": ["mail", "post"],
    } | changes


async def _register(db: AsyncSession, **changes: object) -> people.PersonView:
    view = await people.create(
        db, check_person(_raw(**changes)), via="desk", consent_privacy=True, consent_news=True
    )
    await db.commit()
    return view


async def _person_of(db: AsyncSession, code: str) -> int:
    found = await db.scalar(text("SELECT person_id FROM bookings WHERE code = :c"), {"c": code})
    assert found is not None
    return int(found)


async def test_registration_fills_the_address_and_records_the_consent(db: AsyncSession) -> None:
    person = await _register(db)
    assert person.phone == "0542541111"
    assert person.name_kana == "スルガ ハナコ"
    assert person.postal_code == "4200853"
    assert person.address == "静岡県静岡市葵区追手町"
    assert person.contact_by == ("mail", "post")
    assert person.consent.privacy and person.consent.news
    assert person.consent.version == PRIVACY_VERSION
    assert person.consent.agreed_at is not None and person.consent.withdrawn_at is None


async def test_registration_needs_consent_and_a_known_postal_code(db: AsyncSession) -> None:
    with pytest.raises(InvalidInput) as info:
        await people.create(
            db, check_person(_raw()), via="web", consent_privacy=False, consent_news=False
        )
    assert "consent_privacy" in info.value.fields
    with pytest.raises(InvalidInput) as info:
        check_person(_raw(postal_code="0000000"))
    assert "postal_code" in info.value.fields
    with pytest.raises(InvalidInput) as info:
        check_person(_raw(email="", contact_by=["mail"]))
    assert "contact_by" in info.value.fields


async def test_the_same_phone_and_kana_is_one_person(db: AsyncSession) -> None:
    await _register(db)
    with pytest.raises(Conflict) as info:
        await _register(db, name_kana="スルガハナコ", phone="054 254 1111")
    assert info.value.code == "person_exists"


async def test_a_booking_links_to_the_known_person(db: AsyncSession) -> None:
    known = await _register(db)
    s = await make_session(db)
    booked = await bookings.book(
        db,
        s.id,
        ValidBooking(
            name="駿河 花子",
            # What the booking form makes of hiragana typed without the space.
            name_kana="スルガハナコ",
            phone="0542541111",
            email=None,
            age_band=None,
            ward=None,
            heard_from="dm",
        ),
    )
    await db.commit()
    assert await _person_of(db, booked.code) == known.id
    found = await people.find_by_phone_and_kana(db, "054-254-1111", "するが　はなこ")
    assert found is not None and found.id == known.id


async def test_an_unknown_booker_becomes_a_person_with_the_booking_consent(
    db: AsyncSession,
) -> None:
    s = await make_session(db)
    booked = await bookings.book(
        db,
        s.id,
        ValidBooking(
            name="清水 一郎",
            name_kana="シミズ イチロウ",
            phone="09011112222",
            email="ichiro@example.jp",
            age_band="70_74",
            ward="shimizu",
            heard_from="dm",
        ),
    )
    await db.commit()
    person = await people.get(db, await _person_of(db, booked.code))
    assert person.registered_via == "booking"
    assert person.consent.privacy and not person.consent.news
    assert person.consent.version == PRIVACY_VERSION
    assert person.contact_by == ("mail", "phone")


async def test_link_booking_moves_a_booking_to_another_person(db: AsyncSession) -> None:
    known = await _register(db)
    s = await make_session(db)
    booked = await bookings.book(
        db,
        s.id,
        ValidBooking(
            name="駿河 花子",
            name_kana="スルガ ハナコ",
            phone="09099998888",
            email=None,
            age_band=None,
            ward=None,
            heard_from=None,
        ),
    )
    await db.commit()
    assert await _person_of(db, booked.code) != known.id
    await people.link_booking(db, booked.id, known.id)
    await db.commit()
    assert await _person_of(db, booked.code) == known.id


async def _book_as(db: AsyncSession, session_id: int, phone: str, kana: str) -> str:
    booked = await bookings.book(
        db,
        session_id,
        ValidBooking(
            name="駿河 花子",
            name_kana=kana,
            phone=phone,
            email=None,
            age_band=None,
            ward=None,
            heard_from=None,
        ),
    )
    await db.commit()
    return booked.code


async def test_a_merge_keeps_every_link_and_is_audited(db: AsyncSession) -> None:
    from service.domain.people import merge
    from tests.manage_support import make_staff

    staff = await make_staff(db, "organizer")
    from service.domain.accounts.actor import Actor

    actor = Actor.of(staff)
    kept = await _register(db, birth_year="1958")
    s1, s2 = await make_session(db), await make_session(db)
    # The same person booked twice from a mobile the desk did not know.
    codes = [
        await _book_as(db, s1.id, "09012340000", "スルガ ハナコ"),
        await _book_as(db, s2.id, "09012340000", "スルガ ハナコ"),
    ]
    dup_id = await _person_of(db, codes[0])
    assert dup_id != kept.id and await _person_of(db, codes[1]) == dup_id
    await db.execute(
        text(
            "INSERT INTO desk_records (kind, occurred_on, sector, channel, person_id, quantity,"
            " note) VALUES ('consultation', '2026-11-02', 'general', 'desk', :p, 1, '')"
        ),
        {"p": dup_id},
    )
    await db.commit()
    found = await merge.duplicates(db, actor, kept.id)
    assert found == []  # different phone, no birth year or ward in common yet
    await people.update(db, dup_id, {"ward": "aoi"}, actor=None)
    await db.commit()
    assert [p.id for p in await merge.duplicates(db, actor, kept.id)] == [dup_id]

    outcome = await merge.merge(db, actor, kept.id, dup_id)
    await db.commit()
    assert outcome.moved["bookings"] == 2 and outcome.moved["desk_records"] == 1
    assert [await _person_of(db, c) for c in codes] == [kept.id, kept.id]
    merged = await people.get(db, kept.id)
    assert merged.phone_alt == "09012340000"
    assert (
        await db.scalar(
            text("SELECT count(*) FROM desk_records WHERE person_id = :p"), {"p": kept.id}
        )
        == 1
    )
    assert (
        await db.scalar(
            text("SELECT kept_id FROM person_merges WHERE duplicate_id = :d"), {"d": dup_id}
        )
        == kept.id
    )
    assert (
        await db.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'person.merge'")) == 1
    )
    # The second phone now finds the kept person for the next booking too.
    s3 = await make_session(db)
    assert await _person_of(db, await _book_as(db, s3.id, "09012340000", "スルガハナコ")) == (
        kept.id
    )


async def test_a_withdrawn_person_has_no_contact_details_left(db: AsyncSession) -> None:
    person = await _register(db)
    s = await make_session(db)
    code = await _book_as(db, s.id, "0542541111", "スルガ ハナコ")
    assert await _person_of(db, code) == person.id
    withdrawn = await people.withdraw(db, person.id, actor=None)
    await db.commit()
    assert withdrawn.consent.withdrawn_at is not None and not withdrawn.consent.news
    row = (
        await db.execute(
            text(
                "SELECT phone, phone_alt, email, postal_code, address, contact_by "
                "FROM persons WHERE id = :p"
            ),
            {"p": person.id},
        )
    ).one()
    assert tuple(row) == (None, None, None, None, None, [])
    booking = (
        await db.execute(text("SELECT phone, email FROM bookings WHERE code = :c"), {"c": code})
    ).one()
    assert booking.email is None and booking.phone.startswith("-")
    # The booking's confirmation mail, still pending, will not go out.
    assert set(
        await db.scalars(
            text(
                "SELECT n.status FROM notifications n JOIN bookings b ON b.id = n.booking_id"
                " WHERE b.code = :c"
            ),
            {"c": code},
        )
    ) == {"skipped"}
    with pytest.raises(Conflict):
        await people.update(db, person.id, {"email": "again@example.jp"}, actor=None)


async def test_retention_removes_inactive_people_not_kept_by_consent(db: AsyncSession) -> None:
    from datetime import timedelta

    from service.domain import clock
    from service.domain.indicators.retention import purge_batch

    quiet = await _register(db, phone="0542540001", name_kana="しずか いちろう")
    informed = await _register(db, phone="0542540002", name_kana="しずか じろう")
    recent = await _register(db, phone="0542540003", name_kana="しずか さぶろう")
    await db.execute(text("UPDATE persons SET consent_news = false WHERE id = :p"), {"p": quiet.id})
    await db.execute(
        text("UPDATE persons SET last_active_at = now() - interval '25 months' WHERE id <> :p"),
        {"p": recent.id},
    )
    await db.commit()
    outcome = await purge_batch(db, clock.now() + timedelta(minutes=1), 24)
    await db.commit()
    assert outcome.persons == 1
    left = set(await db.scalars(text("SELECT id FROM persons")))
    assert left == {informed.id, recent.id}


async def test_a_merge_keeps_the_duplicates_second_phone(db: AsyncSession) -> None:
    """Two people sharing a landline, the duplicate also with a mobile: the kept record takes
    the mobile as its second phone (it was dropped when the landline was already known)."""
    from service.domain.accounts.actor import Actor
    from service.domain.people import merge
    from tests.manage_support import make_staff

    actor = Actor.of(await make_staff(db, "organizer"))
    kept = await _register(db)
    s = await make_session(db)
    dup_id = await _person_of(db, await _book_as(db, s.id, "0542541111", "スルガ ハナ"))
    assert dup_id != kept.id
    await people.update(db, dup_id, {"phone_alt": "090-1234-0000"}, actor=None)
    await db.commit()

    await merge.merge(db, actor, kept.id, dup_id)
    await db.commit()
    merged = await people.get(db, kept.id)
    assert (merged.phone, merged.phone_alt) == ("0542541111", "09012340000")
