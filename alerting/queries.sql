-- Queries of the alert engine. Events in, incidents and notifications out.

-- name: claim_event
SELECT p.event_id, p.attempts, e.id, e.device_id, e.ts, e.received_at, e.stored_at, e.type,
       e.priority, coalesce(e.site_id, d.site_id) AS site_id, e.data, d.room,
       s.org_id, s.kind AS site_kind
FROM pending_events p
JOIN events e ON e.id = p.event_id AND e.ts = p.event_ts
LEFT JOIN devices d ON d.id = e.device_id
LEFT JOIN sites s ON s.id = coalesce(e.site_id, d.site_id)
WHERE p.enqueued_at <= clock_timestamp()
ORDER BY p.priority, p.enqueued_at
LIMIT 1
FOR UPDATE OF p SKIP LOCKED;

-- name: orphan_pending
-- A pending row whose event row is missing cannot be handled; claim it to drop it.
SELECT p.event_id FROM pending_events p
WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = p.event_id AND e.ts = p.event_ts)
LIMIT 10 FOR UPDATE SKIP LOCKED;

-- name: done_event
DELETE FROM pending_events WHERE event_id = %(event_id)s;

-- name: retry_event
-- A failed event goes behind the others (one bad item never stalls another household).
UPDATE pending_events SET attempts = attempts + 1,
       enqueued_at = clock_timestamp() + make_interval(secs => %(delay)s)
WHERE event_id = %(event_id)s
RETURNING attempts;

-- name: park_event
INSERT INTO dead_letters (received_at, source, device_id, reason_code, reason, payload, payload_size)
VALUES (clock_timestamp(), 'alerting', %(device_id)s, 'alerting_failed', %(reason)s, %(payload)s,
        octet_length(%(payload)s));

-- name: site
SELECT s.*, o.path AS org_path FROM sites s JOIN organisations o ON o.id = s.org_id
WHERE s.id = %(site_id)s;

-- name: policy_overrides
-- Organisation overrides from the top of the hierarchy down, then the site's own (last wins).
SELECT p.config, 0 AS specificity, length(o.path) AS depth
FROM sites s
JOIN organisations so ON so.id = s.org_id
JOIN organisations o ON so.path LIKE o.path || '%%'
JOIN escalation_policies p ON p.org_id = o.id
WHERE s.id = %(site_id)s
UNION ALL
SELECT p.config, 1, 0 FROM escalation_policies p WHERE p.site_id = %(site_id)s
ORDER BY specificity, depth;

-- name: contacts_for_roles
-- The site's own contacts and those of every organisation above it.
SELECT c.id, c.name, c.role, c.priority, c.phone, c.channels, c.quiet_hours_start,
       c.quiet_hours_end, c.locale
FROM contacts c
WHERE c.active AND cardinality(c.channels) > 0 AND c.role = ANY(%(roles)s)
  AND (c.site_id = %(site_id)s
       OR c.org_id IN (SELECT o.id FROM organisations o, organisations so
                       WHERE so.id = %(org_id)s AND so.path LIKE o.path || '%%'))
ORDER BY c.priority, c.id;

-- name: plan_notification
INSERT INTO notifications (purpose, incident_id, contact_id, wave, round, priority, due_at,
                           channels, messages, title, ack_url, event_id, event_at, dedupe_key)
VALUES (%(purpose)s, %(incident_id)s, %(contact_id)s, %(wave)s, %(round)s, %(priority)s,
        %(due_at)s, %(channels)s, %(messages)s, %(title)s, %(ack_url)s, %(event_id)s,
        %(event_at)s, %(dedupe_key)s)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id;

-- name: open_work_order
-- Assigned to the maintainer of the nearest organisation above the site (village, then up).
INSERT INTO work_orders (device_id, site_id, kind, opened_at, last_event_at, first_event_id,
                         assigned_to, note)
VALUES (%(device_id)s, %(site_id)s, %(kind)s, %(now)s, %(event_at)s, %(event_id)s,
        sw_maintainer_for_site(%(site_id)s), %(note)s)
ON CONFLICT (device_id, kind) WHERE status = 'open'
DO UPDATE SET event_count = work_orders.event_count + 1,
              last_event_at = greatest(work_orders.last_event_at, EXCLUDED.last_event_at)
RETURNING id, (xmax = 0) AS created;

-- name: close_work_order
UPDATE work_orders SET status = 'closed', closed_at = %(now)s, closed_reason = %(reason)s
WHERE device_id = %(device_id)s AND kind = %(kind)s AND status = 'open'
RETURNING id;

