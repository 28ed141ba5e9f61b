-- Queries of the ingest service. Telemetry goes through a per-connection staging table
-- filled by COPY; events are written one statement each so an alarm never waits for a batch.

-- name: create_staging
CREATE TEMP TABLE IF NOT EXISTS staging_readings
    (LIKE readings INCLUDING DEFAULTS) ON COMMIT DELETE ROWS

-- name: copy_staging
COPY staging_readings (device_id, ts, received_at, msg_key, smoke_obscuration, temperature_c,
                       battery_pct, battery_mv, signal_dbm, firmware, extra) FROM STDIN (FORMAT BINARY)

-- name: unknown_staged_devices
SELECT DISTINCT s.device_id
FROM staging_readings s
WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = s.device_id)

-- name: discard_unknown_staged
DELETE FROM staging_readings WHERE device_id = ANY(%(device_ids)s)

-- name: insert_staged_readings
INSERT INTO readings
SELECT s.* FROM staging_readings s
ON CONFLICT (device_id, ts, msg_key) DO NOTHING

-- name: update_states_from_staging
-- Any message is a sign of life; measured values move only forward in device time.
-- Rows are locked in device_id order (the "locked" CTE is read before the update touches
-- anything): the event writer locks in the same order, so the two writers can wait for each
-- other but never deadlock. Returns the devices the watchdog had flagged offline.
WITH latest AS (
    SELECT DISTINCT ON (device_id) device_id, ts,
           max(received_at) OVER (PARTITION BY device_id) AS received_at,
           smoke_obscuration, temperature_c, battery_pct, battery_mv, signal_dbm, firmware
    FROM staging_readings
    ORDER BY device_id, ts DESC
), locked AS (
    SELECT ds.device_id, (NOT ds.online AND ds.last_seen IS NOT NULL) AS was_offline
    FROM device_state ds JOIN latest l ON l.device_id = ds.device_id
    ORDER BY ds.device_id
    FOR UPDATE OF ds
)
UPDATE device_state ds SET
    last_seen         = GREATEST(ds.last_seen, l.received_at),
    offline_deadline  = GREATEST(ds.last_seen, l.received_at) + ds.liveness,
    online            = true,
    last_reading_at   = GREATEST(ds.last_reading_at, l.ts),
    smoke_obscuration = CASE WHEN l.ts >= coalesce(ds.last_reading_at, '-infinity') THEN coalesce(l.smoke_obscuration, ds.smoke_obscuration) ELSE ds.smoke_obscuration END,
    temperature_c     = CASE WHEN l.ts >= coalesce(ds.last_reading_at, '-infinity') THEN coalesce(l.temperature_c, ds.temperature_c) ELSE ds.temperature_c END,
    battery_pct       = CASE WHEN l.ts >= coalesce(ds.last_reading_at, '-infinity') THEN coalesce(l.battery_pct, ds.battery_pct) ELSE ds.battery_pct END,
    battery_mv        = CASE WHEN l.ts >= coalesce(ds.last_reading_at, '-infinity') THEN coalesce(l.battery_mv, ds.battery_mv) ELSE ds.battery_mv END,
    signal_dbm        = CASE WHEN l.ts >= coalesce(ds.last_reading_at, '-infinity') THEN coalesce(l.signal_dbm, ds.signal_dbm) ELSE ds.signal_dbm END,
    firmware          = CASE WHEN l.ts >= coalesce(ds.last_reading_at, '-infinity') THEN coalesce(l.firmware, ds.firmware) ELSE ds.firmware END,
    updated_at        = clock_timestamp()
FROM latest l JOIN locked k ON k.device_id = l.device_id
WHERE ds.device_id = l.device_id
RETURNING ds.device_id, k.was_offline, l.received_at

