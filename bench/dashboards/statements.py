"""The SQL that fills a dashboard benchmark database (see `dataset.py`): one set-based statement per table, each
value drawn from a hash of the row's key, rows inserted in the order they were created.

Parameters are psycopg's `%(name)s` (so a literal `%` is written `%%` in a statement that has any); `pg_temp.pick`
is created on the loading connection first (`PICK`).
"""

# 0 … n-1 from a hash of (x, seed): the same data for the same scale, run after run.
PICK = """
CREATE FUNCTION pg_temp.pick(x bigint, seed bigint, n bigint) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (((hashint8extended(x, seed) % n) + n) % n)::int $$
"""

SESSION_SETTINGS = (
    "SET synchronous_commit = off",
    "SET work_mem = '256MB'",
    "SET maintenance_work_mem = '512MB'",
)

OWNERS = """
INSERT INTO owners (id, name, email, phone, created_at)
SELECT o,
       (%(first)s::text[])[1 + pg_temp.pick(o, 11, cardinality(%(first)s::text[]))] || ' ' ||
       (%(last)s::text[])[1 + pg_temp.pick(o, 12, cardinality(%(last)s::text[]))],
       'owner' || o || '@owners.example.com',
       '+1 850 555 ' || lpad((o %% 10000)::text, 4, '0'),
       %(now)s::timestamp - make_interval(days => 1100 + pg_temp.pick(o, 13, 700))
FROM generate_series(1, %(owners)s) AS o
"""

USERS = [
    """
INSERT INTO users (id, email, full_name, role, owner_id, password_hash, is_active, created_at)
VALUES (1, %(admin_email)s, 'Bench Admin', 'admin', NULL, %(password_hash)s, true,
        %(now)s::timestamp - interval '1200 days')
""",
    """
INSERT INTO users (id, email, full_name, role, owner_id, password_hash, is_active, created_at)
SELECT 1 + s, 'staff' || s || '@bench.luxserv.test',
       (%(first)s::text[])[1 + pg_temp.pick(s, 14, cardinality(%(first)s::text[]))] || ' ' ||
       (%(last)s::text[])[1 + pg_temp.pick(s, 15, cardinality(%(last)s::text[]))],
       'staff', NULL, %(password_hash)s, true, %(now)s::timestamp - interval '1000 days'
FROM generate_series(1, %(staff)s) AS s
""",
    """
INSERT INTO users (id, email, full_name, role, owner_id, password_hash, is_active, created_at)
SELECT %(first_user)s + o.id - 1, o.email, o.name, 'owner', o.id, %(password_hash)s, true, o.created_at
FROM owners o
""",
]

PROPERTIES = """
INSERT INTO properties (id, owner_id, name, address, city, state, postal_code, time_zone, bedrooms, max_guests,
                        is_active, created_at)
SELECT p, (p - 1) / %(homes_per_owner)s + 1,
       (%(places)s::text[])[1 + pg_temp.pick(p, 21, cardinality(%(places)s::text[]))] || ' ' ||
       (%(kinds)s::text[])[1 + pg_temp.pick(p, 22, cardinality(%(kinds)s::text[]))] || ' ' || (100 + p),
       (100 + pg_temp.pick(p, 23, 19900)) || ' ' ||
       (%(streets)s::text[])[1 + pg_temp.pick(p, 24, cardinality(%(streets)s::text[]))],
       (%(towns)s::text[])[1 + pg_temp.pick(p, 25, cardinality(%(towns)s::text[]))],
       'FL',
       (%(zips)s::text[])[1 + pg_temp.pick(p, 25, cardinality(%(towns)s::text[]))],
       %(tz)s,
       1 + pg_temp.pick(p, 26, 6),
       4 + 2 * pg_temp.pick(p, 26, 6),
       pg_temp.pick(p, 27, 50) <> 0,
       %(now)s::timestamp - make_interval(days => 1000 + pg_temp.pick(p, 28, 300))
FROM generate_series(1, %(owners)s * %(homes_per_owner)s) AS p
"""

