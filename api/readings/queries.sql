-- One device's readings and current state. Bucketing uses TimescaleDB's time_bucket when the
-- extension is installed and PostgreSQL's date_bin otherwise; the service picks the query once
-- per process (core.db.is_timescale). Both read (device_id, ts) through the readings unique
-- index, so a day of one device is a short index range whatever the table's size.

-- name: device_in_scope
SELECT d.id
FROM devices d
JOIN sites s ON s.id = d.site_id
JOIN organisations o ON o.id = s.org_id
WHERE d.id = %(device_id)s AND o.path LIKE ANY(%(scope)s);

-- name: device_status
-- "Silence is a state": online only while the deadline is in the future.
SELECT d.id AS device_id, d.status, d.site_id, d.room, d.position, d.model_code,
       (ds.online AND coalesce(ds.offline_deadline > now(), false)) AS online,
       ds.last_seen, ds.offline_deadline, ds.last_reading_at, ds.battery_pct, ds.battery_mv,
       ds.signal_dbm, ds.temperature_c, ds.smoke_obscuration, ds.firmware,
       ds.last_event_at, ds.last_event_type, ds.alarm_active, ds.tamper_active,
       ds.fault_active, ds.battery_low
FROM devices d
JOIN sites s ON s.id = d.site_id
JOIN organisations o ON o.id = s.org_id
LEFT JOIN device_state ds ON ds.device_id = d.id
WHERE d.id = %(device_id)s AND o.path LIKE ANY(%(scope)s);

-- name: raw_readings
SELECT ts, smoke_obscuration, temperature_c, battery_pct, battery_mv, signal_dbm
FROM readings
WHERE device_id = %(device_id)s AND ts >= %(since)s AND ts < %(until)s
ORDER BY ts
LIMIT %(limit)s;

-- name: bucketed_readings_timescale
SELECT time_bucket(%(width)s::interval, ts) AS bucket,
       count(*) AS samples,
       avg(smoke_obscuration) AS smoke_avg, max(smoke_obscuration) AS smoke_max,
       avg(temperature_c) AS temperature_avg, max(temperature_c) AS temperature_max,
       min(battery_pct) AS battery_pct_min, min(battery_mv) AS battery_mv_min,
       avg(signal_dbm) AS signal_avg
FROM readings
WHERE device_id = %(device_id)s AND ts >= %(since)s AND ts < %(until)s
GROUP BY 1
ORDER BY 1
LIMIT %(limit)s;

-- name: bucketed_readings_plain
SELECT date_bin(%(width)s::interval, ts, TIMESTAMPTZ '2000-01-01') AS bucket,
       count(*) AS samples,
       avg(smoke_obscuration) AS smoke_avg, max(smoke_obscuration) AS smoke_max,
       avg(temperature_c) AS temperature_avg, max(temperature_c) AS temperature_max,
       min(battery_pct) AS battery_pct_min, min(battery_mv) AS battery_mv_min,
       avg(signal_dbm) AS signal_avg
FROM readings
WHERE device_id = %(device_id)s AND ts >= %(since)s AND ts < %(until)s
GROUP BY 1
ORDER BY 1
LIMIT %(limit)s;
