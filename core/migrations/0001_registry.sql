-- The registry: who is protected, where, by which detector, and whom to call.

-- TimescaleDB is used when the server offers it: available AND preloaded. The decision is made
-- before CREATE EXTENSION because on a server that did not preload the library that statement
-- raises FATAL and closes the connection, which no EXCEPTION block can catch. The NOTICE says
-- which mode was chosen and why; smokewatch migrate logs it. (This block was changed after
-- release; core/migrate.py accepts the earlier checksum of this file.)
DO $$
DECLARE
    preloaded boolean := EXISTS (
        SELECT 1
        FROM unnest(string_to_array(current_setting('shared_preload_libraries'), ',')) AS lib
        WHERE regexp_replace(btrim(lib, ' "'), '^.*/|\.so$', '', 'g') ~ '^timescaledb(-[0-9.]+)?$');
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        RAISE NOTICE 'storage mode: TimescaleDB (the extension is already installed)';
    ELSIF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        RAISE NOTICE 'storage mode: plain PostgreSQL (timescaledb is not installed on this server)';
    ELSIF NOT preloaded THEN
        RAISE NOTICE 'storage mode: plain PostgreSQL (timescaledb is installed but not in '
            'shared_preload_libraries = ''%''; preload it, restart, then run '
            'smokewatch timescale convert)', current_setting('shared_preload_libraries');
    ELSE
        CREATE EXTENSION timescaledb;
        RAISE NOTICE 'storage mode: TimescaleDB (available and preloaded: extension created)';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION sw_timescale_enabled() RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
$$;

-- The administrative hierarchy: district > sub-district > village or community > grid.
CREATE TABLE organisations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    parent_id   bigint REFERENCES organisations (id),
    level       text NOT NULL CHECK (level IN ('city', 'district', 'sub_district', 'village', 'community', 'grid')),
    code        text NOT NULL UNIQUE,
    name        text NOT NULL,
    name_en     text,
    -- Materialised path of ids, '1.4.17.', so "everything under X" is one prefix match.
    path        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organisations_path_idx ON organisations (path text_pattern_ops);
CREATE INDEX organisations_parent_idx ON organisations (parent_id);

CREATE FUNCTION sw_organisation_path() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_id IS NULL THEN
        NEW.path := NEW.id::text || '.';
    ELSE
        SELECT path || NEW.id::text || '.' INTO NEW.path FROM organisations WHERE id = NEW.parent_id;
        IF NEW.path IS NULL THEN
            RAISE EXCEPTION 'parent organisation % does not exist', NEW.parent_id;
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER organisations_path BEFORE INSERT OR UPDATE OF parent_id ON organisations
    FOR EACH ROW EXECUTE FUNCTION sw_organisation_path();

-- A protected place: a household (one file per household) or a small venue.
CREATE TABLE sites (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id              bigint NOT NULL REFERENCES organisations (id),
    kind                text NOT NULL CHECK (kind IN ('household', 'venue')),
    category            text NOT NULL,
    name                text NOT NULL,
    address             text NOT NULL,
    latitude            double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude           double precision CHECK (longitude BETWEEN -180 AND 180),
    phone               text,
    -- Households: who lives there and what makes them vulnerable.
    resident_name       text,
    resident_situation  text[] NOT NULL DEFAULT '{}',
    key_holder_name     text,
    key_holder_phone    text,
    risk_flags          text[] NOT NULL DEFAULT '{}',
    notes               text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    archived_at         timestamptz,
    CHECK (kind <> 'household' OR category IN ('elderly_alone', 'widowed', 'disabled', 'dementia', 'other_at_risk')),
    CHECK (kind <> 'venue' OR category IN ('shop', 'eatery', 'small_hotel', 'internet_cafe', 'workshop', 'warehouse', 'shared_building', 'other_venue'))
);
CREATE INDEX sites_org_idx ON sites (org_id);