GUESTS = """
INSERT INTO guests (id, full_name, email, email_normalized, phone, notes, created_at, updated_at)
SELECT g, first_name || ' ' || last_name, address, lower(address),
       CASE WHEN pg_temp.pick(g, 33, 4) = 0 THEN NULL
            ELSE '+1 ' || (200 + pg_temp.pick(g, 34, 700)) || ' 555 ' || lpad(pg_temp.pick(g, 35, 10000)::text, 4, '0')
       END,
       '', created, created
FROM (
    SELECT g,
           (%(first)s::text[])[1 + pg_temp.pick(g, 31, cardinality(%(first)s::text[]))] AS first_name,
           (%(last)s::text[])[1 + pg_temp.pick(g, 32, cardinality(%(last)s::text[]))] AS last_name,
           %(now)s::timestamp - make_interval(days => 30 + pg_temp.pick(g, 36, 1000)) AS created
    FROM generate_series(1, %(guests)s) AS g
) named
CROSS JOIN LATERAL (
    -- one guest in ten booked through a channel that hides the e-mail address
    SELECT CASE WHEN pg_temp.pick(g, 37, 10) = 0 THEN NULL
                ELSE lower(first_name) || '.' || lower(last_name) || '.' || g || '@' ||
                     (%(domains)s::text[])[1 + pg_temp.pick(g, 38, cardinality(%(domains)s::text[]))]
           END AS address
) mail
"""

# 150 slots of 4 to 10 days per home, one after the other from about two years ago; a stay fills its slot but a
# day or two, so stays at one home never overlap (a turnover day has one guest leaving and the next arriving).
BOOKINGS = """
INSERT INTO bookings (id, provider, external_id, confirmation_code, status, property_id, listing_id, listing_name,
                      guest_id, check_in, check_out, guest_count, special_requests, channel, source_updated_at,
                      source_version, created_at, updated_at, cancelled_at)
WITH slots AS (
    SELECT p.id AS property_id, p.max_guests, k,
           ((p.id - 1) * %(per_home)s + k)::bigint AS seq,
           4 + pg_temp.pick((p.id - 1) * %(per_home)s + k, 41, 7) AS slot_len
    FROM properties p CROSS JOIN generate_series(0, %(per_home)s - 1) AS k
), placed AS (
    SELECT s.*, pg_temp.pick(seq, 43, 2) AS gap,
           (%(first_day)s::date - pg_temp.pick(property_id, 42, 30)
            + (sum(slot_len) OVER (PARTITION BY property_id ORDER BY k) - slot_len)::int) AS slot_start
    FROM slots s
), stays AS (
    SELECT pl.*, slot_start + gap AS check_in,
           slot_start + slot_len - pg_temp.pick(seq, 44, 2) AS check_out,
           pg_temp.pick(seq, 45, 100) AS provider_roll,
           pg_temp.pick(seq, 48, 100) AS note_roll,
           pg_temp.pick(seq, 49, 100) < %(cancelled_percent)s AS cancelled,
           upper(lpad(to_hex((seq * 2654435761) %% 4294967296), 8, '0')) AS code
    FROM placed pl
), made AS (
    SELECT st.*,
           LEAST((check_in - (1 + pg_temp.pick(seq, 50, 150)))::timestamp
                     + make_interval(hours => 8 + pg_temp.pick(seq, 51, 14), mins => pg_temp.pick(seq, 52, 60)),
                 %(now)s::timestamp - make_interval(hours => 1 + pg_temp.pick(seq, 53, 2000))) AS created
    FROM stays st
), described AS (
    SELECT m.*,
           CASE WHEN provider_roll < 45 THEN 'airbnb' WHEN provider_roll < 70 THEN 'vrbo'
                WHEN provider_roll < 90 THEN 'guesty' ELSE 'generic' END AS provider,
           CASE WHEN cancelled THEN LEAST(created + make_interval(days => 1 + pg_temp.pick(seq, 54, 30)),
                                          %(now)s::timestamp) END AS cancelled_on
    FROM made m
)
SELECT row_number() OVER (ORDER BY created, seq),
       provider,
       CASE provider WHEN 'airbnb' THEN 'HM' || code WHEN 'vrbo' THEN 'HA-' || code
                     WHEN 'guesty' THEN 'gy_' || lower(code) ELSE 'LX-' || code END,
       CASE provider WHEN 'airbnb' THEN 'HM' || code WHEN 'vrbo' THEN 'HA-' || code
                     WHEN 'guesty' THEN 'GY' || code END,
       CASE WHEN cancelled THEN 'cancelled' ELSE 'confirmed' END,
       property_id, NULL, NULL,
       1 + pg_temp.pick(seq, 46, %(guests)s),
       check_in, check_out,
       1 + pg_temp.pick(seq, 47, max_guests),
       CASE WHEN note_roll < 2 THEN 'Celebrating our anniversary'
            WHEN note_roll < 4 THEN 'Birthday weekend for my wife'
            WHEN note_roll < 5 THEN 'Honeymoon trip'
            WHEN note_roll < 10 THEN 'Early check-in if possible'
            WHEN note_roll < 14 THEN 'Travelling with a baby, a crib please'
            WHEN note_roll < 17 THEN 'Late check-out please'
            WHEN note_roll < 19 THEN 'Bringing our small dog'
            ELSE '' END,
       CASE provider WHEN 'airbnb' THEN 'airbnb' WHEN 'vrbo' THEN 'vrbo' WHEN 'generic' THEN 'direct'
            ELSE (ARRAY['airbnb', 'vrbo', 'booking_com', 'direct'])[1 + pg_temp.pick(seq, 55, 4)] END,
       COALESCE(cancelled_on, created), NULL,
       created, COALESCE(cancelled_on, created), cancelled_on
FROM described
ORDER BY created, seq
"""

