-- Queries of the offline watchdog and the periodic health jobs (docs/health.md).

-- name: ingest_status
-- The newest heartbeat of a connected ingest instance and the newest message anyone received.
SELECT count(*) AS instances,
       max(beat_at) FILTER (WHERE connected) AS beat_at,
       max(last_message_at) AS last_message_at
FROM service_heartbeats WHERE service = 'ingest';

-- name: lock_watch
SELECT ingest_down_since FROM health_watch WHERE id FOR UPDATE;

-- name: mark_blind
UPDATE health_watch SET ingest_down_since = coalesce(ingest_down_since, %(since)s),
                        updated_at = clock_timestamp()
WHERE id;

-- name: clear_blind
UPDATE health_watch SET ingest_down_since = NULL, updated_at = clock_timestamp() WHERE id;

-- name: shift_deadlines
-- Deadlines that fell while we could not hear anybody move on by the length of the blindness:
-- those devices had no way to be heard. A range of the partial index, never a full scan.
UPDATE device_state
SET offline_deadline = offline_deadline + (%(now)s - %(since)s)
WHERE online AND offline_deadline >= %(since)s AND offline_deadline <= %(now)s;

-- name: claim_due
-- Devices past their deadline, oldest first, from the partial index; SKIP LOCKED lets several
-- watchdogs share the work without reporting a device twice.
WITH due AS (
    SELECT ds.device_id, ds.offline_deadline, ds.last_seen
    FROM device_state ds
    WHERE ds.online AND ds.offline_deadline <= %(cutoff)s
    ORDER BY ds.offline_deadline
    LIMIT %(limit)s
    FOR UPDATE OF ds SKIP LOCKED
)
SELECT due.device_id, due.offline_deadline, due.last_seen, d.gateway_id, d.site_id,
       s.org_id, CASE WHEN s.org_id IS NULL THEN NULL ELSE sw_village_of_org(s.org_id) END AS village_id
FROM due
JOIN devices d ON d.id = due.device_id
LEFT JOIN sites s ON s.id = d.site_id;

-- name: mark_offline
UPDATE device_state
SET online = false, offline_flagged_at = %(now)s, updated_at = clock_timestamp()
WHERE device_id = ANY(%(device_ids)s);

-- name: insert_offline_events
-- One `offline` event per device through the same outbox as ingest's events.
WITH ins AS (
    INSERT INTO events (device_id, ts, received_at, msg_key, type, priority, site_id, source, data)
    SELECT d.id, %(now)s, %(now)s, 0, 'offline', 3, d.site_id, 'watchdog',
           jsonb_build_object('deadline', ds.offline_deadline, 'last_seen', ds.last_seen)
    FROM devices d JOIN device_state ds ON ds.device_id = d.id
    WHERE d.id = ANY(%(device_ids)s)
    ON CONFLICT DO NOTHING
    RETURNING id, ts, device_id, type, priority
)
INSERT INTO pending_events (event_id, event_ts, device_id, type, priority)
SELECT id, ts, device_id, type, priority FROM ins
RETURNING device_id;

-- name: gateway_heard
-- How many devices behind a gateway exist and how many spoke within their own period.
SELECT count(*) FILTER (WHERE ds.last_seen IS NOT NULL) AS members,
       count(*) FILTER (WHERE ds.online AND ds.last_seen > %(now)s - m.heartbeat_period) AS heard
FROM devices d
JOIN device_state ds ON ds.device_id = d.id
JOIN device_models m ON m.code = d.model_code
WHERE d.gateway_id = %(gateway_id)s AND d.status <> 'removed';

-- name: village_heard
SELECT count(*) FILTER (WHERE ds.last_seen IS NOT NULL) AS members,
       count(*) FILTER (WHERE ds.online AND ds.last_seen > %(now)s - m.heartbeat_period) AS heard
FROM organisations v
JOIN organisations o ON o.path LIKE v.path || '%%'
JOIN sites s ON s.org_id = o.id AND s.archived_at IS NULL
JOIN devices d ON d.site_id = s.id AND d.status <> 'removed'
JOIN device_state ds ON ds.device_id = d.id
JOIN device_models m ON m.code = d.model_code
WHERE v.id = %(village_id)s;

-- name: open_outage
INSERT INTO outages AS o (scope, scope_key, org_id, opened_at, note)
VALUES (%(scope)s, %(scope_key)s, %(org_id)s, %(now)s, %(note)s)
ON CONFLICT (scope, scope_key) WHERE status = 'open' DO UPDATE SET note = coalesce(EXCLUDED.note, o.note)
RETURNING id, (xmax = 0) AS created;

-- name: add_outage_devices
WITH added AS (
    INSERT INTO outage_devices (outage_id, device_id, silent_at)
    SELECT %(outage_id)s, x.device_id, x.silent_at
    FROM unnest(%(device_ids)s::text[], %(silent_at)s::timestamptz[]) AS x (device_id, silent_at)
    ON CONFLICT DO NOTHING
    RETURNING 1
)
UPDATE outages SET device_count = device_count + (SELECT count(*) FROM added)
WHERE id = %(outage_id)s
RETURNING device_count;