-- name: due_repages
SELECT id FROM incidents
WHERE repage_at <= %(now)s AND status IN ('acknowledged', 'in_progress')
ORDER BY repage_at LIMIT 20
FOR UPDATE SKIP LOCKED;

-- name: bump_repage
UPDATE incidents
SET repage_count = repage_count + 1,
    repage_at = CASE WHEN repage_count + 1 >= %(max_repages)s THEN NULL
                     ELSE %(now)s + repage_after END
WHERE id = %(id)s
RETURNING repage_count;

-- name: maintainers
SELECT c.id, c.name, c.channels, c.locale, c.quiet_hours_start, c.quiet_hours_end,
       o.path AS org_path, o.name AS org_name
FROM contacts c
JOIN organisations o ON o.id = coalesce(c.org_id, (SELECT s.org_id FROM sites s WHERE s.id = c.site_id))
WHERE c.active AND c.role = 'maintainer' AND cardinality(c.channels) > 0
ORDER BY c.id;

-- name: claim_digest_day
INSERT INTO digest_runs (contact_id, day) VALUES (%(contact_id)s, %(day)s)
ON CONFLICT DO NOTHING
RETURNING contact_id;

-- name: digest_work_orders
SELECT w.kind, w.opened_at, w.device_id, s.address, d.room
FROM work_orders w
JOIN devices d ON d.id = w.device_id
JOIN sites s ON s.id = coalesce(w.site_id, d.site_id)
JOIN organisations o ON o.id = s.org_id
WHERE w.status = 'open' AND o.path LIKE %(path)s || '%%'
ORDER BY w.opened_at
LIMIT 40;

-- name: digest_offline
SELECT count(*) AS offline
FROM device_state ds
JOIN devices d ON d.id = ds.device_id
JOIN sites s ON s.id = d.site_id
JOIN organisations o ON o.id = s.org_id
WHERE NOT ds.online AND ds.last_seen IS NOT NULL AND d.status <> 'removed'
  AND o.path LIKE %(path)s || '%%';

-- name: digest_outages
-- Open outages with devices in the maintainer's area: one line each, not one per device.
SELECT o.scope, o.scope_key, o.opened_at, count(*) AS devices
FROM outages o
JOIN outage_devices od ON od.outage_id = o.id AND od.back_at IS NULL
JOIN devices d ON d.id = od.device_id
JOIN sites s ON s.id = d.site_id
JOIN organisations g ON g.id = s.org_id
WHERE o.status = 'open' AND g.path LIKE %(path)s || '%%'
GROUP BY o.id, o.scope, o.scope_key, o.opened_at
ORDER BY o.opened_at
LIMIT 10;

-- name: insert_digest
INSERT INTO notifications (purpose, contact_id, priority, due_at, channels, messages, title,
                           dedupe_key)
VALUES ('digest', %(contact_id)s, %(priority)s, %(due_at)s, %(channels)s, %(messages)s,
        %(title)s, %(dedupe_key)s)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id;

-- name: health
SELECT
    (SELECT count(*) FROM notifications WHERE status = 'pending' AND due_at <= %(now)s) AS due_unsent,
    (SELECT extract(epoch FROM %(now)s - min(due_at)) FROM notifications
      WHERE status = 'pending' AND due_at <= %(now)s) AS queue_age,
    (SELECT count(*) FROM pending_events) AS pending_events;

-- name: failure_rates
SELECT scheme, count(*) AS total,
       count(*) FILTER (WHERE outcome IN ('failed', 'timeout')) AS failed
FROM notification_attempts
WHERE at > clock_timestamp() - make_interval(secs => %(window)s)
GROUP BY scheme;

-- name: ingest_liveness
-- Ingest writes a heartbeat every few seconds per instance; a disk-full database, a crashed
-- process or a lost broker all show as no instance that is both recent and connected. A row
-- that was never written (no ingest ever ran against this database) says nothing.
SELECT count(*) AS instances,
       count(*) FILTER (WHERE connected
                        AND beat_at > %(now)s - make_interval(secs => %(stale_s)s)) AS alive,
       extract(epoch FROM %(now)s - max(beat_at)) AS beat_age_s
FROM service_heartbeats
WHERE service = 'ingest';

-- name: system_silence
-- The watchdog's open "system" outage: ingest runs but nothing at all is being heard.
SELECT min(opened_at) AS since, max(device_count) AS devices
FROM outages
WHERE status = 'open' AND scope = 'system';
