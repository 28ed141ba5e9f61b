-- Devices. A device bound to a site is seen through the site's organisation (scope); a device
-- in stock (no site yet) is seen through its stock organisation (devices.stock_org_id, the
-- registering caller's), or by every staff caller when that is NULL (shared stock), so an
-- installer can scan and bind it.

-- name: device_rows
-- The where and order slots are composed in api/devices/service.py from fixed fragments.
SELECT d.*, m.name AS model_name, m.codec AS model_codec,
       s.name AS site_name, s.address AS site_address, o.path AS org_path,
       ds.online, ds.connection, ds.last_seen, ds.offline_deadline, ds.battery_pct, ds.battery_mv,
       ds.battery_low, ds.signal_dbm, ds.temperature_c, ds.alarm_active, ds.tamper_active,
       ds.fault_active, ds.last_event_at, ds.last_event_type, ds.firmware,
       (ds.last_seen IS NOT NULL AND (NOT ds.online OR ds.offline_deadline < now())) AS offline,
       (SELECT r.id FROM devices r WHERE r.replaces = d.id ORDER BY r.created_at DESC LIMIT 1) AS replaced_by,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('codec', i.codec, 'external_id', i.external_id)
                                  ORDER BY i.codec, i.external_id), '[]'::jsonb)
        FROM device_identities i WHERE i.device_id = d.id) AS identities
FROM devices d
JOIN device_models m ON m.code = d.model_code
LEFT JOIN sites s ON s.id = d.site_id
LEFT JOIN organisations o ON o.id = s.org_id
LEFT JOIN organisations so ON so.id = d.stock_org_id
LEFT JOIN device_state ds ON ds.device_id = d.id
WHERE (o.path LIKE ANY(%(scope)s)
       OR (d.site_id IS NULL AND (d.stock_org_id IS NULL OR so.path LIKE ANY(%(scope)s))))
  AND {where}
ORDER BY {order}
LIMIT %(limit)s OFFSET %(offset)s

-- name: count_devices
SELECT count(*) AS total
FROM devices d
LEFT JOIN sites s ON s.id = d.site_id
LEFT JOIN organisations o ON o.id = s.org_id
LEFT JOIN organisations so ON so.id = d.stock_org_id
LEFT JOIN device_state ds ON ds.device_id = d.id
WHERE (o.path LIKE ANY(%(scope)s)
       OR (d.site_id IS NULL AND (d.stock_org_id IS NULL OR so.path LIKE ANY(%(scope)s))))
  AND {where}

-- name: filter_clause
-- Every filter is optional: a NULL parameter lets every row through.
(%(device_id)s::text IS NULL OR d.id = %(device_id)s)
AND (%(status)s::text IS NULL OR d.status = %(status)s)
AND (%(include_removed)s OR d.status <> 'removed' OR %(device_id)s::text IS NOT NULL OR %(status)s::text IS NOT NULL)
AND (%(site_id)s::bigint IS NULL OR d.site_id = %(site_id)s)
AND (%(org_path)s::text IS NULL OR o.path LIKE %(org_path)s || '%%')
AND (%(model_code)s::text IS NULL OR d.model_code = %(model_code)s)
AND (%(q)s::text IS NULL OR d.id ILIKE %(q)s OR d.room ILIKE %(q)s)
AND (%(unbound)s::boolean IS NULL OR (d.site_id IS NULL) = %(unbound)s)
AND (%(state)s::text IS NULL OR CASE %(state)s
        WHEN 'alarm' THEN coalesce(ds.alarm_active, false)
        WHEN 'tamper' THEN coalesce(ds.tamper_active, false)
        WHEN 'fault' THEN coalesce(ds.fault_active, false)
        WHEN 'low_battery' THEN coalesce(ds.battery_low, false)
        WHEN 'never_seen' THEN ds.last_seen IS NULL
        -- A deployed detector not heard within its deadline (never heard from included): the
        -- board's offline count (api/summary/queries.sql, board) is this list's length.
        WHEN 'offline' THEN d.status IN ('installed', 'in_service', 'faulty')
                            AND NOT coalesce(ds.online AND ds.offline_deadline >= now(), false)
        WHEN 'online' THEN ds.online AND ds.offline_deadline >= now()
        WHEN 'ok' THEN ds.online AND ds.offline_deadline >= now() AND NOT (ds.alarm_active
                       OR ds.tamper_active OR ds.fault_active OR ds.battery_low)
        ELSE false END)

-- name: lock_device
SELECT d.*, o.path AS org_path FROM devices d
LEFT JOIN sites s ON s.id = d.site_id
LEFT JOIN organisations o ON o.id = s.org_id
LEFT JOIN organisations so ON so.id = d.stock_org_id
WHERE d.id = %(device_id)s AND (o.path LIKE ANY(%(scope)s)
       OR (d.site_id IS NULL AND (d.stock_org_id IS NULL OR so.path LIKE ANY(%(scope)s))))
FOR UPDATE OF d

-- name: model_exists
SELECT code, codec FROM device_models WHERE code = %(model_code)s

-- name: insert_device
INSERT INTO devices (id, model_code, notes, stock_org_id)
VALUES (%(id)s, %(model_code)s, %(notes)s, %(stock_org_id)s)
ON CONFLICT (id) DO NOTHING
RETURNING id

