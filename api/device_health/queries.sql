-- Read queries of device health for the API and the dashboard (api/device_health/service.py).

-- name: village_health
-- org_id NULL: every village; otherwise the villages at or under that organisation.
SELECT h.*, o.name, o.name_en, o.code, o.level,
       CASE WHEN h.online + h.offline > 0
            THEN round(h.online::numeric / (h.online + h.offline), 4) END AS online_rate
FROM village_health h
JOIN organisations o ON o.id = h.org_id
WHERE %(org_id)s::bigint IS NULL
   OR o.path LIKE (SELECT path FROM organisations WHERE id = %(org_id)s) || '%%'
ORDER BY o.path;

-- name: open_work_orders
-- The maintainer's list: household address, the detector's room, whom it is assigned to.
SELECT w.id, w.kind, w.device_id, w.opened_at, w.last_event_at, w.event_count, w.note,
       w.assigned_to, c.name AS assignee, s.id AS site_id, s.name AS site_name, s.address,
       s.resident_name, d.room, d.position, d.model_code, o.id AS org_id, o.name AS org_name
FROM work_orders w
JOIN devices d ON d.id = w.device_id
LEFT JOIN sites s ON s.id = coalesce(w.site_id, d.site_id)
LEFT JOIN organisations o ON o.id = s.org_id
LEFT JOIN contacts c ON c.id = w.assigned_to
WHERE w.status = 'open'
  AND (%(org_id)s::bigint IS NULL
       OR o.path LIKE (SELECT path FROM organisations WHERE id = %(org_id)s) || '%%')
  AND (%(assigned_to)s::bigint IS NULL OR w.assigned_to = %(assigned_to)s)
  AND (%(kind)s::text IS NULL OR w.kind = %(kind)s)
ORDER BY w.opened_at, w.id
LIMIT %(limit)s;

-- name: battery_forecast
-- Least-squares line through the battery history (percentage, else millivolts) over the
-- window; where it falls, the date it crosses the replacement threshold. x is days from now,
-- centred so the fit keeps its precision.
WITH hist AS (
    SELECT r.device_id,
           extract(epoch FROM r.ts - %(now)s) / 86400.0 AS x,
           r.battery_pct, r.battery_mv
    FROM readings r
    WHERE r.device_id = ANY(%(device_ids)s)
      AND r.ts > %(now)s - %(window)s::interval AND r.ts <= %(now)s
      AND (r.battery_pct IS NOT NULL OR r.battery_mv IS NOT NULL)
), fit AS (
    SELECT device_id, count(*) AS samples, max(x) AS last_x,
           regr_count(battery_pct, x) AS pct_samples,
           regr_slope(battery_pct, x) AS pct_per_day,
           regr_intercept(battery_pct, x) AS pct_now,
           regr_count(battery_mv::double precision, x) AS mv_samples,
           regr_slope(battery_mv::double precision, x) AS mv_per_day,
           regr_intercept(battery_mv::double precision, x) AS mv_now
    FROM hist GROUP BY device_id
)
SELECT f.device_id, f.samples, f.pct_per_day, f.pct_now, f.mv_per_day, f.mv_now,
       CASE WHEN f.pct_samples >= %(min_samples)s AND f.pct_per_day < 0
                 THEN %(now)s + make_interval(secs => greatest(0, (%(threshold_pct)s - f.pct_now) / f.pct_per_day) * 86400)
            WHEN f.mv_samples >= %(min_samples)s AND f.mv_per_day < 0
                 THEN %(now)s + make_interval(secs => greatest(0, (%(threshold_mv)s - f.mv_now) / f.mv_per_day) * 86400)
       END AS replace_by,
       CASE WHEN f.pct_samples >= %(min_samples)s THEN 'pct'
            WHEN f.mv_samples >= %(min_samples)s THEN 'mv' END AS basis
FROM fit f
ORDER BY f.device_id;

-- name: devices_under
SELECT d.id
FROM devices d
JOIN sites s ON s.id = d.site_id
JOIN organisations o ON o.id = s.org_id
WHERE d.status <> 'removed'
  AND o.path LIKE (SELECT path FROM organisations WHERE id = %(org_id)s) || '%%'
ORDER BY d.id
LIMIT %(limit)s;

-- name: health_flags
SELECT f.id, f.kind, f.subject, f.device_id, f.site_id, f.status, f.flagged_at, f.updated_at,
       f.count, f.max_count, s.address, d.room
FROM health_flags f
LEFT JOIN devices d ON d.id = f.device_id
LEFT JOIN sites s ON s.id = coalesce(f.site_id, d.site_id)
LEFT JOIN organisations o ON o.id = s.org_id
WHERE (%(status)s::text IS NULL OR f.status = %(status)s)
  AND (%(org_id)s::bigint IS NULL
       OR o.path LIKE (SELECT path FROM organisations WHERE id = %(org_id)s) || '%%')
ORDER BY f.flagged_at DESC, f.id DESC;

-- name: outages
SELECT o.id, o.scope, o.scope_key, o.org_id, o.status, o.opened_at, o.closed_at,
       o.device_count, o.note,
       (SELECT count(*) FROM outage_devices od WHERE od.outage_id = o.id AND od.back_at IS NULL)
           AS still_silent,
       (SELECT coalesce(array_agg(od.device_id ORDER BY od.device_id), '{}')
        FROM outage_devices od WHERE od.outage_id = o.id) AS devices
FROM outages o
WHERE (%(status)s::text IS NULL OR o.status = %(status)s)
ORDER BY o.opened_at DESC, o.id DESC;