# Every booking's automatic tasks (the seeded rules of migration 0004, as planning makes them), and requests from
# guests during their stays (70 %), owners (20 %) and the team (10 %) up to the scale's number of tasks.
# Status follows the day: done in the past (a few cancelled or forgotten), under way today, planned ahead.
TASKS = """
INSERT INTO service_requests (property_id, booking_id, guest_id, service_type_id, rule_id, origin, status,
                              scheduled_for, time_of_day, notes, assigned_to_id, created_by, created_at, updated_at,
                              completed_at, cancelled_at)
WITH automatic AS (
    SELECT b.property_id, b.id AS booking_id, b.guest_id, r.service_type_id, r.id AS rule_id,
           'automation'::text AS origin,
           CASE r.anchor WHEN 'check_in' THEN b.check_in WHEN 'check_out' THEN b.check_out
                ELSE (b.created_at AT TIME ZONE 'UTC' AT TIME ZONE %(tz)s)::date END + r.offset_days AS day,
           r.time_of_day, ''::text AS notes, 'webhook:' || b.provider AS created_by, b.created_at,
           b.cancelled_at AS dropped_at, b.id::bigint * 16 + r.id AS seq
    FROM bookings b
    JOIN automation_rules r
      ON r.enabled AND (r.condition = 'always' OR (r.condition = 'keywords' AND EXISTS (
             SELECT 1 FROM unnest(string_to_array(r.condition_value, ',')) AS word
             WHERE lower(b.special_requests) LIKE '%%' || lower(trim(word)) || '%%')))
    WHERE b.property_id IS NOT NULL
), wanted AS (
    SELECT g, pg_temp.pick(g, 61, 100) AS roll
    FROM generate_series(1, GREATEST(0, %(tasks)s - (SELECT count(*) FROM automatic))) AS g
), live AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM bookings WHERE status <> 'cancelled'
), asked AS (
    SELECT array_agg(id ORDER BY id) AS ids FROM service_types WHERE guest_requestable AND active
), kinds AS (
    SELECT array_agg(id ORDER BY id) FILTER (WHERE key IN ('extra_cleaning', 'maintenance')) AS owner_ids,
           array_agg(id ORDER BY id) FILTER (WHERE key IN ('cleaning_verification', 'extra_cleaning', 'maintenance'))
               AS team_ids
    FROM service_types
), by_guests AS (
    SELECT b.property_id, b.id AS booking_id, b.guest_id,
           a.ids[1 + pg_temp.pick(w.g, 63, cardinality(a.ids))] AS service_type_id, NULL::int AS rule_id,
           'guest'::text AS origin, b.check_in + pg_temp.pick(w.g, 64, b.check_out - b.check_in + 1) AS day,
           NULL::time AS time_of_day,
           (ARRAY['Please leave everything by the front door', 'Gluten-free options please', '',
                  'Call when you arrive', ''])[1 + pg_temp.pick(w.g, 65, 5)] AS notes,
           'guest:' || b.guest_id AS created_by, b.created_at AS booked_at, NULL::timestamp AS dropped_at,
           -w.g::bigint AS seq
    FROM wanted w
    JOIN live l ON l.n = 1 + pg_temp.pick(w.g, 62, (SELECT count(*) FROM live))
    JOIN bookings b ON b.id = l.id
    CROSS JOIN asked a
    WHERE w.roll < 70
), by_others AS (
    SELECT p.id AS property_id, NULL::int AS booking_id, NULL::int AS guest_id,
           CASE WHEN w.roll < 90 THEN k.owner_ids[1 + pg_temp.pick(w.g, 66, cardinality(k.owner_ids))]
                ELSE k.team_ids[1 + pg_temp.pick(w.g, 66, cardinality(k.team_ids))] END AS service_type_id,
           NULL::int AS rule_id, CASE WHEN w.roll < 90 THEN 'owner' ELSE 'admin' END AS origin,
           %(first_day)s::date + pg_temp.pick(w.g, 67, %(per_home)s * 7 - 30) AS day, NULL::time AS time_of_day,
           CASE WHEN w.roll < 90
                THEN (ARRAY['The dishwasher is leaking', 'Check the pool heater', 'Deep clean before my family visits',
                            ''])[1 + pg_temp.pick(w.g, 68, 4)]
                ELSE (ARRAY['Quarterly inspection', ''])[1 + pg_temp.pick(w.g, 68, 2)] END AS notes,
           CASE WHEN w.roll < 90 THEN 'user:' || u.id ELSE 'user:1' END AS created_by,
           NULL::timestamp AS booked_at, NULL::timestamp AS dropped_at, -w.g::bigint AS seq
    FROM wanted w
    JOIN properties p ON p.id = 1 + pg_temp.pick(w.g, 69, %(owners)s * %(homes_per_owner)s)
    JOIN users u ON u.owner_id = p.owner_id
    CROSS JOIN kinds k
    WHERE w.roll >= 70
), asked_for AS (
    SELECT property_id, booking_id, guest_id, service_type_id, rule_id, origin, day, time_of_day, notes, created_by,
           GREATEST(COALESCE(booked_at, '-infinity'::timestamp),
                    LEAST((day - (1 + pg_temp.pick(seq, 70, 14)))::timestamp + make_interval(hours => 14),
                          %(now)s::timestamp - make_interval(mins => 5 + pg_temp.pick(seq, 71, 43200)))) AS created_at,
           dropped_at, seq
    FROM (SELECT * FROM by_guests UNION ALL SELECT * FROM by_others) asks
), every AS (
    SELECT * FROM automatic UNION ALL SELECT * FROM asked_for
), decided AS (
    SELECT e.*, COALESCE(e.time_of_day, st.default_time) AS at_time, pg_temp.pick(e.seq, 72, 1000) AS roll,
           CASE WHEN e.origin IN ('guest', 'owner') THEN 'requested' ELSE 'scheduled' END AS initial
    FROM every e JOIN service_types st ON st.id = e.service_type_id
), statused AS (
    SELECT d.*,
           CASE WHEN dropped_at IS NOT NULL THEN 'cancelled'
                WHEN day < %(today)s THEN CASE WHEN roll < 965 THEN 'completed' WHEN roll < 995 THEN 'cancelled'
                                              ELSE initial END
                WHEN day = %(today)s THEN CASE WHEN roll < 500 THEN 'in_progress' ELSE initial END
                WHEN initial = 'requested' AND roll < 500 THEN 'scheduled'
                ELSE initial END AS status,
           ((day + COALESCE(at_time, '12:00'::time)) AT TIME ZONE %(tz)s AT TIME ZONE 'UTC') AS due_utc
    FROM decided d
), timed AS (
    SELECT s.*,
           CASE WHEN status = 'completed'
                THEN LEAST(GREATEST(due_utc + interval '1 hour', created_at + interval '1 hour'), %(now)s::timestamp)
           END AS completed,
           CASE WHEN status = 'cancelled'
                THEN COALESCE(dropped_at,
                              LEAST(GREATEST(due_utc - interval '1 day', created_at + interval '1 hour'),
                                    %(now)s::timestamp))
           END AS cancelled
    FROM statused s
)
SELECT property_id, booking_id, guest_id, service_type_id, rule_id, origin, status, day, at_time, notes,
       CASE WHEN status IN ('completed', 'in_progress') OR (status = 'scheduled' AND roll %% 10 < 6)
            THEN 2 + pg_temp.pick(seq, 73, %(staff)s) END,
       created_by, created_at, COALESCE(completed, cancelled, created_at), completed, cancelled
FROM timed
ORDER BY created_at, seq
"""

