-- Time-series storage that matches what the database really is (issue 16).
--
-- Behaviour follows the layout, not the extension: a table is left to TimescaleDB's policies
-- only when it IS a hypertable. A database migrated on plain PostgreSQL that later got the
-- extension keeps plain tables until `smokewatch timescale convert`, and plain retention keeps
-- running on them meanwhile. Dead letters are purged by sw_apply_retention in both modes.
--
-- Layout on TimescaleDB, measured with bench/storage.py on the simulator's telemetry
-- (docs/benchmarks.md, "Storage"): readings in 30-day chunks, compressed per device in ts
-- order (a device's month in one segment: 720 hourly rows per batch instead of 24, 10x instead
-- of 3x); events in 90-day chunks, compressed without segmenting (a device has a few events a
-- day, so per-device segments were larger than the rows) and ordered by their unique keys.
-- Every column of a unique key is in segmentby or orderby, as TimescaleDB requires.
-- The hourly aggregate is real-time and its policy refreshes the whole accepted lateness
-- (readings up to 400 days old; the refresh only recomputes invalidated buckets).

CREATE FUNCTION sw_is_hypertable(tbl text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT sw_timescale_enabled() THEN
        RETURN false;
    END IF;
    -- Planned only here, when the extension (and so the view) exists.
    RETURN EXISTS (SELECT 1 FROM timescaledb_information.hypertables
                   WHERE hypertable_schema = current_schema() AND hypertable_name = tbl);
END
$$;

-- True when readings and events are hypertables, i.e. TimescaleDB's policies keep them.
CREATE FUNCTION sw_timescale_layout() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT sw_is_hypertable('readings') AND sw_is_hypertable('events')
$$;

-- Chunk interval, compression and policies of one of our hypertables; idempotent. Used by this
-- migration on TimescaleDB databases and by `smokewatch timescale convert`.
CREATE FUNCTION sw_timescale_tune(tbl text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF tbl = 'readings' THEN
        PERFORM set_chunk_time_interval('readings', INTERVAL '30 days');
        ALTER TABLE readings SET (
            timescaledb.compress,
            timescaledb.compress_segmentby = 'device_id',
            timescaledb.compress_orderby = 'ts DESC, msg_key');
        PERFORM remove_compression_policy('readings', if_exists => true);
        PERFORM add_compression_policy('readings', INTERVAL '7 days');
        -- Raw readings at least 400 days.
        PERFORM remove_retention_policy('readings', if_exists => true);
        PERFORM add_retention_policy('readings', INTERVAL '400 days');
    ELSIF tbl = 'events' THEN
        PERFORM set_chunk_time_interval('events', INTERVAL '90 days');
        ALTER TABLE events SET (
            timescaledb.compress,
            timescaledb.compress_segmentby = '',
            timescaledb.compress_orderby = 'device_id, ts DESC, msg_key, type, id');
        PERFORM remove_compression_policy('events', if_exists => true);
        PERFORM add_compression_policy('events', INTERVAL '30 days');
        -- Alarm and status records at least one year (GB 50440); we keep three.
        PERFORM remove_retention_policy('events', if_exists => true);
        PERFORM add_retention_policy('events', INTERVAL '1100 days');
    ELSE
        RAISE EXCEPTION 'sw_timescale_tune: % is not one of our hypertables', tbl;
    END IF;
END
$$;

-- readings_hourly as a real-time continuous aggregate (replacing the plain view of a converted
-- database). Real time: buckets past the last refresh are computed from the raw rows at query
-- time, so the current hour is there. The policy refreshes from 400 days back (the protocol
-- accepts readings that old), so late readings and backfills reach the materialized part at
-- the next run; a refresh recomputes only the buckets the invalidation log names.
CREATE FUNCTION sw_timescale_aggregate() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates
                   WHERE view_schema = current_schema() AND view_name = 'readings_hourly') THEN
        DROP VIEW IF EXISTS readings_hourly;
        -- WITH NO DATA keeps this legal inside a transaction; real time answers meanwhile.
        EXECUTE $cagg$
            CREATE MATERIALIZED VIEW readings_hourly
            WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
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
    END IF;
    ALTER MATERIALIZED VIEW readings_hourly SET (timescaledb.materialized_only = false);
    PERFORM remove_continuous_aggregate_policy('readings_hourly', if_exists => true);
    IF EXISTS (SELECT 1 FROM pg_proc
               WHERE proname = 'add_continuous_aggregate_policy'
                 AND 'refresh_newest_first' = ANY (proargnames)) THEN
        -- TimescaleDB >= 2.19 refreshes in committed batches, newest first by default: the
        -- watermark then jumps to now after the first batch and the real-time part stops
        -- covering the older buckets still to come, so the aggregate has a hole until the run
        -- ends (or forever, if the run fails half-way). Oldest first, the watermark only
        -- moves up over what is materialized. A batch is 30 days of hourly buckets.
        PERFORM add_continuous_aggregate_policy('readings_hourly',
            start_offset => INTERVAL '400 days',
            end_offset => INTERVAL '1 hour',
            schedule_interval => INTERVAL '10 minutes',
            buckets_per_batch => 720,
            refresh_newest_first => false);
    ELSE
        PERFORM add_continuous_aggregate_policy('readings_hourly',
            start_offset => INTERVAL '400 days',
            end_offset => INTERVAL '1 hour',
            schedule_interval => INTERVAL '10 minutes');
    END IF;
END
$$;

-- Retention of every table that promises one, in both modes. Hypertables are left to their
-- policies; plain tables (plain PostgreSQL, or a database not yet converted) are deleted from
-- in bounded batches; dead letters are always ours to purge. Returns the rows deleted.
CREATE OR REPLACE FUNCTION sw_apply_retention(
    readings_keep interval DEFAULT INTERVAL '400 days',
    events_keep interval DEFAULT INTERVAL '1100 days',
    dead_letters_keep interval DEFAULT INTERVAL '90 days',
    batch integer DEFAULT 50000
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    deleted bigint := 0;
    n bigint;
BEGIN
    IF NOT sw_is_hypertable('readings') THEN
        DELETE FROM readings WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM readings WHERE ts < now() - readings_keep LIMIT batch));
        GET DIAGNOSTICS n = ROW_COUNT; deleted := deleted + n;
    END IF;
    IF NOT sw_is_hypertable('events') THEN
        DELETE FROM events WHERE ctid = ANY (ARRAY(
            SELECT ctid FROM events WHERE ts < now() - events_keep LIMIT batch));
        GET DIAGNOSTICS n = ROW_COUNT; deleted := deleted + n;
    END IF;
    DELETE FROM dead_letters WHERE id = ANY (ARRAY(
        SELECT id FROM dead_letters WHERE received_at < now() - dead_letters_keep LIMIT batch));
    GET DIAGNOSTICS n = ROW_COUNT; deleted := deleted + n;
    RETURN deleted;
END
$$;

-- Databases that got their hypertables from 0002 take the new layout (new chunks get the new
-- interval; compressed chunks keep their settings until recompressed).
DO $$
BEGIN
    IF sw_is_hypertable('readings') THEN
        PERFORM sw_timescale_tune('readings');
    END IF;
    IF sw_is_hypertable('events') THEN
        PERFORM sw_timescale_tune('events');
    END IF;
    IF sw_is_hypertable('readings') THEN
        PERFORM sw_timescale_aggregate();
    END IF;
END
$$;
