"""The booking statements as text() had them before they became Core (commit ef0b6ab, issue 21
point 5): the baseline tests/bench/core_vs_text.py runs against the product's Core versions.
Frozen copies, expanded from their fragments (PERSON_UPSERT, _GATE, _OPEN, _DUPLICATE,
_COMPANIONS); not used by the product.
"""

# The SQL is kept byte for byte, trailing spaces included.
# ruff: noqa: W291

from sqlalchemy import text

from service.platform.db import DriverStatement

CONFIRM_SQL = """
WITH gate AS (
    SELECT se.id, se.status AS session_status, e.status AS event_status,
           se.booking_opens_at AS opens_at, se.booking_closes_at AS closes_at,
           se.starts_at, se.ends_at, CAST(:now AS timestamptz) AS now, se.waitlist_count,
           se.waitlist_limit,
           e.id AS event_id, e.title AS event_title, e.kind AS event_kind,
           v.name AS venue_name, v.address AS venue_address, v.ward, e.max_companions,
           se.matching_day
    FROM sessions se JOIN events e ON e.id = se.event_id JOIN venues v ON v.id = se.venue_id
    WHERE se.id = :session_id
),
key_claim AS (
    INSERT INTO idempotency_records (scope, key, request_hash, status_code, response)
    SELECT CAST(:idem_scope AS text), CAST(:idem_key AS text), CAST(:idem_hash AS text), 0,
           CAST('{}' AS jsonb)
    WHERE CAST(:idem_key AS text) IS NOT NULL
    ON CONFLICT (scope, key) DO NOTHING
    RETURNING 1
),
keyed AS (
    SELECT CAST(:idem_key AS text) IS NULL OR EXISTS (SELECT 1 FROM key_claim) AS claimed
),
ok AS (
    SELECT id FROM gate, keyed
    WHERE keyed.claimed AND 
    session_status = 'scheduled' AND event_status = 'published'
    AND now >= opens_at AND now < closes_at AND starts_at > now
    AND CAST(:party_size AS int) - 1 <= max_companions
 AND waitlist_count = 0 AND NOT 
    EXISTS (SELECT 1 FROM bookings b WHERE b.session_id = :session_id
            AND b.status IN ('confirmed', 'waitlisted')
            AND (b.phone = :phone OR (CAST(:email AS text) IS NOT NULL
                                      AND lower(b.email) = lower(CAST(:email AS text)))))

),
seat AS (
    SELECT st.id FROM session_seats st JOIN ok ON st.session_id = ok.id
    WHERE st.booking_id IS NULL
    ORDER BY st.seat_no LIMIT CAST(:party_size AS int)
    FOR UPDATE OF st SKIP LOCKED
),
enough AS (SELECT 1 FROM seat HAVING count(*) = CAST(:party_size AS int)),

person_alt AS (
    SELECT p.id FROM persons p, enough
    WHERE p.phone_alt = :phone AND p.kana_key = translate(:name_kana, ' ・', '')
    ORDER BY p.id LIMIT 1
),
person_new AS (
    INSERT INTO persons (name, name_kana, phone, email, age_band, ward, registered_via,
                         consent_privacy, consent_version, consent_agreed_at, contact_by)
    SELECT :name, :name_kana, :phone, CAST(:email AS text), CAST(:age_band AS text),
           CAST(:ward AS text), 'booking', true, :consent_version, now(),
           CASE WHEN CAST(:email AS text) IS NULL THEN CAST('{phone}' AS varchar[])
                ELSE CAST('{mail,phone}' AS varchar[]) END
    FROM enough WHERE NOT EXISTS (SELECT 1 FROM person_alt)
    ON CONFLICT (phone, kana_key) DO UPDATE SET
        name = EXCLUDED.name,
        email = COALESCE(EXCLUDED.email, persons.email),
        age_band = COALESCE(EXCLUDED.age_band, persons.age_band),
        ward = COALESCE(EXCLUDED.ward, persons.ward),
        last_active_at = now(),
        updated_at = now()
    RETURNING id
),
person_seen AS (
    UPDATE persons SET last_active_at = now() FROM person_alt
    WHERE persons.id = person_alt.id RETURNING persons.id
),
person AS (SELECT id FROM person_new UNION ALL SELECT id FROM person_seen),
bk AS (
    INSERT INTO bookings (code, session_id, person_id, status, channel, phone, email, heard_from,
                          confirmed_at, created_by_id, party_size, needs)
    SELECT :code, :session_id, person.id, 'confirmed', :channel, :phone, CAST(:email AS text),
           CAST(:heard_from AS text), now(), CAST(:staff_id AS bigint),
           CAST(:party_size AS int), CAST(:needs AS text)
    FROM person
    RETURNING id, created_at
),
claim AS (
    UPDATE session_seats SET booking_id = bk.id FROM bk, seat
    WHERE session_seats.id = seat.id RETURNING session_seats.id
),
companions AS (
    INSERT INTO booking_companions (booking_id, name, name_kana, position)
    SELECT bk.id, c.name, c.kana, c.position
    FROM bk, unnest(CAST(:companion_names AS text[]), CAST(:companion_kanas AS text[]))
         WITH ORDINALITY AS c(name, kana, position)
    RETURNING booking_id
),
notice AS (
    INSERT INTO notifications (booking_id, kind, dedup_key)
    SELECT id, 'booking_confirmed', 'booking_confirmed:' || id FROM bk
    RETURNING id
)
SELECT gate.*, 
    EXISTS (SELECT 1 FROM bookings b WHERE b.session_id = :session_id
            AND b.status IN ('confirmed', 'waitlisted')
            AND (b.phone = :phone OR (CAST(:email AS text) IS NOT NULL
                                      AND lower(b.email) = lower(CAST(:email AS text)))))
 AS duplicate, (SELECT id FROM bk) AS booking_id,
       (SELECT id FROM notice) AS notification_id, (SELECT claimed FROM keyed) AS claimed
FROM gate
"""