# Each task's history: how it was made, then (when it moved on) who moved it. Inserted in time order.
CHANGES = """
INSERT INTO service_request_changes (request_id, at, actor, from_status, to_status, note)
SELECT request_id, at, actor, from_status, to_status, note
FROM (
    SELECT sr.id AS request_id, sr.created_at AS at, sr.created_by AS actor, NULL AS from_status,
           CASE WHEN sr.origin IN ('guest', 'owner') THEN 'requested' ELSE 'scheduled' END AS to_status,
           CASE WHEN r.key IS NOT NULL THEN 'planned by rule ' || r.key ELSE sr.origin || ' request' END AS note
    FROM service_requests sr LEFT JOIN automation_rules r ON r.id = sr.rule_id
    UNION ALL
    SELECT sr.id, sr.updated_at,
           CASE WHEN b.status = 'cancelled' THEN sr.created_by ELSE 'user:' || COALESCE(sr.assigned_to_id, 1) END,
           CASE WHEN sr.origin IN ('guest', 'owner') THEN 'requested' ELSE 'scheduled' END,
           sr.status,
           CASE WHEN b.status = 'cancelled' THEN 'the booking no longer needs it' ELSE '' END
    FROM service_requests sr LEFT JOIN bookings b ON b.id = sr.booking_id
    WHERE sr.status <> CASE WHEN sr.origin IN ('guest', 'owner') THEN 'requested' ELSE 'scheduled' END
) history
ORDER BY at, request_id
"""

