-- Queries of the alert engine. Events in, incidents and notifications out.

-- name: claim_events
-- A batch of pending events, fire first. Per-device order: an event is taken only when no
-- earlier event of its device is still pending (claimed by another processor or not), so an
-- alarm is always handled before its clear; an earlier event that already failed once no
-- longer holds its device back (a poison event must not delay that device's next fire alarm).
-- %(now)s lets a test clock make a retried event due; in service it is the real clock.
-- The pending rows are chosen and locked first, walking pending_events_order_idx and stopping
-- at the limit; only those are joined to their events. Joining first made PostgreSQL join and
-- sort every pending event on every claim: 120-160 ms a claim with 10,000 pending in a storm.
WITH claimed AS (
    SELECT p.event_id, p.event_ts, p.attempts, p.enqueued_at, p.priority
    FROM pending_events p
    -- LATERAL with LIMIT 1 rather than NOT EXISTS: an anti-join's plan follows the table's
    -- statistics, which say "empty" when a storm fills it faster than autovacuum analyzes,
    -- and then compares every pending row with every other (126 ms a claim at 10,000).
    LEFT JOIN LATERAL (
        SELECT 1 AS held FROM pending_events q
        WHERE q.device_id = p.device_id AND q.attempts = 0
          AND (q.event_ts, q.event_id) < (p.event_ts, p.event_id)
        LIMIT 1
    ) earlier ON true
    WHERE p.enqueued_at <= greatest(clock_timestamp(), %(now)s) AND earlier.held IS NULL
    ORDER BY p.priority, p.enqueued_at
    LIMIT %(limit)s
    FOR UPDATE OF p SKIP LOCKED
)
SELECT c.event_id, c.attempts, c.enqueued_at, e.id, e.device_id, e.ts, e.received_at,
       e.stored_at, e.type, e.priority, coalesce(e.site_id, d.site_id) AS site_id, e.data,
       d.room, s.org_id, s.kind AS site_kind
FROM claimed c
JOIN events e ON e.id = c.event_id AND e.ts = c.event_ts
LEFT JOIN devices d ON d.id = e.device_id
LEFT JOIN sites s ON s.id = coalesce(e.site_id, d.site_id)
ORDER BY c.priority, c.enqueued_at;

-- name: orphan_pending
-- A pending row whose event row is missing cannot be handled; claim it to drop it.
SELECT p.event_id FROM pending_events p
WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.id = p.event_id AND e.ts = p.event_ts)
LIMIT 10 FOR UPDATE SKIP LOCKED;

-- name: done_event
DELETE FROM pending_events WHERE event_id = %(event_id)s;

-- name: done_events
DELETE FROM pending_events WHERE event_id = ANY(%(event_ids)s);

-- name: backlog
-- What the pending-events gauges show (alerting/backlog.py, for the processors and the
-- self-watch): how many wait, and for how long the oldest that is due has (events put back
-- for a retry are not).
SELECT count(*) AS pending,
       coalesce(extract(epoch FROM clock_timestamp()
                        - min(enqueued_at) FILTER (WHERE enqueued_at <= clock_timestamp())),
                0) AS oldest_s
FROM pending_events;

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
SELECT p.id AS policy_id, p.config, 0 AS specificity, length(o.path) AS depth
FROM sites s
JOIN organisations so ON so.id = s.org_id
JOIN organisations o ON so.path LIKE o.path || '%%'
JOIN escalation_policies p ON p.org_id = o.id
WHERE s.id = %(site_id)s
UNION ALL
SELECT p.id, p.config, 1, 0 FROM escalation_policies p WHERE p.site_id = %(site_id)s
ORDER BY specificity, depth;

-- name: policy_overrides_for_sites
-- policy_overrides for a batch of sites at once (same order per site).
SELECT s.id AS site_id, p.id AS policy_id, p.config, 0 AS specificity, length(o.path) AS depth
FROM sites s
JOIN organisations so ON so.id = s.org_id
JOIN organisations o ON so.path LIKE o.path || '%%'
JOIN escalation_policies p ON p.org_id = o.id
WHERE s.id = ANY(%(site_ids)s)
UNION ALL
SELECT p.site_id, p.id, p.config, 1, 0
FROM escalation_policies p WHERE p.site_id = ANY(%(site_ids)s)
ORDER BY site_id, specificity, depth;

-- name: sites
SELECT s.*, o.path AS org_path FROM sites s JOIN organisations o ON o.id = s.org_id
WHERE s.id = ANY(%(site_ids)s);

-- name: contacts_for_sites
-- contacts_for_roles for a batch of sites: each site's own contacts and those of every
-- organisation above it, tagged with the site they were found for. Two index lookups instead
-- of one OR that no index answers.
SELECT for_site, id, name, role, priority, phone, channels, quiet_hours_start, quiet_hours_end,
       locale
FROM (
    SELECT s.id AS for_site, c.*
    FROM sites s JOIN contacts c ON c.site_id = s.id
    WHERE s.id = ANY(%(site_ids)s)
    UNION
    SELECT s.id, c.*
    FROM sites s
    JOIN organisations so ON so.id = s.org_id
    JOIN organisations o ON so.path LIKE o.path || '%%'
    JOIN contacts c ON c.org_id = o.id
    WHERE s.id = ANY(%(site_ids)s)
) c
WHERE c.active AND cardinality(c.channels) > 0 AND c.role = ANY(%(roles)s)
ORDER BY for_site, priority, id;

-- name: plan_notifications
-- Every page of a batch of incidents in one statement, each with its 'planned' audit row.
-- ``rows`` is a JSON array of notifications as plan_notification takes them, plus ``ord``
-- (planning order) and ``due_iso`` (the due time as the audit log spells it).
WITH r AS (
    SELECT * FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
        ord integer, purpose text, incident_id bigint, contact_id bigint, wave smallint,
        round smallint, priority smallint, due_at timestamptz, channels text[], messages jsonb,
        title text, ack_url text, event_id bigint, event_at timestamptz, dedupe_key text,
        due_iso text, person_order smallint)
), planned AS (
    INSERT INTO notifications (purpose, incident_id, contact_id, wave, round, priority, due_at,
                               channels, messages, title, ack_url, event_id, event_at, dedupe_key,
                               person_order)
    SELECT purpose, incident_id, contact_id, wave, round, priority, due_at, channels, messages,
           title, ack_url, event_id, event_at, dedupe_key, coalesce(person_order, 0)
    FROM r ORDER BY ord
    ON CONFLICT (dedupe_key) DO NOTHING
    RETURNING id, dedupe_key
)
INSERT INTO incident_log (incident_id, at, action, contact_id, detail)
SELECT r.incident_id, %(now)s, 'planned', r.contact_id,
       jsonb_build_object('wave', r.wave, 'round', r.round, 'due_at', r.due_iso,
                          'purpose', r.purpose, 'notification_id', p.id)
FROM planned p JOIN r ON r.dedupe_key = p.dedupe_key
ORDER BY r.ord
RETURNING incident_id, contact_id;

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
