-- Events (everything a detector reports except plain telemetry), newest first, scoped by the
-- organisation path of the site the event was recorded at.

-- name: list_events
SELECT e.id, e.device_id, e.site_id, e.ts, e.received_at, e.type, e.priority, e.source, e.data
FROM events e
JOIN sites s ON s.id = e.site_id
JOIN organisations o ON o.id = s.org_id
WHERE o.path LIKE ANY(%(scope)s)
  AND e.ts >= %(since)s AND e.ts < %(until)s
  AND (%(org_id)s::bigint IS NULL
       OR o.path LIKE (SELECT path FROM organisations WHERE id = %(org_id)s) || '%%')
  AND (%(device_id)s::text IS NULL OR e.device_id = %(device_id)s)
  AND (%(site_id)s::bigint IS NULL OR e.site_id = %(site_id)s)
  AND (%(type)s::text IS NULL OR e.type = %(type)s)
ORDER BY e.ts DESC, e.id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: count_events
-- Counting a busy day of heartbeats would cost more than the page: stop at %(cap)s.
SELECT count(*) AS total FROM (
    SELECT 1
    FROM events e
    JOIN sites s ON s.id = e.site_id
    JOIN organisations o ON o.id = s.org_id
    WHERE o.path LIKE ANY(%(scope)s)
      AND e.ts >= %(since)s AND e.ts < %(until)s
      AND (%(org_id)s::bigint IS NULL
           OR o.path LIKE (SELECT path FROM organisations WHERE id = %(org_id)s) || '%%')
      AND (%(device_id)s::text IS NULL OR e.device_id = %(device_id)s)
      AND (%(site_id)s::bigint IS NULL OR e.site_id = %(site_id)s)
      AND (%(type)s::text IS NULL OR e.type = %(type)s)
    LIMIT %(cap)s
) capped;