MAINTENANCE_ITEMS = """
INSERT INTO maintenance_items (property_id, title, notes, due_on, recurrence_months, status, completed_at, created_at)
SELECT property_id, title, '', due_on, recurrence,
       CASE WHEN done THEN 'done' ELSE 'open' END,
       CASE WHEN done THEN LEAST((due_on + pg_temp.pick(seq, 84, 5))::timestamp + interval '15 hours',
                                 %(now)s::timestamp) END,
       LEAST((due_on - 60)::timestamp, %(now)s::timestamp - interval '1 day')
FROM (
    SELECT p.id AS property_id, p.id::bigint * 16 + k AS seq,
           (%(maintenance_titles)s::text[])[1 + (p.id + k) %% cardinality(%(maintenance_titles)s::text[])] AS title,
           %(today)s::date - 365 + pg_temp.pick(p.id::bigint * 16 + k, 81, 545) AS due_on,
           (ARRAY[NULL, 3, 6, 12])[1 + pg_temp.pick(p.id::bigint * 16 + k, 82, 4)] AS recurrence,
           k
    FROM properties p CROSS JOIN generate_series(1, %(maintenance)s) AS k
) items
CROSS JOIN LATERAL (
    SELECT due_on < %(today)s - 14 AND pg_temp.pick(seq, 83, 10) < 9 AS done
) state
ORDER BY due_on, property_id, k
"""

