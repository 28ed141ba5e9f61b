-- Device health per village (issue 7): the figures the dashboard and the API show for each
-- village or community, recomputed by the alerting watchdog (sw_refresh_village_health) about
-- once a minute instead of being aggregated over a million devices on every page view.
--
-- Counts cover what is beneath the organisation (organisations.path prefix: its grids too).
-- devices counts registered devices that are not removed, at sites that are not archived.
-- online + offline = deployed devices (installed, in service or faulty); a deployed device that
-- was never heard from is offline: silence is a state, never "last known OK".
CREATE TABLE village_health (
    org_id                     bigint PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    as_of                      timestamptz NOT NULL,
    sites                      int NOT NULL DEFAULT 0,
    devices                    int NOT NULL DEFAULT 0,
    in_service                 int NOT NULL DEFAULT 0,
    online                     int NOT NULL DEFAULT 0,
    offline                    int NOT NULL DEFAULT 0,
    low_battery                int NOT NULL DEFAULT 0,
    tamper                     int NOT NULL DEFAULT 0,
    fault                      int NOT NULL DEFAULT 0,
    open_work_orders           int NOT NULL DEFAULT 0,
    oldest_open_work_order_at  timestamptz
);

-- One statement: per-organisation aggregates first (a million devices are read once), then
-- each village sums the organisations whose path starts with its own. Returns the rows written.
CREATE FUNCTION sw_refresh_village_health(as_of timestamptz DEFAULT now()) RETURNS integer
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
        LEFT JOIN per_org p ON p.path LIKE v.path || '%'
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
