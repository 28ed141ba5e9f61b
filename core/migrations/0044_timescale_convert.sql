-- Converting a plain-PostgreSQL database to TimescaleDB, resumably (`smokewatch timescale
-- convert`, core/timescale.py drives these functions; docs/operations.md).
--
-- For each of readings and events: a shadow hypertable <t>_timescale is created with the final
-- layout, and a trigger mirrors every insert and delete on <t> into it, so ingest and plain
-- retention keep running while history is copied in committed time-range batches (progress in
-- timescale_conversion; an interrupted run resumes where the last batch ended). The swap is
-- one short transaction: the old table is dropped, the shadow takes its name, its constraints,
-- indexes and sequence take the canonical names, and the policies (and for readings the
-- continuous aggregate, replacing the plain view) are set. Until then the old table serves
-- every read and write, and sw_apply_retention treats it as plain.

CREATE TABLE timescale_conversion (
    table_name    text PRIMARY KEY CHECK (table_name IN ('readings', 'events')),
    copied_until  timestamptz,
    rows_copied   bigint NOT NULL DEFAULT 0,
    started_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION sw_convert_mirror() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'readings' THEN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO readings_timescale SELECT NEW.* ON CONFLICT DO NOTHING;
        ELSE
            DELETE FROM readings_timescale
            WHERE device_id = OLD.device_id AND ts = OLD.ts AND msg_key = OLD.msg_key;
        END IF;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO events_timescale OVERRIDING SYSTEM VALUE SELECT NEW.* ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM events_timescale WHERE id = OLD.id AND ts = OLD.ts;
    END IF;
    RETURN NULL;
END
$$;

-- Create the shadow hypertable and the mirror trigger; a no-op when they exist.
CREATE FUNCTION sw_convert_prepare(tbl text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT sw_timescale_enabled() THEN
        RAISE EXCEPTION 'the timescaledb extension is not installed in this database';
    END IF;
    IF sw_is_hypertable(tbl) THEN
        RETURN;
    END IF;
    IF tbl = 'readings' AND to_regclass('readings_timescale') IS NULL THEN
        CREATE TABLE readings_timescale (LIKE readings INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
        PERFORM create_hypertable('readings_timescale', by_range('ts', INTERVAL '30 days'));
        ALTER TABLE readings_timescale
            ADD CONSTRAINT readings_timescale_key UNIQUE (device_id, ts, msg_key);
    ELSIF tbl = 'events' AND to_regclass('events_timescale') IS NULL THEN
        CREATE TABLE events_timescale (
            LIKE events INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS);
        PERFORM create_hypertable('events_timescale', by_range('ts', INTERVAL '90 days'));
        ALTER TABLE events_timescale ADD CONSTRAINT events_timescale_pkey PRIMARY KEY (id, ts);
        ALTER TABLE events_timescale
            ADD CONSTRAINT events_timescale_key UNIQUE (device_id, ts, msg_key, type);
        CREATE INDEX events_timescale_device_ts_idx ON events_timescale (device_id, ts DESC);
        CREATE INDEX events_timescale_site_ts_idx ON events_timescale (site_id, ts DESC)
            WHERE site_id IS NOT NULL;
    ELSIF tbl NOT IN ('readings', 'events') THEN
        RAISE EXCEPTION 'sw_convert_prepare: % is not converted', tbl;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = tbl::regclass AND tgname = tbl || '_convert_mirror') THEN
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR DELETE ON %I
                        FOR EACH ROW EXECUTE FUNCTION sw_convert_mirror()',
                       tbl || '_convert_mirror', tbl);
    END IF;
    INSERT INTO timescale_conversion (table_name) VALUES (tbl) ON CONFLICT DO NOTHING;
END
$$;

-- Copy the rows of [from_ts, to_ts) into the shadow; returns the rows that were new there.
CREATE FUNCTION sw_convert_copy(tbl text, from_ts timestamptz, to_ts timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    IF tbl = 'readings' THEN
        INSERT INTO readings_timescale
        SELECT * FROM readings WHERE ts >= from_ts AND ts < to_ts
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO events_timescale OVERRIDING SYSTEM VALUE
        SELECT * FROM events WHERE ts >= from_ts AND ts < to_ts
        ON CONFLICT DO NOTHING;
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    UPDATE timescale_conversion
    SET copied_until = to_ts, rows_copied = rows_copied + n, updated_at = now()
    WHERE table_name = tbl;
    RETURN n;
END
$$;

-- Replace the plain table by its shadow hypertable and set the policies; one transaction.
CREATE FUNCTION sw_convert_swap(tbl text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- Readers and writers wait for the few statements below, not for the copy.
    EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', tbl);
    IF tbl = 'readings' THEN
        DROP VIEW IF EXISTS readings_hourly;
        DROP TABLE readings;
        ALTER TABLE readings_timescale RENAME TO readings;
        ALTER TABLE readings RENAME CONSTRAINT readings_timescale_key
            TO readings_device_id_ts_msg_key_key;
        ALTER INDEX readings_timescale_ts_idx RENAME TO readings_ts_idx;
        PERFORM sw_timescale_tune('readings');
        PERFORM sw_timescale_aggregate();
    ELSE
        -- New ids continue after the old table's.
        PERFORM setval('events_timescale_id_seq', last_value, is_called) FROM events_id_seq;
        DROP TABLE events;
        ALTER TABLE events_timescale RENAME TO events;
        ALTER SEQUENCE events_timescale_id_seq RENAME TO events_id_seq;
        ALTER TABLE events RENAME CONSTRAINT events_timescale_pkey TO events_pkey;
        ALTER TABLE events RENAME CONSTRAINT events_timescale_key
            TO events_device_id_ts_msg_key_type_key;
        ALTER INDEX events_timescale_device_ts_idx RENAME TO events_device_ts_idx;
        ALTER INDEX events_timescale_site_ts_idx RENAME TO events_site_ts_idx;
        ALTER INDEX events_timescale_ts_idx RENAME TO events_ts_idx;
        PERFORM sw_timescale_tune('events');
    END IF;
    DELETE FROM timescale_conversion WHERE table_name = tbl;
END
$$;

-- Maintenance judged by its effects, in both modes (alerting exports these as metrics). On
-- PostgreSQL 15.20 TimescaleDB records every background job as failed after it did its work
-- (/work/shared/timescaledb/README.md), so job_stats cannot tell a broken policy from a working
-- one; what the policies leave behind can:
--   rows_past_retention      rows older than the promise (capped at 10,000); a hypertable
--                            drops whole chunks, so there the bound is keep + chunk interval
--   oldest_row_age_s         age of the oldest row (hypertables: start of the oldest chunk;
--                            plain readings have no ordered index on ts and are skipped)
--   chunks_awaiting_compression  chunks past compress_after (plus a day) still uncompressed
--   aggregate_lag_s          how far the hourly aggregate's materialization lags the raw rows
--                            it should hold by now (0 for the plain view, always complete)
CREATE FUNCTION sw_storage_health(
    readings_keep interval DEFAULT INTERVAL '400 days',
    events_keep interval DEFAULT INTERVAL '1100 days',
    dead_letters_keep interval DEFAULT INTERVAL '90 days'
) RETURNS TABLE (metric text, tbl text, value double precision)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    t text;
    keep interval;
    slack interval;
    n double precision;
BEGIN
    FOREACH t IN ARRAY ARRAY['readings', 'events'] LOOP
        keep := CASE t WHEN 'readings' THEN readings_keep ELSE events_keep END;
        IF sw_is_hypertable(t) THEN
            SELECT coalesce(max(d.time_interval), INTERVAL '0') INTO slack
            FROM timescaledb_information.dimensions d
            WHERE d.hypertable_schema = current_schema() AND d.hypertable_name = t;
            RETURN QUERY
                SELECT 'oldest_row_age_s', t, extract(epoch FROM now() - min(c.range_start))::float8
                FROM timescaledb_information.chunks c
                WHERE c.hypertable_schema = current_schema() AND c.hypertable_name = t;
            RETURN QUERY
                SELECT 'chunks_awaiting_compression', t, count(*)::float8
                FROM timescaledb_information.chunks c
                JOIN timescaledb_information.jobs j
                  ON j.hypertable_schema = c.hypertable_schema
                 AND j.hypertable_name = c.hypertable_name
                 AND j.proc_name = 'policy_compression'
                WHERE c.hypertable_schema = current_schema() AND c.hypertable_name = t
                  AND NOT c.is_compressed
                  AND c.range_end < now() - (j.config ->> 'compress_after')::interval
                                          - INTERVAL '1 day';
        ELSE
            slack := INTERVAL '0';
            IF t = 'events' THEN
                RETURN QUERY SELECT 'oldest_row_age_s', t,
                    extract(epoch FROM now() - (SELECT min(ts) FROM events))::float8;
            END IF;
            RETURN QUERY SELECT 'chunks_awaiting_compression', t, 0::float8;
        END IF;
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %I WHERE ts < $1 LIMIT 10000) s', t)
            INTO n USING now() - keep - slack - INTERVAL '1 day';
        RETURN QUERY SELECT 'rows_past_retention', t, n;
    END LOOP;
    RETURN QUERY SELECT 'oldest_row_age_s', 'dead_letters'::text,
        extract(epoch FROM now() - (SELECT min(received_at) FROM dead_letters))::float8;
    RETURN QUERY SELECT 'rows_past_retention', 'dead_letters'::text, count(*)::float8
        FROM (SELECT 1 FROM dead_letters
              WHERE received_at < now() - dead_letters_keep - INTERVAL '1 day' LIMIT 10000) s;
    IF sw_is_hypertable('readings') THEN
        -- Raw rows old enough to be materialized (past the policy's end_offset of 1 hour plus
        -- a bucket) but above the watermark: 0 while the refresh keeps up.
        RETURN QUERY
            SELECT 'aggregate_lag_s', 'readings_hourly'::text,
                   greatest(0, extract(epoch FROM
                       least((SELECT max(ts) FROM readings), now() - INTERVAL '2 hours')
                       - _timescaledb_functions.to_timestamp(
                             _timescaledb_functions.cagg_watermark(a.mat_hypertable_id))))::float8
            FROM _timescaledb_catalog.continuous_agg a
            WHERE a.user_view_schema = current_schema() AND a.user_view_name = 'readings_hourly';
    ELSE
        RETURN QUERY SELECT 'aggregate_lag_s', 'readings_hourly'::text, 0::float8;
    END IF;
END
$$;
