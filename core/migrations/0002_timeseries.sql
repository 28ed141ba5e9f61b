-- What detectors say: readings (telemetry), events, and what could not be understood.

-- Periodic telemetry. (device_id, ts, msg_key) is the natural key that turns an MQTT QoS 1
-- redelivery into a no-op; msg_key is the device's seq, or a hash of the payload without one.
CREATE TABLE readings (
    device_id          text NOT NULL,
    ts                 timestamptz NOT NULL,
    received_at        timestamptz NOT NULL,
    msg_key            bigint NOT NULL,
    smoke_obscuration  real,
    temperature_c      real,
    battery_pct        real,
    battery_mv         integer,
    signal_dbm         smallint,
    firmware           text,
    -- Fields we do not model, kept as sent.
    extra              jsonb,
    UNIQUE (device_id, ts, msg_key)
);

-- Everything a detector reports that is not plain telemetry.
CREATE TABLE events (
    id           bigint GENERATED ALWAYS AS IDENTITY,
    device_id    text NOT NULL,
    ts           timestamptz NOT NULL,
    received_at  timestamptz NOT NULL,
    stored_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    msg_key      bigint NOT NULL,
    type         text NOT NULL,
    priority     smallint NOT NULL,
    site_id      bigint,
    source       text NOT NULL DEFAULT 'native',
    data         jsonb,
    raw          jsonb,
    PRIMARY KEY (id, ts),
    UNIQUE (device_id, ts, msg_key, type)
);
CREATE INDEX events_device_ts_idx ON events (device_id, ts DESC);
CREATE INDEX events_site_ts_idx ON events (site_id, ts DESC) WHERE site_id IS NOT NULL;

-- The outbox from ingest to alerting: written in the same transaction as the event, claimed
-- with SKIP LOCKED and deleted when alerting has turned it into incidents and pages.
CREATE TABLE pending_events (
    event_id     bigint PRIMARY KEY,
    event_ts     timestamptz NOT NULL,
    device_id    text NOT NULL,
    type         text NOT NULL,
    priority     smallint NOT NULL,
    enqueued_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts     integer NOT NULL DEFAULT 0
);
CREATE INDEX pending_events_order_idx ON pending_events (priority, enqueued_at);

-- Input we could not accept, kept with its reason so nothing is silently lost.
CREATE TABLE dead_letters (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at  timestamptz NOT NULL,
    source       text NOT NULL,
    topic        text,
    device_id    text,
    reason_code  text NOT NULL,
    reason       text NOT NULL,
    payload      bytea NOT NULL,
    payload_size integer NOT NULL
);
CREATE INDEX dead_letters_received_idx ON dead_letters (received_at DESC);
CREATE INDEX dead_letters_reason_idx ON dead_letters (reason_code, received_at DESC);

-- Devices that talk to us before anyone registered them: the installers' to-do list.
CREATE TABLE unregistered_devices (
    source         text NOT NULL,
    external_id    text NOT NULL,
    first_seen     timestamptz NOT NULL,
    last_seen      timestamptz NOT NULL,
    message_count  bigint NOT NULL DEFAULT 1,
    last_topic     text,
    last_payload   bytea,
    PRIMARY KEY (source, external_id)
);