-- People to page, attached to a site (resident, family, neighbour, key holder) or to an
-- organisation (grid worker, village cadre, duty desk, maintainer).
CREATE TABLE contacts (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id           bigint REFERENCES sites (id) ON DELETE CASCADE,
    org_id            bigint REFERENCES organisations (id),
    name              text NOT NULL,
    role              text NOT NULL CHECK (role IN (
                          'resident', 'guardian', 'family', 'grid_worker', 'village_cadre',
                          'neighbour', 'key_holder', 'duty_desk', 'maintainer', 'installer')),
    priority          smallint NOT NULL DEFAULT 1,
    phone             text,
    -- Apprise URLs in order of preference.
    channels          text[] NOT NULL DEFAULT '{}',
    quiet_hours_start time,
    quiet_hours_end   time,
    locale            text NOT NULL DEFAULT 'zh-CN' CHECK (locale IN ('zh-CN', 'en')),
    active            boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (site_id IS NOT NULL OR org_id IS NOT NULL)
);
CREATE INDEX contacts_site_idx ON contacts (site_id);
CREATE INDEX contacts_org_idx ON contacts (org_id);

-- Hardware models: how a model speaks (codec) and how often it must be heard from.
CREATE TABLE device_models (
    code              text PRIMARY KEY,
    vendor            text NOT NULL,
    name              text NOT NULL,
    codec             text NOT NULL DEFAULT 'native',
    heartbeat_period  interval NOT NULL DEFAULT interval '1 hour' CHECK (heartbeat_period > interval '0'),
    missed_periods    smallint NOT NULL DEFAULT 2 CHECK (missed_periods >= 1),
    grace             interval NOT NULL DEFAULT interval '10 minutes',
    has_heat_sensor   boolean NOT NULL DEFAULT false,
    service_life      interval NOT NULL DEFAULT interval '10 years'
);

INSERT INTO device_models (code, vendor, name, codec, heartbeat_period, has_heat_sensor) VALUES
    ('sw-native-1', 'smokewatch', 'Reference detector (native MQTT)', 'native', interval '1 hour', false),
    ('sw-native-heat-1', 'smokewatch', 'Reference smoke and heat detector (native MQTT)', 'native', interval '1 hour', true);

CREATE TABLE devices (
    id               text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'),
    model_code       text NOT NULL REFERENCES device_models (code),
    site_id          bigint REFERENCES sites (id),
    room             text,
    position         text,
    status           text NOT NULL DEFAULT 'registered'
                     CHECK (status IN ('registered', 'installed', 'in_service', 'faulty', 'removed')),
    installed_at     timestamptz,
    installed_by     text,
    commissioned_at  timestamptz,
    commissioning    jsonb,
    replaces         text REFERENCES devices (id),
    notes            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    removed_at       timestamptz
);
CREATE INDEX devices_site_idx ON devices (site_id);

-- Identities a device has on other networks: IEEE address, devEui, IMEI, platform ids.
CREATE TABLE device_identities (
    codec        text NOT NULL,
    external_id  text NOT NULL,
    device_id    text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    PRIMARY KEY (codec, external_id)
);
CREATE INDEX device_identities_device_idx ON device_identities (device_id);

-- What we currently know of each device, kept current by ingest. "Silence is a state":
-- offline_deadline is refreshed by any message and watched by the alerting watchdog.
CREATE TABLE device_state (
    device_id          text PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    liveness           interval NOT NULL,
    last_seen          timestamptz,
    offline_deadline   timestamptz,
    online             boolean NOT NULL DEFAULT false,
    connection         text CHECK (connection IN ('online', 'offline')),
    connection_since   timestamptz,
    last_reading_at    timestamptz,
    smoke_obscuration  real,
    temperature_c      real,
    battery_pct        real,
    battery_mv         integer,
    signal_dbm         smallint,
    firmware           text,
    last_event_at      timestamptz,
    last_event_type    text,
    alarm_active       boolean NOT NULL DEFAULT false,
    tamper_active      boolean NOT NULL DEFAULT false,
    fault_active       boolean NOT NULL DEFAULT false,
    battery_low        boolean NOT NULL DEFAULT false,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
-- The watchdog asks "who is past their deadline?" without scanning healthy devices.
CREATE INDEX device_state_deadline_idx ON device_state (offline_deadline) WHERE online;

-- Every new device gets a state row whose liveness window comes from its model.
CREATE FUNCTION sw_device_state_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO device_state (device_id, liveness)
    SELECT NEW.id, m.heartbeat_period * m.missed_periods + m.grace
    FROM device_models m WHERE m.code = NEW.model_code
    ON CONFLICT (device_id) DO UPDATE SET liveness = EXCLUDED.liveness;
    RETURN NEW;
END
$$;
CREATE TRIGGER devices_state_row AFTER INSERT OR UPDATE OF model_code ON devices
    FOR EACH ROW EXECUTE FUNCTION sw_device_state_row();
