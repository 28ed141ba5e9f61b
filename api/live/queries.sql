-- The live feed's lookups. An event notification carries only the event id.

-- name: event_for_feed
SELECT e.id AS event_id, e.device_id, e.site_id, e.type, e.ts, o.path
FROM events e
LEFT JOIN sites s ON s.id = e.site_id
LEFT JOIN organisations o ON o.id = s.org_id
WHERE e.id = %(id)s
LIMIT 1;
