-- Maintenance work orders (tamper, fault, low battery, offline, end of life) for operators.
-- Scope is the site's organisation path, as for incidents; list_work_orders is shaped like
-- list_incidents ({order} from api.lists.order_by, ``total`` on every row).

-- name: list_work_orders
WITH filtered AS (
    -- Narrow rows (id and sort keys) so counting and sorting thousands stays cheap; scope
    -- through work_orders.org_id (the site's organisation, migration 0028).
    SELECT w.id, w.opened_at, w.last_event_at, o.path AS org_path
    FROM work_orders w
    JOIN organisations o ON o.id = w.org_id
    WHERE o.path LIKE ANY(%(scope)s)
      AND (%(org_id)s::bigint IS NULL
           OR o.path LIKE (SELECT path FROM organisations WHERE id = %(org_id)s) || '%%')
      AND (%(status)s::text IS NULL OR w.status = %(status)s)
      AND (%(kind)s::text IS NULL OR w.kind = %(kind)s)
      AND (%(site_id)s::bigint IS NULL OR w.site_id = %(site_id)s)
      AND (%(device_id)s::text IS NULL OR w.device_id = %(device_id)s)
      AND (%(id)s::bigint IS NULL OR w.id = %(id)s)
),
page AS (
    -- Sort and cut the narrow rows first, then read the page's full rows.
    SELECT w.*, f.org_path
    FROM (SELECT * FROM filtered ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s) f
    JOIN work_orders w ON w.id = f.id
),
items AS (
    SELECT
        p.id,
        p.kind,
        p.status,
        p.opened_at,
        p.last_event_at,
        p.event_count,
        p.closed_at,
        p.closed_reason,
        p.note,
        CASE WHEN ac.id IS NULL THEN NULL
             ELSE json_build_object('id', ac.id, 'name', ac.name) END AS assigned_to,
        json_build_object('id', d.id, 'room', d.room, 'position', d.position,
                          'model_code', d.model_code) AS device,
        json_build_object('id', s.id, 'name', s.name, 'kind', s.kind,
                          'address', s.address) AS site,
        (
            SELECT json_build_object('id', v.id, 'name', v.name)
            FROM organisations v
            WHERE v.id = ANY(string_to_array(rtrim(p.org_path, '.'), '.')::bigint[])
              AND v.level IN ('village', 'community')
            ORDER BY length(v.path) DESC
            LIMIT 1) AS village
    FROM page p
    JOIN devices d ON d.id = p.device_id
    JOIN sites s ON s.id = p.site_id
    LEFT JOIN contacts ac ON ac.id = p.assigned_to
)
SELECT items.*, (SELECT count(*) FROM filtered) AS total
FROM items
ORDER BY {order};

-- name: lock_work_order
SELECT w.id, w.status, o.path
FROM work_orders w
JOIN sites s ON s.id = w.site_id
JOIN organisations o ON o.id = s.org_id
WHERE w.id = %(id)s AND o.path LIKE ANY(%(scope)s)
FOR UPDATE OF w;

-- name: close_work_order
UPDATE work_orders
SET status = 'closed', closed_at = %(now)s, closed_reason = %(reason)s,
    note = coalesce(%(note)s, note)
WHERE id = %(id)s AND status = 'open'
RETURNING id;

-- name: assign_work_order
UPDATE work_orders SET assigned_to = %(contact_id)s, note = coalesce(%(note)s, note)
WHERE id = %(id)s
RETURNING id;

-- name: contact_for_assignment
-- A contact in the caller's scope or attached to an organisation above the work order's site.
SELECT c.id, c.name
FROM contacts c
LEFT JOIN sites s ON s.id = c.site_id
LEFT JOIN organisations o ON o.id = coalesce(c.org_id, s.org_id)
WHERE c.id = %(contact_id)s AND c.active
  AND (o.path LIKE ANY(%(scope)s) OR %(site_path)s LIKE o.path || '%%');