-- name: insert_event
-- Returns one row when the event is new, none when it is a redelivery or the device is unknown.
INSERT INTO events (device_id, ts, received_at, msg_key, type, priority, site_id, source, data, raw)
SELECT d.id, %(ts)s, %(received_at)s, %(msg_key)s, %(type)s, %(priority)s, d.site_id, %(source)s,
       %(data)s, %(raw)s
FROM devices d
WHERE d.id = %(device_id)s
  -- A retained status replayed on every reconnect is news only when it changes the state.
  AND NOT (%(retained)s AND EXISTS (
      SELECT 1 FROM device_state ds
      WHERE ds.device_id = d.id AND ds.connection = %(connection)s))
ON CONFLICT (device_id, ts, msg_key, type) DO NOTHING
RETURNING id, ts

-- name: device_exists
SELECT EXISTS (SELECT 1 FROM devices WHERE id = %(device_id)s) AS known

-- name: enqueue_event
INSERT INTO pending_events (event_id, event_ts, device_id, type, priority)
VALUES (%(event_id)s, %(ts)s, %(device_id)s, %(type)s, %(priority)s)

-- name: lock_state
SELECT (NOT online AND last_seen IS NOT NULL) AS was_offline
FROM device_state WHERE device_id = %(device_id)s FOR UPDATE

-- name: update_state_from_event
-- Flags follow the newest event in device time, so a late redelivery cannot undo a newer one.
-- A broker-sent "offline" (Last Will) is not a sign of life; everything else is.
UPDATE device_state SET
    last_seen        = CASE WHEN %(alive)s THEN GREATEST(last_seen, %(received_at)s) ELSE last_seen END,
    offline_deadline = CASE WHEN %(alive)s THEN GREATEST(last_seen, %(received_at)s) + liveness ELSE offline_deadline END,
    online           = online OR %(alive)s,
    connection       = CASE WHEN %(connection)s::text IS NOT NULL THEN %(connection)s ELSE connection END,
    connection_since = CASE WHEN %(connection)s::text IS NOT NULL AND connection IS DISTINCT FROM %(connection)s
                            THEN %(received_at)s ELSE connection_since END,
    last_event_at    = GREATEST(last_event_at, %(ts)s),
    last_event_type  = CASE WHEN %(ts)s >= coalesce(last_event_at, '-infinity') THEN %(type)s ELSE last_event_type END,
    alarm_active     = CASE WHEN %(ts)s < coalesce(last_event_at, '-infinity') THEN alarm_active
                            WHEN %(type)s IN ('alarm', 'high_temperature') THEN true
                            WHEN %(type)s = 'alarm_cleared' THEN false ELSE alarm_active END,
    tamper_active    = CASE WHEN %(ts)s < coalesce(last_event_at, '-infinity') THEN tamper_active
                            WHEN %(type)s = 'tamper' THEN true
                            WHEN %(type)s = 'tamper_cleared' THEN false ELSE tamper_active END,
    fault_active     = CASE WHEN %(ts)s < coalesce(last_event_at, '-infinity') THEN fault_active
                            WHEN %(type)s = 'fault' THEN true
                            WHEN %(type)s = 'fault_cleared' THEN false ELSE fault_active END,
    battery_low      = CASE WHEN %(ts)s < coalesce(last_event_at, '-infinity') THEN battery_low
                            WHEN %(type)s = 'low_battery' THEN true
                            WHEN %(type)s = 'battery_ok' THEN false ELSE battery_low END,
    battery_pct      = coalesce(%(battery_pct)s, battery_pct),
    battery_mv       = coalesce(%(battery_mv)s, battery_mv),
    signal_dbm       = coalesce(%(signal_dbm)s, signal_dbm),
    temperature_c    = coalesce(%(temperature_c)s, temperature_c),
    smoke_obscuration = coalesce(%(smoke_obscuration)s, smoke_obscuration),
    firmware         = coalesce(%(firmware)s, firmware),
    updated_at       = clock_timestamp()
WHERE device_id = %(device_id)s

