-- Dashboard, per-village summary and the board, each answered as one JSON text built here (a
-- thousand villages or sites cost nothing in Python). The dashboard's and village summary's
-- device health comes from village_health (recomputed about once a minute by the alerting
-- watchdog: reading it costs one row per village, not a scan of a million device states); the
-- board's (and the map's) is live, read from device_state; incident figures are live, read through
-- small partial indexes of open incidents and the covering opened_at index over the window
-- (incidents.org_id, migration 0027, saves looking up each incident's site).

-- name: dashboard
WITH area AS (
    SELECT o.id, o.path, o.name
    FROM organisations o
    WHERE o.path LIKE ANY(%(scope)s)
      AND (%(org_id)s::bigint IS NULL
           OR o.path LIKE (SELECT path FROM organisations WHERE id = %(org_id)s) || '%%')
),
health AS (
    SELECT min(h.as_of) AS as_of,
           coalesce(sum(h.devices), 0) AS devices,
           coalesce(sum(h.online), 0) AS online,
           coalesce(sum(h.offline), 0) AS offline,
           coalesce(sum(h.low_battery), 0) AS low_battery,
           coalesce(sum(h.tamper), 0) AS tamper,
           coalesce(sum(h.fault), 0) AS fault,
           coalesce(sum(h.open_work_orders), 0) AS open_work_orders
    FROM village_health h JOIN area a ON a.id = h.org_id
),
open_incidents AS (
    SELECT count(*) AS n
    FROM incidents i
    JOIN area a ON a.id = i.org_id
    WHERE i.status <> 'resolved'
),
recent AS (
    SELECT i.opened_at, i.outcome, i.status, i.org_id
    FROM incidents i
    JOIN area a ON a.id = i.org_id
    WHERE i.opened_at >= %(since)s AND i.kind IN ('fire', 'heat')
),
-- Local days as fixed 24-hour bins from a local midnight (cheap arithmetic per row; exact in
-- zones without daylight saving time, such as Asia/Shanghai), named once per bin.
by_day AS (
    SELECT (bin AT TIME ZONE %(tz)s)::date AS day, count AS count
    FROM (SELECT date_bin(INTERVAL '1 day', r.opened_at, %(midnight)s) AS bin, count(*) AS count
          FROM recent r GROUP BY 1) bins
),
-- Count per organisation first (at most one row per grid or village), then find each
-- organisation's village once, instead of once per incident.
by_org AS (
    SELECT r.org_id, count(*) AS count FROM recent r GROUP BY r.org_id
),
-- The village of each organisation: the ancestor (or itself) that has a village_health row.
by_village AS (
    SELECT h.org_id, v.name, sum(b.count)::bigint AS count
    FROM by_org b
    JOIN area a ON a.id = b.org_id
    JOIN village_health h ON h.org_id = ANY(string_to_array(rtrim(a.path, '.'), '.')::bigint[])
    JOIN organisations v ON v.id = h.org_id
    GROUP BY h.org_id, v.name
),
fires AS (
    SELECT count(*) AS n
    FROM incidents i
    JOIN area a ON a.id = i.org_id
    WHERE i.outcome = 'real_fire'
)
SELECT row_to_json(d)::text AS body FROM (
SELECT h.as_of, h.devices, h.online, h.offline, h.low_battery, h.tamper, h.fault,
       h.open_work_orders,
       (SELECT n FROM open_incidents) AS open_incidents,
       coalesce((SELECT json_agg(json_build_object('day', day, 'count', count) ORDER BY day)
                 FROM by_day), '[]'::json) AS alarms_by_day,
       coalesce((SELECT json_agg(json_build_object('org_id', org_id, 'name', name, 'count', count)
                                 ORDER BY count DESC, org_id)
                 FROM by_village), '[]'::json) AS alarms_by_village,
       (SELECT n FROM fires) AS fires_caught_early,
       (SELECT round(count(*) FILTER (WHERE outcome = 'false_alarm')::numeric
                     / nullif(count(*) FILTER (WHERE status = 'resolved'), 0), 4)
        FROM recent) AS false_alarm_rate
FROM health h
) d;

-- name: villages
WITH area AS (
    SELECT o.id, o.path, o.name
    FROM organisations o
    WHERE o.path LIKE ANY(%(scope)s)
      AND (%(org_id)s::bigint IS NULL
           OR o.path LIKE (SELECT path FROM organisations WHERE id = %(org_id)s) || '%%')
),
open_by_org AS (
    SELECT i.org_id, count(*) AS n
    FROM incidents i
    WHERE i.status <> 'resolved'
    GROUP BY i.org_id
),
open_by_village AS (
    SELECT h.org_id AS id, sum(ob.n)::bigint AS n
    FROM open_by_org ob
    JOIN organisations o ON o.id = ob.org_id
    JOIN village_health h ON h.org_id = ANY(string_to_array(rtrim(o.path, '.'), '.')::bigint[])
    GROUP BY h.org_id
)
SELECT coalesce(json_agg(v), '[]'::json)::text AS body FROM (
SELECT h.org_id, a.name, h.as_of, h.sites, h.devices, h.in_service,
       round(100.0 * h.in_service / nullif(h.devices, 0), 1) AS installed_pct,
       round(h.online::numeric / nullif(h.online + h.offline, 0), 4) AS online_rate,
       h.low_battery, h.offline, h.tamper, h.fault, h.open_work_orders,
       h.oldest_open_work_order_at,
       coalesce(ob.n, 0) AS open_incidents
FROM village_health h
JOIN area a ON a.id = h.org_id
LEFT JOIN open_by_village ob ON ob.id = h.org_id
ORDER BY a.path
LIMIT %(limit)s
) v;

-- name: monthly_by_village
-- The fire-safety committee's month: per village or community in scope, with its parent
-- sub-district; incidents opened in [start, end) in that organisation or below.
WITH area AS (
    SELECT o.id, o.name, o.path, p.name AS sub_district
    FROM organisations o
    LEFT JOIN organisations p ON p.id = o.parent_id
    WHERE o.level IN ('village', 'community') AND o.path LIKE ANY(%(scope)s)
),
inc AS (
    SELECT a.id AS area_id, i.id, i.kind, i.outcome, i.opened_at, i.acknowledged_at
    FROM area a
    JOIN organisations io ON io.path LIKE a.path || '%%'
    JOIN incidents i ON i.org_id = io.id
    WHERE i.opened_at >= %(start)s AND i.opened_at < %(end)s
)
SELECT a.sub_district, a.name AS village,
       (SELECT count(*) FROM sites s JOIN organisations so ON so.id = s.org_id
        WHERE so.path LIKE a.path || '%%' AND s.archived_at IS NULL) AS sites,
       count(inc.id) FILTER (WHERE inc.kind IN ('fire', 'heat')) AS fire_alarms,
       count(inc.id) FILTER (WHERE inc.kind = 'tamper') AS tamper_alarms,
       count(inc.id) FILTER (WHERE inc.outcome = 'real_fire') AS real_fires,
       count(inc.id) FILTER (WHERE inc.outcome = 'false_alarm') AS false_alarms,
       count(inc.id) FILTER (WHERE inc.outcome = 'test') AS tests,
       count(inc.id) FILTER (WHERE inc.outcome = 'device_fault') AS device_faults,
       round(avg(extract(epoch FROM inc.acknowledged_at - inc.opened_at)))::bigint AS avg_ack_s
FROM area a
LEFT JOIN inc ON inc.area_id = a.id
GROUP BY a.id, a.name, a.sub_district, a.path
ORDER BY a.path

-- name: board
-- Every count on the operator's board in one statement, so one snapshot and one now(): the key
-- figures, the map's sites and its legend, and the village table, all from the live
-- device_state (not village_health, which is up to a minute old). One definition per figure,
-- the same as the /devices?state= lists behind the village counts: among deployed detectors
-- (installed, in service, faulty) at sites in scope, "online" is heard within its deadline and
-- every other one is offline (never heard from included); low battery, tamper and fault are the
-- state's flags. A site's state is the worst of its detectors' (docs/api.md). This reads every
-- device in scope: milliseconds for a sub-district, seconds for a whole city of a million.
WITH area AS (
    SELECT o.id, o.path
    FROM organisations o
    WHERE o.path LIKE ANY(%(scope)s)
      AND (%(org_id)s::bigint IS NULL
           OR o.path LIKE (SELECT path FROM organisations WHERE id = %(org_id)s) || '%%')
),
site_rows AS (
    SELECT s.id, s.name, s.kind, s.latitude, s.longitude, a.path
    FROM sites s
    JOIN area a ON a.id = s.org_id
    WHERE s.archived_at IS NULL
),
per_site AS (
    SELECT s.id, s.name, s.kind, s.latitude, s.longitude, s.path,
           count(d.id) AS devices,
           count(*) FILTER (WHERE d.status = 'in_service') AS in_service,
           count(*) FILTER (WHERE dh.deployed) AS deployed,
           count(*) FILTER (WHERE dh.deployed AND dh.heard) AS online,
           count(*) FILTER (WHERE dh.deployed AND NOT dh.heard) AS offline,
           count(*) FILTER (WHERE dh.deployed AND ds.battery_low) AS low_battery,
           count(*) FILTER (WHERE dh.deployed AND ds.tamper_active) AS tamper,
           count(*) FILTER (WHERE dh.deployed AND ds.fault_active) AS fault,
           coalesce(bool_or(dh.deployed AND ds.alarm_active), false) AS sounding
    FROM site_rows s
    LEFT JOIN devices d ON d.site_id = s.id AND d.status <> 'removed'
    LEFT JOIN device_state ds ON ds.device_id = d.id
    CROSS JOIN LATERAL (
        SELECT d.status IN ('installed', 'in_service', 'faulty') AS deployed,
               coalesce(ds.online AND ds.offline_deadline >= now(), false) AS heard
    ) dh
    GROUP BY s.id, s.name, s.kind, s.latitude, s.longitude, s.path
),
orders AS (
    SELECT s.id AS site_id, count(*) AS n
    FROM work_orders w
    JOIN devices d ON d.id = w.device_id
    JOIN site_rows s ON s.id = coalesce(w.site_id, d.site_id)
    WHERE w.status = 'open'
    GROUP BY s.id
),
site_state AS (
    SELECT p.*,
           CASE
               WHEN p.sounding OR EXISTS (
                        SELECT 1 FROM incidents i
                        WHERE i.site_id = p.id AND i.status <> 'resolved'
                          AND i.kind IN ('fire', 'heat')) THEN 'alarm'
               WHEN p.deployed = 0 THEN 'no_device'
               WHEN p.tamper + p.fault > 0 THEN 'fault'
               WHEN p.offline > 0 THEN 'offline'
               ELSE 'ok'
           END AS state,
           coalesce(o.n, 0) AS open_work_orders
    FROM per_site p
    LEFT JOIN orders o ON o.site_id = p.id
),
-- Each site's village or community: the organisation of that level on its path (a caller
-- scoped to a grid sees its grid's figures under the village's name).
by_village AS (
    SELECT v.id AS org_id, v.name, v.path,
           count(*) AS sites, sum(s.devices) AS devices, sum(s.in_service) AS in_service,
           sum(s.online) AS online, sum(s.offline) AS offline,
           sum(s.low_battery) AS low_battery, sum(s.tamper) AS tamper, sum(s.fault) AS fault,
           sum(s.open_work_orders) AS open_work_orders
    FROM site_state s
    JOIN organisations v ON v.id = ANY(string_to_array(rtrim(s.path, '.'), '.')::bigint[])
                        AND v.level IN ('village', 'community')
    GROUP BY v.id, v.name, v.path
)
SELECT json_build_object(
    'as_of', now(),
    'sites', (SELECT count(*) FROM site_state),
    'devices', (SELECT coalesce(sum(devices), 0) FROM site_state),
    'in_service', (SELECT coalesce(sum(in_service), 0) FROM site_state),
    'online', (SELECT coalesce(sum(online), 0) FROM site_state),
    'offline', (SELECT coalesce(sum(offline), 0) FROM site_state),
    'low_battery', (SELECT coalesce(sum(low_battery), 0) FROM site_state),
    'tamper', (SELECT coalesce(sum(tamper), 0) FROM site_state),
    'fault', (SELECT coalesce(sum(fault), 0) FROM site_state),
    'open_work_orders', (SELECT coalesce(sum(open_work_orders), 0) FROM site_state),
    'sites_by_state', (SELECT json_build_object(
        'alarm', count(*) FILTER (WHERE state = 'alarm'),
        'fault', count(*) FILTER (WHERE state = 'fault'),
        'offline', count(*) FILTER (WHERE state = 'offline'),
        'ok', count(*) FILTER (WHERE state = 'ok'),
        'no_device', count(*) FILTER (WHERE state = 'no_device')) FROM site_state),
    'villages', coalesce((SELECT json_agg(json_build_object(
        'org_id', org_id, 'name', name, 'sites', sites, 'devices', devices,
        'in_service', in_service,
        'installed_pct', round(100.0 * in_service / nullif(devices, 0), 1),
        'online_rate', round(online::numeric / nullif(online + offline, 0), 4),
        'online', online, 'offline', offline, 'low_battery', low_battery, 'tamper', tamper,
        'fault', fault, 'open_work_orders', open_work_orders) ORDER BY path)
        FROM by_village), '[]'::json),
    'map', coalesce((SELECT json_agg(m ORDER BY m.site_id) FROM (
        SELECT s.id AS site_id, s.name, s.kind, s.latitude, s.longitude, s.state
        FROM site_state s ORDER BY s.id LIMIT %(limit)s) m), '[]'::json)
)::text AS body;
