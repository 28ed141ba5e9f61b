-- Commissioning sessions: the installer presses the test button; ingest stores the device's
-- `test` event in `events`; these queries find it and keep the outcome.

-- name: device_for_session
SELECT d.id, d.status, d.site_id, m.codec,
       EXISTS (SELECT 1 FROM device_identities i WHERE i.device_id = d.id AND i.codec = m.codec) AS has_identity
FROM devices d
JOIN device_models m ON m.code = d.model_code
LEFT JOIN sites s ON s.id = d.site_id
LEFT JOIN organisations o ON o.id = s.org_id
LEFT JOIN organisations so ON so.id = d.stock_org_id
WHERE d.id = %(device_id)s AND (o.path LIKE ANY(%(scope)s)
       OR (d.site_id IS NULL AND (d.stock_org_id IS NULL OR so.path LIKE ANY(%(scope)s))))

-- name: site_in_scope
SELECT s.id FROM sites s JOIN organisations o ON o.id = s.org_id
WHERE s.id = %(site_id)s AND o.path LIKE ANY(%(scope)s)

-- name: expire_open_sessions
UPDATE commissioning_sessions SET state = 'expired', finished_at = clock_timestamp()
WHERE device_id = %(device_id)s AND state = 'waiting'

-- name: insert_session
INSERT INTO commissioning_sessions (device_id, site_id, expires_at, started_by)
VALUES (%(device_id)s, %(site_id)s, clock_timestamp() + make_interval(secs => %(timeout_s)s),
        %(actor)s)
RETURNING *

-- name: get_session
SELECT c.*, clock_timestamp() >= c.expires_at AS past_deadline
FROM commissioning_sessions c
WHERE c.id = %(session_id)s AND c.device_id = %(device_id)s

-- name: test_event
-- The first test event received during the session. A bare event's readings come from the
-- device's telemetry, which ingest batches (up to its batch window): readings_may_follow says
-- the report could still be on its way. ts bounds the scan to the device's recent
-- rows (events_device_ts_idx); received_at decides, since a device clock may be off.
SELECT e.id, e.ts, e.received_at, r.signal_dbm, r.battery_pct,
       clock_timestamp() < e.received_at + make_interval(secs => %(grace_s)s) AS readings_may_follow
FROM events e
LEFT JOIN readings r ON r.device_id = e.device_id AND r.ts = e.ts AND r.msg_key = e.msg_key
WHERE e.device_id = %(device_id)s AND e.type = 'test'
  AND e.ts >= %(started_at)s - interval '1 day'
  AND e.received_at >= %(started_at)s AND e.received_at < %(expires_at)s
ORDER BY e.received_at, e.id
LIMIT 1

-- name: latest_reading
-- A test event without readings: the device's latest report of the last hour stands in.
SELECT r.ts, r.signal_dbm, r.battery_pct
FROM readings r
WHERE r.device_id = %(device_id)s AND r.ts >= %(started_at)s - interval '1 hour'
  AND (r.signal_dbm IS NOT NULL OR r.battery_pct IS NOT NULL)
ORDER BY r.ts DESC
LIMIT 1

-- name: device_state
SELECT ds.battery_low, ds.last_seen, ds.signal_dbm, ds.battery_pct
FROM device_state ds WHERE ds.device_id = %(device_id)s

-- name: strays
-- Ids nobody registered that spoke during the session: often a mistyped id.
SELECT u.external_id FROM unregistered_devices u
WHERE u.last_seen >= %(started_at)s
ORDER BY u.last_seen DESC LIMIT 5

-- name: finish_session
UPDATE commissioning_sessions SET state = %(state)s, finished_at = clock_timestamp(),
       event_id = %(event_id)s, result = %(result)s
WHERE id = %(session_id)s AND state = 'waiting'
RETURNING *

-- name: put_in_service
UPDATE devices SET status = 'in_service', commissioned_at = clock_timestamp(),
       commissioning = %(record)s, installed_at = coalesce(installed_at, clock_timestamp()),
       updated_at = clock_timestamp()
WHERE id = %(device_id)s AND status <> 'removed'