WAITLIST_SQL = """
WITH slot AS (
    UPDATE sessions SET waitlist_count = waitlist_count + 1
    WHERE id = :session_id AND waitlist_count < waitlist_limit
    RETURNING waitlist_count AS position
),

person_alt AS (
    SELECT p.id FROM persons p, slot
    WHERE p.phone_alt = :phone AND p.kana_key = translate(:name_kana, ' ・', '')
    ORDER BY p.id LIMIT 1
),
person_new AS (
    INSERT INTO persons (name, name_kana, phone, email, age_band, ward, registered_via,
                         consent_privacy, consent_version, consent_agreed_at, contact_by)
    SELECT :name, :name_kana, :phone, CAST(:email AS text), CAST(:age_band AS text),
           CAST(:ward AS text), 'booking', true, :consent_version, now(),
           CASE WHEN CAST(:email AS text) IS NULL THEN CAST('{phone}' AS varchar[])
                ELSE CAST('{mail,phone}' AS varchar[]) END
    FROM slot WHERE NOT EXISTS (SELECT 1 FROM person_alt)
    ON CONFLICT (phone, kana_key) DO UPDATE SET
        name = EXCLUDED.name,
        email = COALESCE(EXCLUDED.email, persons.email),
        age_band = COALESCE(EXCLUDED.age_band, persons.age_band),
        ward = COALESCE(EXCLUDED.ward, persons.ward),
        last_active_at = now(),
        updated_at = now()
    RETURNING id
),
person_seen AS (
    UPDATE persons SET last_active_at = now() FROM person_alt
    WHERE persons.id = person_alt.id RETURNING persons.id
),
person AS (SELECT id FROM person_new UNION ALL SELECT id FROM person_seen),
bk AS (
    INSERT INTO bookings (code, session_id, person_id, status, waitlist_position, channel, phone,
                          email, heard_from, waitlisted_at, created_by_id, party_size, needs)
    SELECT :code, :session_id, person.id, 'waitlisted', slot.position, :channel, :phone,
           CAST(:email AS text), CAST(:heard_from AS text), now(), CAST(:staff_id AS bigint),
           CAST(:party_size AS int), CAST(:needs AS text)
    FROM person, slot
    RETURNING id
),
companions AS (
    INSERT INTO booking_companions (booking_id, name, name_kana, position)
    SELECT bk.id, c.name, c.kana, c.position
    FROM bk, unnest(CAST(:companion_names AS text[]), CAST(:companion_kanas AS text[]))
         WITH ORDINALITY AS c(name, kana, position)
    RETURNING booking_id
),
notice AS (
    INSERT INTO notifications (booking_id, kind, dedup_key)
    SELECT id, 'booking_waitlisted', 'booking_waitlisted:' || id FROM bk
    RETURNING id
)
SELECT (SELECT id FROM bk) AS booking_id, (SELECT id FROM notice) AS notification_id,
       (SELECT position FROM slot) AS position
"""

