-- sw_refresh_village_health() again, same result: each organisation's figures are spread to
-- the ids on its materialised path (an equality join) instead of matching every village's
-- path prefix against every organisation (a nested loop of LIKEs, villages x organisations),
-- which dominated the refresh with 1,000 villages.
CREATE OR REPLACE FUNCTION sw_refresh_village_health(as_of timestamptz DEFAULT now()) RETURNS integer
LANGUAGE sql AS $$
    WITH site_counts AS (
        SELECT s.org_id, count(*) AS sites
        FROM sites s WHERE s.archived_at IS NULL
        GROUP BY s.org_id
    ), device_counts AS (
        SELECT s.org_id,
               count(*) AS devices,
               count(*) FILTER (WHERE d.status = 'in_service') AS in_service,
               count(*) FILTER (WHERE d.status IN ('installed', 'in_service', 'faulty')
                                  AND ds.online) AS online,
               count(*) FILTER (WHERE d.status IN ('installed', 'in_service', 'faulty')
                                  AND NOT coalesce(ds.online, false)) AS offline,
               count(*) FILTER (WHERE ds.battery_low) AS low_battery,
               count(*) FILTER (WHERE ds.tamper_active) AS tamper,
               count(*) FILTER (WHERE ds.fault_active) AS fault
        FROM devices d
        JOIN sites s ON s.id = d.site_id AND s.archived_at IS NULL
        LEFT JOIN device_state ds ON ds.device_id = d.id
        WHERE d.status <> 'removed'
        GROUP BY s.org_id
    ), order_counts AS (
        SELECT s.org_id, count(*) AS open_work_orders, min(w.opened_at) AS oldest
        FROM work_orders w
        JOIN devices d ON d.id = w.device_id
        JOIN sites s ON s.id = coalesce(w.site_id, d.site_id)
        WHERE w.status = 'open'
        GROUP BY s.org_id
    ), per_org AS (
        SELECT o.path,
               coalesce(sc.sites, 0) AS sites,
               coalesce(dc.devices, 0) AS devices,
               coalesce(dc.in_service, 0) AS in_service,
               coalesce(dc.online, 0) AS online,
               coalesce(dc.offline, 0) AS offline,
               coalesce(dc.low_battery, 0) AS low_battery,
               coalesce(dc.tamper, 0) AS tamper,
               coalesce(dc.fault, 0) AS fault,
               coalesce(oc.open_work_orders, 0) AS open_work_orders,
               oc.oldest
        FROM organisations o
        LEFT JOIN site_counts sc ON sc.org_id = o.id
        LEFT JOIN device_counts dc ON dc.org_id = o.id
        LEFT JOIN order_counts oc ON oc.org_id = o.id
        WHERE sc.org_id IS NOT NULL OR dc.org_id IS NOT NULL OR oc.org_id IS NOT NULL
    ), ancestry AS (
        -- Each organisation's figures count for every organisation on its path.
        SELECT p.*, a.id::bigint AS ancestor_id
        FROM per_org p, unnest(string_to_array(rtrim(p.path, '.'), '.')) AS a (id)
    ), gone AS (
        DELETE FROM village_health h
        WHERE NOT EXISTS (SELECT 1 FROM organisations o
                          WHERE o.id = h.org_id AND o.level IN ('village', 'community'))
    ), written AS (
        INSERT INTO village_health AS h (org_id, as_of, sites, devices, in_service, online,
                                         offline, low_battery, tamper, fault, open_work_orders,
                                         oldest_open_work_order_at)
        SELECT v.id, sw_refresh_village_health.as_of,
               coalesce(sum(p.sites), 0), coalesce(sum(p.devices), 0),
               coalesce(sum(p.in_service), 0), coalesce(sum(p.online), 0),
               coalesce(sum(p.offline), 0), coalesce(sum(p.low_battery), 0),
               coalesce(sum(p.tamper), 0), coalesce(sum(p.fault), 0),
               coalesce(sum(p.open_work_orders), 0), min(p.oldest)
        FROM organisations v
        LEFT JOIN ancestry p ON p.ancestor_id = v.id
        WHERE v.level IN ('village', 'community')
        GROUP BY v.id
        ON CONFLICT (org_id) DO UPDATE SET
            as_of = EXCLUDED.as_of, sites = EXCLUDED.sites, devices = EXCLUDED.devices,
            in_service = EXCLUDED.in_service, online = EXCLUDED.online,
            offline = EXCLUDED.offline, low_battery = EXCLUDED.low_battery,
            tamper = EXCLUDED.tamper, fault = EXCLUDED.fault,
            open_work_orders = EXCLUDED.open_work_orders,
            oldest_open_work_order_at = EXCLUDED.oldest_open_work_order_at
        RETURNING 1
    )
    SELECT count(*)::integer FROM written
$$;