-- name: insert_back_online_event
-- The watchdog had flagged this device offline and it spoke again: tell the alert engine.
WITH ins AS (
    INSERT INTO events (device_id, ts, received_at, msg_key, type, priority, site_id, source, data)
    SELECT d.id, %(received_at)s, %(received_at)s, 0, 'online', 4, d.site_id, 'ingest',
           '{"reason": "heard again after being flagged offline"}'::jsonb
    FROM devices d WHERE d.id = %(device_id)s
    ON CONFLICT DO NOTHING
    RETURNING id, ts, device_id, type, priority
)
INSERT INTO pending_events (event_id, event_ts, device_id, type, priority)
SELECT id, ts, device_id, type, priority FROM ins

-- name: insert_dead_letter
INSERT INTO dead_letters (received_at, source, topic, device_id, reason_code, reason, payload, payload_size)
VALUES (%(received_at)s, %(source)s, %(topic)s, %(device_id)s, %(reason_code)s, %(reason)s,
        %(payload)s, %(payload_size)s)

-- name: note_unregistered
INSERT INTO unregistered_devices AS u (source, external_id, first_seen, last_seen, last_topic, last_payload)
VALUES (%(source)s, %(external_id)s, %(received_at)s, %(received_at)s, %(topic)s, %(payload)s)
ON CONFLICT (source, external_id) DO UPDATE SET
    last_seen = GREATEST(u.last_seen, EXCLUDED.last_seen),
    message_count = u.message_count + 1,
    last_topic = EXCLUDED.last_topic,
    last_payload = EXCLUDED.last_payload

-- name: apply_retention
SELECT sw_apply_retention(%(readings_keep)s, %(events_keep)s) AS deleted

-- Vendor codecs ---------------------------------------------------------------------------

-- name: touch_codec_states
-- Make sure a row exists for every registered identity in the batch so the next statement can
-- lock it: two workers decoding the same device's first messages then wait for each other.
-- Unregistered identities get no row (their records are not stored), so a stream of made-up
-- ids cannot grow the table.
INSERT INTO codec_states (codec, external_id, state)
SELECT codec, external_id, '{}'::jsonb
FROM device_identities
WHERE codec = %(codec)s AND external_id = ANY(%(external_ids)s)
ORDER BY external_id
ON CONFLICT (codec, external_id) DO NOTHING

-- name: lock_codec_states
SELECT codec, external_id, state
FROM codec_states
WHERE codec = %(codec)s AND external_id = ANY(%(external_ids)s)
ORDER BY codec, external_id
FOR UPDATE

-- name: save_codec_state
UPDATE codec_states SET state = %(state)s, updated_at = now()
WHERE codec = %(codec)s AND external_id = %(external_id)s

-- name: lookup_identities
SELECT external_id, device_id
FROM device_identities
WHERE codec = %(codec)s AND external_id = ANY(%(external_ids)s)

-- name: claim_dedupe_key
-- One row when the key is new (or its earlier use has expired), none for a repeat.
INSERT INTO push_dedupe AS p (codec, key, expires_at)
VALUES (%(codec)s, %(key)s, %(now)s + %(keep)s::interval)
ON CONFLICT (codec, key) DO UPDATE SET expires_at = EXCLUDED.expires_at
    WHERE p.expires_at < %(now)s
RETURNING 1 AS new

-- name: claim_inbox
SELECT id, codec, received_at, method, query, body
FROM push_inbox
ORDER BY id
LIMIT %(limit)s
FOR UPDATE SKIP LOCKED

-- name: claim_inbox_row
SELECT id, codec, received_at, method, query, body
FROM push_inbox WHERE id = %(id)s
FOR UPDATE SKIP LOCKED

-- name: delete_inbox
DELETE FROM push_inbox WHERE id = ANY(%(ids)s)

-- name: expire_dedupe_keys
DELETE FROM push_dedupe WHERE expires_at < now()