-- name: insert_identity
INSERT INTO device_identities (codec, external_id, device_id)
VALUES (%(codec)s, %(external_id)s, %(device_id)s)
ON CONFLICT (codec, external_id) DO NOTHING
RETURNING device_id

-- name: site_label
-- How a site is named to a person: resident (or name) and address.
SELECT coalesce(s.resident_name, s.name) || '（' || s.address || '）' AS label
FROM sites s WHERE s.id = %(site_id)s

-- name: bindable_site
SELECT s.id, s.name, s.address FROM sites s JOIN organisations o ON o.id = s.org_id
WHERE s.id = %(site_id)s AND o.path LIKE ANY(%(scope)s) AND s.archived_at IS NULL

-- name: bind_device
-- Moving to another site (or first binding) needs a new commissioning test: status installed.
UPDATE devices SET
    site_id = %(site_id)s, room = %(room)s, position = %(position)s,
    notes = coalesce(%(notes)s, notes),
    status = CASE WHEN site_id IS DISTINCT FROM %(site_id)s OR status = 'registered'
                  THEN 'installed' ELSE status END,
    installed_at = CASE WHEN site_id IS DISTINCT FROM %(site_id)s OR installed_at IS NULL
                        THEN clock_timestamp() ELSE installed_at END,
    installed_by = CASE WHEN site_id IS DISTINCT FROM %(site_id)s OR installed_by IS NULL
                        THEN %(actor)s ELSE installed_by END,
    commissioned_at = CASE WHEN site_id IS DISTINCT FROM %(site_id)s THEN NULL ELSE commissioned_at END,
    updated_at = clock_timestamp()
WHERE id = %(device_id)s

-- name: take_place
-- The replacement takes the old detector's place; it is in service after its own test.
UPDATE devices SET site_id = %(site_id)s, room = %(room)s, position = %(position)s,
    status = 'installed', installed_at = clock_timestamp(), installed_by = %(actor)s,
    replaces = %(old_id)s, updated_at = clock_timestamp()
WHERE id = %(device_id)s

-- name: remove_device
-- The site, room and history stay: the household file keeps what hung where and when.
UPDATE devices SET status = 'removed', removed_at = clock_timestamp(), updated_at = clock_timestamp()
WHERE id = %(device_id)s

-- name: org_in_scope
SELECT o.path FROM organisations o WHERE o.id = %(org_id)s AND o.path LIKE ANY(%(scope)s)

-- name: retire_state
-- A removed detector leaves the watchdog's view (its partial index is WHERE online): silence
-- from a detector in a drawer is not an outage.
UPDATE device_state SET online = false, offline_deadline = NULL, updated_at = clock_timestamp()
WHERE device_id = %(device_id)s

-- name: close_work_orders
-- Maintenance of a detector that is gone is moot (a replacement has its own state).
UPDATE work_orders SET status = 'closed', closed_at = clock_timestamp(), closed_reason = %(reason)s
WHERE device_id = %(device_id)s AND status = 'open'
RETURNING id

-- name: device_identity
SELECT codec, external_id FROM device_identities
WHERE device_id = %(device_id)s AND codec = %(codec)s
FOR UPDATE

-- name: identity_owner
SELECT device_id FROM device_identities WHERE codec = %(codec)s AND external_id = %(external_id)s

-- name: change_identity
UPDATE device_identities SET external_id = %(external_id)s
WHERE device_id = %(device_id)s AND codec = %(codec)s

-- name: forget_codec_state
-- The old identity's transition memory belongs to traffic that no longer names this device.
DELETE FROM codec_states WHERE codec = %(codec)s AND external_id = %(external_id)s

-- name: discovered_devices
-- Devices that announced themselves (Home Assistant discovery), newest first, with the detector
-- registered under their key if any. Announcements are not scoped: they are what the brokers
-- carry, for installers to register.
SELECT e.device_key, max(e.seen_at) AS last_seen,
       (array_agg(e.entity -> 'device' ORDER BY e.seen_at DESC))[1] AS device,
       bool_or(e.component = 'binary_sensor' AND e.device_class IN ('smoke', 'heat')) AS smoke_detector,
       jsonb_agg(jsonb_build_object('component', e.component, 'device_class', e.device_class,
                                    'state_topic', e.state_topic, 'name', e.entity ->> 'name',
                                    'unsupported', e.unsupported)
                 ORDER BY e.config_topic, e.entity_key) AS entities,
       (SELECT i.device_id FROM device_identities i
        WHERE i.codec = 'homeassistant' AND i.external_id = e.device_key) AS registered_device_id
FROM ha_entities e
WHERE e.device_key IS NOT NULL
  AND (%(unregistered)s::boolean IS NULL OR %(unregistered)s = NOT EXISTS (
        SELECT 1 FROM device_identities i
        WHERE i.codec = 'homeassistant' AND i.external_id = e.device_key))
GROUP BY e.device_key
ORDER BY max(e.seen_at) DESC, e.device_key
LIMIT %(limit)s OFFSET %(offset)s

-- name: device_models
SELECT code, vendor, name, codec, heartbeat_period, has_heat_sensor, battery_low_pct,
       battery_ok_pct, battery_low_mv, battery_ok_mv
FROM device_models ORDER BY codec, vendor, code