-- name: close_blind_outages
UPDATE outages SET status = 'closed', closed_at = %(now)s
WHERE scope IN ('ingest', 'system') AND status = 'open'
RETURNING id, scope, opened_at;

-- name: device_back
-- A device of an outage spoke again; the outage closes when its last device is back.
WITH back AS (
    UPDATE outage_devices SET back_at = %(now)s
    WHERE device_id = %(device_id)s AND back_at IS NULL
    RETURNING outage_id
)
UPDATE outages o SET status = 'closed', closed_at = %(now)s
WHERE o.id IN (SELECT outage_id FROM back) AND o.status = 'open'
  AND NOT EXISTS (SELECT 1 FROM outage_devices od
                  WHERE od.outage_id = o.id AND od.back_at IS NULL
                    AND od.device_id <> %(device_id)s)
RETURNING o.id;

-- Periodic jobs -----------------------------------------------------------------------------

-- name: village_health_age
SELECT max(as_of) AS as_of FROM village_health;

-- name: refresh_village_health
SELECT sw_refresh_village_health(%(now)s) AS villages;

-- name: open_end_of_life
-- Detectors reaching the end of their service life (model's service_life from installed_at).
INSERT INTO work_orders (device_id, site_id, kind, opened_at, last_event_at, assigned_to, note)
SELECT d.id, d.site_id, 'end_of_life', %(now)s, %(now)s, sw_maintainer_for_site(d.site_id),
       'service life ends ' || to_char(d.installed_at + m.service_life, 'YYYY-MM-DD')
FROM devices d JOIN device_models m ON m.code = d.model_code
WHERE d.status IN ('installed', 'in_service', 'faulty') AND d.installed_at IS NOT NULL
  AND d.installed_at + m.service_life <= %(now)s + %(lead)s::interval
ON CONFLICT (device_id, kind) WHERE status = 'open' DO NOTHING
RETURNING id;

-- name: close_removed_orders
-- A removed (or replaced) detector needs none of its open work orders any more.
UPDATE work_orders w SET status = 'closed', closed_at = %(now)s, closed_reason = 'device removed'
FROM devices d
WHERE d.id = w.device_id AND w.status = 'open' AND d.status = 'removed'
RETURNING w.id;

-- name: flag_flapping
-- Devices toggling online/offline or alarm/clear within the window: one open flag per device
-- and kind, its count kept current (never a new alert per toggle).
WITH toggles AS (
    SELECT e.device_id,
           CASE WHEN e.type IN ('online', 'offline') THEN 'flapping_connection'
                ELSE 'flapping_alarm' END AS kind,
           count(*) AS n
    FROM events e
    WHERE e.ts > %(now)s - %(window)s::interval AND e.ts <= %(now)s
      AND e.type IN ('online', 'offline', 'alarm', 'alarm_cleared')
    GROUP BY 1, 2
    HAVING count(*) >= %(threshold)s
)
INSERT INTO health_flags AS f (kind, subject, device_id, site_id, flagged_at, updated_at, count, max_count)
SELECT t.kind, t.device_id, t.device_id, d.site_id, %(now)s, %(now)s, t.n, t.n
FROM toggles t JOIN devices d ON d.id = t.device_id
ON CONFLICT (kind, subject) WHERE status = 'open' DO UPDATE
SET count = EXCLUDED.count, max_count = greatest(f.max_count, EXCLUDED.count), updated_at = EXCLUDED.updated_at
RETURNING id, kind, subject, count, (xmax = 0) AS created;

-- name: flag_false_alarms
-- Sites with more than 5 alarms in a day that were not real fires (GB 50440: visit or move).
WITH alarms AS (
    SELECT e.site_id, count(*) AS n
    FROM events e
    WHERE e.ts > %(now)s - interval '1 day' AND e.ts <= %(now)s
      AND e.type = 'alarm' AND e.site_id IS NOT NULL
    GROUP BY e.site_id
    HAVING count(*) > %(limit)s
), real_fires AS (
    SELECT DISTINCT site_id FROM incidents
    WHERE outcome = 'real_fire' AND opened_at > %(now)s - interval '1 day'
)
INSERT INTO health_flags AS f (kind, subject, site_id, flagged_at, updated_at, count, max_count)
SELECT 'false_alarms', a.site_id::text, a.site_id, %(now)s, %(now)s, a.n, a.n
FROM alarms a
WHERE a.site_id NOT IN (SELECT site_id FROM real_fires WHERE site_id IS NOT NULL)
ON CONFLICT (kind, subject) WHERE status = 'open' DO UPDATE
SET count = EXCLUDED.count, max_count = greatest(f.max_count, EXCLUDED.count), updated_at = EXCLUDED.updated_at
RETURNING id, kind, subject, count, (xmax = 0) AS created;

-- name: clear_quiet_flags
-- A flag whose subject stayed quiet for a whole window clears itself.
UPDATE health_flags SET status = 'cleared', cleared_at = %(now)s
WHERE status = 'open' AND updated_at <= %(now)s - %(window)s::interval
RETURNING id;

-- name: storage_health
-- Retention, compression and the hourly aggregate judged by what they left behind, in both
-- storage modes (migration 0044); TimescaleDB's job_stats are not trusted (15.20 quirk).
SELECT metric, tbl, value FROM sw_storage_health()