# In-app notifications about requests from guests, owners and the team, as `create_request` writes them: to the
# home owner's login (unless they filed it) and to the admin. Read after a week; the newest are still unread.
NOTIFICATIONS = """
INSERT INTO notifications (user_id, topic, title, body, link, created_at, read_at, dedupe_key)
SELECT told.user_id, 'service_request.created',
       CASE WHEN sr.origin = 'guest' THEN 'Service request from current guest at ' || p.name
            ELSE 'New service request at ' || p.name END,
       st.name || ' on ' || to_char(sr.scheduled_for, 'Mon DD, YYYY'),
       told.link, sr.created_at,
       CASE WHEN sr.created_at < %(now)s::timestamp - interval '7 days' THEN sr.created_at + interval '1 day' END,
       'service_request.created:' || sr.id || ':' || told.user_id
FROM service_requests sr
JOIN properties p ON p.id = sr.property_id
JOIN service_types st ON st.id = sr.service_type_id
JOIN users owner_login ON owner_login.owner_id = p.owner_id
CROSS JOIN LATERAL (
    VALUES (CASE WHEN sr.created_by <> 'user:1' THEN 1 END, '/admin/requests?property=' || p.id),
           (CASE WHEN sr.created_by <> 'user:' || owner_login.id THEN owner_login.id END, '/owner/properties/' || p.id)
) AS told(user_id, link)
WHERE sr.origin <> 'automation' AND told.user_id IS NOT NULL
ORDER BY sr.created_at, sr.id
"""

LOAD: list[tuple[str, list[str]]] = [
    ("owners, logins, homes", [OWNERS, *USERS, PROPERTIES]),
    ("guests", [GUESTS]),
    ("bookings", [BOOKINGS]),
    ("service tasks", [TASKS]),
    ("task history", [CHANGES]),
    ("maintenance, notifications", [MAINTENANCE_ITEMS, NOTIFICATIONS]),
]

RESET_SEQUENCES = """
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['owners', 'users', 'properties', 'guests', 'bookings', 'service_requests',
                             'service_request_changes', 'maintenance_items', 'notifications'] LOOP
        EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, ''id''), GREATEST(1, (SELECT max(id) FROM %I)))',
                       t, t);
    END LOOP;
END $$
"""

# Confirmed stays under way today or starting within two months (guests open their link from the welcome e-mail),
# one per home: stays whose guest asked for something first (the page lists those requests), then the soonest.
GUEST_CHOICE = """
SELECT id FROM (
    SELECT DISTINCT ON (property_id) id, asked, phase
    FROM (
        SELECT b.id, b.property_id, b.check_in,
               CASE WHEN b.check_in <= :today THEN 0 ELSE 1 END AS phase,
               EXISTS (SELECT 1 FROM service_requests sr WHERE sr.booking_id = b.id AND sr.origin = 'guest') AS asked
        FROM bookings b
        WHERE b.status = 'confirmed' AND b.property_id IS NOT NULL
          AND b.check_out > :today AND b.check_in <= :today + 60
    ) candidates
    ORDER BY property_id, asked DESC, check_in
) stays
ORDER BY asked DESC, phase, id
LIMIT :limit
"""
