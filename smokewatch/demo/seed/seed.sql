-- The demo's seed (smokewatch/demo/seed/write.py); rows are created with core.factory. A
-- second seed changes nothing except the inbox port inside the demo contacts' channel URLs.

-- name: upsert_device_model
-- A short heartbeat so a silent detector turns offline within minutes of the demo starting.
INSERT INTO device_models (code, vendor, name, codec, heartbeat_period, missed_periods, grace)
VALUES (%(code)s, 'smokewatch', 'Demo detector (native MQTT, 1-minute heartbeat)', 'native',
        make_interval(secs => %(heartbeat_s)s), 2, make_interval(secs => %(grace_s)s))
ON CONFLICT (code) DO NOTHING;

-- name: site_ids
SELECT id, org_id, name FROM sites WHERE org_id = ANY(%(org_ids)s::bigint[]);

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

-- name: contact_keys
-- What makes a demo contact the same one on a second seed.
SELECT site_id, org_id, role, phone FROM contacts
WHERE site_id = ANY(%(site_ids)s::bigint[]) OR org_id = ANY(%(org_ids)s::bigint[]);

-- name: device_ids
SELECT id FROM devices WHERE id = ANY(%(ids)s::text[]);

-- name: counts
SELECT (SELECT count(*) FROM sites s JOIN organisations o ON o.id = s.org_id
        WHERE o.code LIKE 'nz-%%' AND s.kind = 'household') AS households,
       (SELECT count(*) FROM sites s JOIN organisations o ON o.id = s.org_id
        WHERE o.code LIKE 'nz-%%' AND s.kind = 'venue') AS venues,
       (SELECT count(*) FROM devices WHERE model_code = %(model_code)s) AS devices;