-- Time-series storage. With TimescaleDB: hypertables, compression, retention and an hourly
-- continuous aggregate. Without it: the same tables, time indexes and a retention function
-- that the services call (sw_apply_retention), and a plain view with the aggregate's shape.
DO $$
BEGIN
    IF sw_timescale_enabled() THEN
        PERFORM create_hypertable('readings', by_range('ts', INTERVAL '1 day'));
        PERFORM create_hypertable('events', by_range('ts', INTERVAL '7 days'));

        ALTER TABLE readings SET (
            timescaledb.compress,
            timescaledb.compress_segmentby = 'device_id',
            timescaledb.compress_orderby = 'ts DESC');
        ALTER TABLE events SET (
            timescaledb.compress,
            timescaledb.compress_segmentby = 'device_id',
            timescaledb.compress_orderby = 'ts DESC');
        PERFORM add_compression_policy('readings', INTERVAL '7 days', if_not_exists => true);
        PERFORM add_compression_policy('events', INTERVAL '30 days', if_not_exists => true);

        -- Raw readings at least 400 days; alarm and status events at least one year (GB 50440).
        PERFORM add_retention_policy('readings', INTERVAL '400 days', if_not_exists => true);
        PERFORM add_retention_policy('events', INTERVAL '1100 days', if_not_exists => true);

        -- WITH NO DATA keeps this legal inside the migration's transaction; the policy fills it.
        EXECUTE $cagg$
            CREATE MATERIALIZED VIEW readings_hourly
            WITH (timescaledb.continuous) AS
            SELECT device_id,
                   time_bucket(INTERVAL '1 hour', ts) AS bucket,
                   count(*)                AS samples,
                   avg(smoke_obscuration)  AS smoke_avg,
                   max(smoke_obscuration)  AS smoke_max,
                   avg(temperature_c)      AS temperature_avg,
                   max(temperature_c)      AS temperature_max,
                   min(battery_pct)        AS battery_pct_min,
                   min(battery_mv)         AS battery_mv_min,
                   avg(signal_dbm)         AS signal_avg
            FROM readings
            GROUP BY device_id, time_bucket(INTERVAL '1 hour', ts)
            WITH NO DATA
        $cagg$;
        -- The window covers three buckets (the policy needs at least two).
        PERFORM add_continuous_aggregate_policy('readings_hourly',
            start_offset => INTERVAL '3 hours',
            end_offset => INTERVAL '1 hour',
            schedule_interval => INTERVAL '30 minutes',
            if_not_exists => true);
    ELSE
        CREATE INDEX readings_ts_brin ON readings USING brin (ts);
        CREATE INDEX events_ts_idx ON events (ts);
        EXECUTE $view$
            CREATE VIEW readings_hourly AS
            SELECT device_id,
                   date_bin(INTERVAL '1 hour', ts, TIMESTAMPTZ '2000-01-01') AS bucket,
                   count(*)                AS samples,
                   avg(smoke_obscuration)  AS smoke_avg,
                   max(smoke_obscuration)  AS smoke_max,
                   avg(temperature_c)      AS temperature_avg,
                   max(temperature_c)      AS temperature_max,
                   min(battery_pct)        AS battery_pct_min,
                   min(battery_mv)         AS battery_mv_min,
                   avg(signal_dbm)         AS signal_avg
            FROM readings
            GROUP BY 1, 2
        $view$;
    END IF;
END
$$;

-- Retention without TimescaleDB: delete in bounded batches so a large backlog never holds
-- a long lock. Returns the rows deleted. With TimescaleDB the policies above do this.
CREATE FUNCTION sw_apply_retention(
    readings_keep interval DEFAULT INTERVAL '400 days',
    events_keep interval DEFAULT INTERVAL '1100 days',
    dead_letters_keep interval DEFAULT INTERVAL '90 days',
    batch integer DEFAULT 50000
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    deleted bigint := 0;
    n bigint;
BEGIN
    IF sw_timescale_enabled() THEN
        DELETE FROM dead_letters WHERE received_at < now() - dead_letters_keep;
        GET DIAGNOSTICS n = ROW_COUNT;
        RETURN n;
    END IF;
    DELETE FROM readings WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM readings WHERE ts < now() - readings_keep LIMIT batch));
    GET DIAGNOSTICS n = ROW_COUNT; deleted := deleted + n;
    DELETE FROM events WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM events WHERE ts < now() - events_keep LIMIT batch));
    GET DIAGNOSTICS n = ROW_COUNT; deleted := deleted + n;
    DELETE FROM dead_letters WHERE id = ANY (ARRAY(
        SELECT id FROM dead_letters WHERE received_at < now() - dead_letters_keep LIMIT batch));
    GET DIAGNOSTICS n = ROW_COUNT; deleted := deleted + n;
    RETURN deleted;
END
$$;