QUEUE_SQL = """
WITH slot AS (
    UPDATE sessions SET waitlist_count = waitlist_count + 1
    WHERE id = :session_id AND waitlist_count < waitlist_limit
      AND waitlist_count > 0 AND status = 'scheduled'
      AND CAST(:now AS timestamptz) >= booking_opens_at
      AND CAST(:now AS timestamptz) < booking_closes_at
      AND starts_at > CAST(:now AS timestamptz)
      AND EXISTS (SELECT 1 FROM events e WHERE e.id = sessions.event_id
                  AND e.status = 'published' AND CAST(:party_size AS int) - 1 <= e.max_companions)
      AND NOT 
    EXISTS (SELECT 1 FROM bookings b WHERE b.session_id = :session_id
            AND b.status IN ('confirmed', 'waitlisted')
            AND (b.phone = :phone OR (CAST(:email AS text) IS NOT NULL
                                      AND lower(b.email) = lower(CAST(:email AS text)))))

    RETURNING waitlist_count AS position
),

person_alt AS (
    SELECT p.id FROM persons p, slot
    WHERE p.phone_alt = :phone AND p.kana_key = translate(:name_kana, ' ・', '')
    ORDER BY p.id LIMIT 1
),
person_new AS (
    INSERT INTO persons (name, name_kana, phone, email, age_band, ward, registered_via,
                         consent_privacy, consent_version, consent_agreed_at, contact_by)
    SELECT :name, :name_kana, :phone, CAST(:email AS text), CAST(:age_band AS text),
           CAST(:ward AS text), 'booking', true, :consent_version, now(),
           CASE WHEN CAST(:email AS text) IS NULL THEN CAST('{phone}' AS varchar[])
                ELSE CAST('{mail,phone}' AS varchar[]) END
    FROM slot WHERE NOT EXISTS (SELECT 1 FROM person_alt)
    ON CONFLICT (phone, kana_key) DO UPDATE SET
        name = EXCLUDED.name,
        email = COALESCE(EXCLUDED.email, persons.email),
        age_band = COALESCE(EXCLUDED.age_band, persons.age_band),
        ward = COALESCE(EXCLUDED.ward, persons.ward),
        last_active_at = now(),
        updated_at = now()
    RETURNING id
),
person_seen AS (
    UPDATE persons SET last_active_at = now() FROM person_alt
    WHERE persons.id = person_alt.id RETURNING persons.id
),
person AS (SELECT id FROM person_new UNION ALL SELECT id FROM person_seen),
bk AS (
    INSERT INTO bookings (code, session_id, person_id, status, waitlist_position, channel, phone,
                          email, heard_from, waitlisted_at, created_by_id, party_size, needs)
    SELECT :code, :session_id, person.id, 'waitlisted', slot.position, :channel, :phone,
           CAST(:email AS text), CAST(:heard_from AS text), now(), CAST(:staff_id AS bigint),
           CAST(:party_size AS int), CAST(:needs AS text)
    FROM person, slot
    RETURNING id
),
companions AS (
    INSERT INTO booking_companions (booking_id, name, name_kana, position)
    SELECT bk.id, c.name, c.kana, c.position
    FROM bk, unnest(CAST(:companion_names AS text[]), CAST(:companion_kanas AS text[]))
         WITH ORDINALITY AS c(name, kana, position)
    RETURNING booking_id
),
notice AS (
    INSERT INTO notifications (booking_id, kind, dedup_key)
    SELECT id, 'booking_waitlisted', 'booking_waitlisted:' || id FROM bk
    RETURNING id
)
SELECT (SELECT id FROM bk) AS booking_id, (SELECT id FROM notice) AS notification_id,
       (SELECT position FROM slot) AS position
"""

CONFIRM = DriverStatement.of(text(CONFIRM_SQL))
WAITLIST = DriverStatement.of(text(WAITLIST_SQL))
QUEUE = DriverStatement.of(text(QUEUE_SQL))