-- name: beat
-- Ingest is alive (and its MQTT lanes connected, and when it last received anything): the
-- offline watchdog flags nobody while this row is stale (docs/health.md).
INSERT INTO service_heartbeats AS h (service, instance, started_at, beat_at, connected, last_message_at)
VALUES ('ingest', %(instance)s, %(started_at)s, clock_timestamp(), %(connected)s, %(last_message_at)s)
ON CONFLICT (service, instance) DO UPDATE SET
    started_at = EXCLUDED.started_at, beat_at = EXCLUDED.beat_at, connected = EXCLUDED.connected,
    last_message_at = greatest(h.last_message_at, EXCLUDED.last_message_at)


-- name: lookup_profiles
-- What a registered identity's model tells its codec: the battery thresholds (migration 0045).
SELECT i.external_id, i.device_id, m.battery_low_pct, m.battery_ok_pct, m.battery_low_mv,
       m.battery_ok_mv
FROM device_identities i
JOIN devices d ON d.id = i.device_id
JOIN device_models m ON m.code = d.model_code
WHERE i.codec = %(codec)s AND i.external_id = ANY(%(external_ids)s)

-- Home Assistant discovery ------------------------------------------------------------------
-- A state message's external id is its state topic; it belongs to the device registered under
-- the device key of the entities that point to it.

-- name: ha_lookup_identities
SELECT DISTINCT ON (e.state_topic) e.state_topic AS external_id, i.device_id
FROM ha_entities e
JOIN device_identities i ON i.codec = 'homeassistant' AND i.external_id = e.device_key
WHERE e.state_topic = ANY(%(external_ids)s)
ORDER BY e.state_topic, e.seen_at DESC

-- name: ha_touch_codec_states
INSERT INTO codec_states (codec, external_id, state)
SELECT DISTINCT 'homeassistant', e.state_topic, '{}'::jsonb
FROM ha_entities e
JOIN device_identities i ON i.codec = 'homeassistant' AND i.external_id = e.device_key
WHERE e.state_topic = ANY(%(external_ids)s)
ORDER BY 2
ON CONFLICT (codec, external_id) DO NOTHING

-- name: ha_lookup_profiles
-- Every entity reading the topic (registered or not: unregistered ones are listed for the
-- installers), and the registered model's battery thresholds.
SELECT e.state_topic AS external_id,
       jsonb_agg(e.entity || jsonb_build_object('unsupported', e.unsupported)
                 ORDER BY e.config_topic, e.entity_key) AS entities,
       max(m.battery_low_pct) AS battery_low_pct, max(m.battery_ok_pct) AS battery_ok_pct,
       max(m.battery_low_mv) AS battery_low_mv, max(m.battery_ok_mv) AS battery_ok_mv
FROM ha_entities e
LEFT JOIN device_identities i ON i.codec = 'homeassistant' AND i.external_id = e.device_key
LEFT JOIN devices d ON d.id = i.device_id
LEFT JOIN device_models m ON m.code = d.model_code
WHERE e.state_topic = ANY(%(external_ids)s)
GROUP BY e.state_topic

-- name: ha_forget_config
DELETE FROM ha_entities WHERE config_topic = %(topic)s

-- name: ha_save_entity
INSERT INTO ha_entities (config_topic, entity_key, device_key, component, device_class,
                         state_topic, entity, unsupported, seen_at)
VALUES (%(config_topic)s, %(entity_key)s, %(device_key)s, %(component)s, %(device_class)s,
        %(state_topic)s, %(entity)s, %(unsupported)s, %(seen_at)s)
ON CONFLICT (config_topic, entity_key) DO UPDATE SET
    device_key = EXCLUDED.device_key, component = EXCLUDED.component,
    device_class = EXCLUDED.device_class, state_topic = EXCLUDED.state_topic,
    entity = EXCLUDED.entity, unsupported = EXCLUDED.unsupported, seen_at = EXCLUDED.seen_at
