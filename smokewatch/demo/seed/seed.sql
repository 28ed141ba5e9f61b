-- The demo's seed (smokewatch/demo/seed/write.py). Every statement is idempotent: a second
-- seed changes nothing except the inbox port inside the demo contacts' channel URLs.

-- name: upsert_organisation
INSERT INTO organisations (parent_id, level, code, name, name_en)
VALUES ((SELECT id FROM organisations WHERE code = %(parent)s), %(level)s, %(code)s, %(name)s,
        %(name_en)s)
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, name_en = EXCLUDED.name_en
RETURNING id, code;

-- name: upsert_device_model
-- A short heartbeat so a silent detector turns offline within minutes of the demo starting.
INSERT INTO device_models (code, vendor, name, codec, heartbeat_period, missed_periods, grace)
VALUES (%(code)s, 'smokewatch', 'Demo detector (native MQTT, 1-minute heartbeat)', 'native',
        make_interval(secs => %(heartbeat_s)s), 2, make_interval(secs => %(grace_s)s))
ON CONFLICT (code) DO NOTHING;

-- name: insert_site
-- Sites have no natural key; within one grid the demo's site names are unique.
INSERT INTO sites (org_id, kind, category, name, address, latitude, longitude, phone,
                   resident_name, resident_situation, key_holder_name, key_holder_phone, notes)
SELECT %(org_id)s, %(kind)s, %(category)s, %(name)s, %(address)s, %(latitude)s, %(longitude)s,
       %(phone)s, %(resident_name)s, %(situation)s, %(key_holder_name)s, %(key_holder_phone)s,
       %(notes)s
WHERE NOT EXISTS (SELECT 1 FROM sites WHERE org_id = %(org_id)s AND name = %(name)s);

-- name: site_ids
SELECT id, org_id, name FROM sites WHERE org_id = ANY(%(org_ids)s::bigint[]);

-- name: insert_contact
INSERT INTO contacts (site_id, org_id, name, role, priority, phone, channels)
SELECT %(site_id)s, %(org_id)s, %(name)s, %(role)s, %(priority)s, %(phone)s, %(channels)s
WHERE NOT EXISTS (
    SELECT 1 FROM contacts
    WHERE site_id IS NOT DISTINCT FROM %(site_id)s AND org_id IS NOT DISTINCT FROM %(org_id)s
      AND role = %(role)s AND phone = %(phone)s);

-- name: point_channels_at_inbox
-- The inbox may listen on another port than last time; keep the order of each channel list.
-- JSON posts go to /inbox/..., the emulated SMS and voice providers answer under /emu/....
UPDATE contacts c
SET channels = ARRAY(
    SELECT regexp_replace(
               regexp_replace(u.url, '^json://127\.0\.0\.1:[0-9]+/inbox/', %(prefix)s),
               'endpoint=http://127\.0\.0\.1:[0-9]+/emu/', 'endpoint=http://' || %(host)s || '/emu/')
    FROM unnest(c.channels) WITH ORDINALITY AS u (url, n) ORDER BY u.n)
WHERE EXISTS (SELECT 1 FROM unnest(c.channels) AS u (url)
              WHERE (u.url ~ '^json://127\.0\.0\.1:[0-9]+/inbox/' AND NOT starts_with(u.url, %(prefix)s))
                 OR (u.url ~ 'endpoint=http://127\.0\.0\.1:[0-9]+/emu/'
                     AND strpos(u.url, 'endpoint=http://' || %(host)s || '/emu/') = 0));

-- name: insert_device
-- The devices_state_row trigger gives each new device its device_state row.
INSERT INTO devices (id, model_code, site_id, room, position, status, installed_at, installed_by,
                     commissioned_at, commissioning)
VALUES (%(id)s, %(model_code)s, %(site_id)s, %(room)s, %(position)s, 'in_service',
        %(installed_at)s, %(installed_by)s, (%(commissioning)s::jsonb ->> 'test_event_at')::timestamptz,
        %(commissioning)s)
ON CONFLICT (id) DO NOTHING;

-- name: counts
SELECT (SELECT count(*) FROM sites s JOIN organisations o ON o.id = s.org_id
        WHERE o.code LIKE 'nz-%%' AND s.kind = 'household') AS households,
       (SELECT count(*) FROM sites s JOIN organisations o ON o.id = s.org_id
        WHERE o.code LIKE 'nz-%%' AND s.kind = 'venue') AS venues,
       (SELECT count(*) FROM devices WHERE model_code = %(model_code)s) AS devices;
