-- Opening and joining incidents for a batch of events at once (issue 22: alarm storms).
-- The rules are those of open_incident / join_incident in queries.sql, one statement per
-- batch instead of one per event. A batch holds at most one event per device.

-- name: open_incidents
-- Opens the (device, kind) incidents that are not open yet; the others are left out.
INSERT INTO incidents (device_id, site_id, kind, priority, opened_at, first_event_id,
                       first_event_at, last_event_at, repage_after)
SELECT r.device_id, r.site_id, r.kind, r.priority, %(now)s, r.event_id, r.event_at, r.event_at,
       r.repage_after
FROM unnest(%(device_ids)s::text[], %(site_ids)s::bigint[], %(kinds)s::text[],
            %(priorities)s::smallint[], %(event_ids)s::bigint[], %(event_ats)s::timestamptz[],
            %(repage_afters)s::interval[])
     AS r(device_id, site_id, kind, priority, event_id, event_at, repage_after)
ORDER BY r.device_id, r.kind  -- one lock order for every processor
ON CONFLICT (device_id, kind) WHERE status <> 'resolved' DO NOTHING
RETURNING *;

-- name: join_incidents
UPDATE incidents i
SET event_count = i.event_count + 1,
    last_event_at = greatest(i.last_event_at, r.event_at),
    priority = least(i.priority, r.priority)
FROM unnest(%(device_ids)s::text[], %(kinds)s::text[], %(priorities)s::smallint[],
            %(event_ats)s::timestamptz[])
     AS r(device_id, kind, priority, event_at)
WHERE i.device_id = r.device_id AND i.kind = r.kind AND i.status <> 'resolved'
RETURNING i.*;

-- name: log_events
-- One audit row per (incident, event): 'opened' or 'event_joined'.
INSERT INTO incident_log (incident_id, at, action, event_id)
SELECT r.incident_id, %(now)s, r.action, r.event_id
FROM unnest(%(incident_ids)s::bigint[], %(actions)s::text[], %(event_ids)s::bigint[])
     WITH ORDINALITY AS r(incident_id, action, event_id, ord)
ORDER BY r.ord;
