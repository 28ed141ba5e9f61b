-- Benchmark data for the API (bench/api_queries.py): a city of districts, sub-districts and
-- villages, households with detectors and their state, hourly readings, incidents and work
-- orders. Everything is generated in the database (INSERT ... SELECT generate_series).

-- name: city
INSERT INTO organisations (parent_id, level, code, name, name_en)
VALUES (NULL, 'city', 'bench-city', '济宁市', 'Jining') RETURNING id;

-- name: districts
INSERT INTO organisations (parent_id, level, code, name, name_en)
SELECT %(parent)s, 'district', 'bench-d' || g, '第' || g || '区', 'District ' || g
FROM generate_series(1, %(count)s) g;

-- name: sub_districts
-- Sub-district g belongs to district (g - 1) %% districts + 1.
INSERT INTO organisations (parent_id, level, code, name, name_en)
SELECT (SELECT id FROM organisations WHERE code = 'bench-d' || ((g - 1) %% %(parents)s + 1)),
       'sub_district', 'bench-s' || g, '第' || g || '街道', 'Sub-district ' || g
FROM generate_series(1, %(count)s) g;

-- name: villages
INSERT INTO organisations (parent_id, level, code, name, name_en)
SELECT (SELECT id FROM organisations WHERE code = 'bench-s' || ((g - 1) %% %(parents)s + 1)),
       'village', 'bench-v' || g, '第' || g || '村', 'Village ' || g
FROM generate_series(1, %(count)s) g;

-- name: sites
INSERT INTO sites (org_id, kind, category, name, address, latitude, longitude, resident_name,
                   resident_situation)
SELECT v.id, 'household', 'elderly_alone', v.name || g || '号', v.name || '第' || g || '户',
       35.3 + random() * 0.4, 116.4 + random() * 0.5, '住户' || g, ARRAY['独居']
FROM organisations v
CROSS JOIN generate_series(1, %(per_village)s) g
WHERE v.level = 'village' AND v.code LIKE 'bench-%%'
ORDER BY v.id, g;

-- name: devices
-- Device n hangs at site (n - 1) %% sites + 1: every village gets the same share. The state
-- trigger is switched off for the load; the state rows are written in one statement after.
INSERT INTO devices (id, model_code, site_id, room, status, installed_at, commissioned_at)
SELECT 'D' || lpad(n::text, 8, '0'), 'sw-native-1', %(first_site)s + (n - 1) %% %(sites)s,
       (ARRAY['厨房', '卧室', '客厅'])[1 + n %% 3],
       CASE WHEN n %% 50 = 0 THEN 'installed' ELSE 'in_service' END,
       now() - interval '200 days', CASE WHEN n %% 50 = 0 THEN NULL ELSE now() - interval '199 days' END
FROM generate_series(1, %(count)s) n;

-- name: device_states
INSERT INTO device_state (device_id, liveness, last_seen, offline_deadline, online, connection,
                          last_reading_at, smoke_obscuration, temperature_c, battery_pct,
                          signal_dbm, battery_low, tamper_active, fault_active, alarm_active)
SELECT d.id, interval '2 hours 10 minutes', seen, seen + interval '2 hours 10 minutes',
       n %% 40 <> 0, CASE WHEN n %% 40 <> 0 THEN 'online' ELSE 'offline' END,
       seen, random() * 0.2, 18 + random() * 10, 40 + random() * 60, -60 - (random() * 40)::int,
       n %% 60 = 0, n %% 1000 = 0, n %% 300 = 0, n %% 100000 = 0
FROM (SELECT d.id, substr(d.id, 2)::bigint AS n,
             CASE WHEN substr(d.id, 2)::bigint %% 40 = 0 THEN now() - interval '3 days'
                  ELSE now() - random() * interval '50 minutes' END AS seen
      FROM devices d WHERE d.id LIKE 'D%%') d;

-- name: readings_hour
-- One reading per device for hour ``hour`` before now (time-major, as ingest writes them).
INSERT INTO readings (device_id, ts, received_at, msg_key, smoke_obscuration, temperature_c,
                      battery_pct, signal_dbm)
SELECT 'D' || lpad(n::text, 8, '0'), t, t, %(hour)s, random() * 0.2, 18 + random() * 10,
       40 + random() * 60, -60 - (random() * 40)::int
FROM generate_series(1, %(devices)s) n,
     LATERAL (SELECT now() - make_interval(hours => %(hour)s) - random() * interval '59 minutes'
              + n * interval '0 microseconds' AS t) t;

-- name: incidents_resolved
-- Resolved fire incidents over the last 60 days: mostly false alarms, a few real fires.
INSERT INTO incidents (device_id, site_id, kind, priority, status, opened_at, last_event_at,
                       acknowledged_at, acknowledged_by, resolved_at, resolved_by, outcome,
                       false_alarm_cause)
SELECT d.id, d.site_id, 'fire', 1, 'resolved', t, t, t + interval '2 minutes', '值班员',
       t + interval '20 minutes', '值班员',
       CASE WHEN g %% 50 = 0 THEN 'real_fire' WHEN g %% 10 = 0 THEN 'test' ELSE 'false_alarm' END,
       CASE WHEN g %% 50 = 0 OR g %% 10 = 0 THEN NULL ELSE 'cooking' END
FROM generate_series(1, %(count)s) g
JOIN devices d ON d.id = 'D' || lpad((1 + (g * 7919) %% %(devices)s)::text, 8, '0'),
     LATERAL (SELECT now() - random() * interval '60 days' + g * interval '0 microseconds' AS t) t;

-- name: incidents_open
INSERT INTO incidents (device_id, site_id, kind, priority, status, opened_at, last_event_at)
SELECT d.id, d.site_id, 'fire', 1, 'triggered', now() - g * interval '1 minute',
       now() - g * interval '1 minute'
FROM generate_series(1, %(count)s) g
JOIN devices d ON d.id = 'D' || lpad((1 + (g * 104729) %% %(devices)s)::text, 8, '0')
ON CONFLICT DO NOTHING;

-- name: work_orders
-- A low-battery work order for every device whose state says so.
INSERT INTO work_orders (device_id, site_id, kind, opened_at, last_event_at)
SELECT ds.device_id, d.site_id, 'low_battery', now() - interval '3 days', now() - interval '3 days'
FROM device_state ds JOIN devices d ON d.id = ds.device_id
WHERE ds.battery_low;
