-- Device health (issue 7): gateways, the ingest heartbeat, outages, flags and the watchdog's
-- own bookkeeping. docs/health.md explains the design.

-- Devices that reach us through a gateway (zigbee2mqtt coordinator, LoRaWAN gateway, our own
-- hub): when the gateway dies, every device behind it goes silent together.
ALTER TABLE devices ADD COLUMN gateway_id text;
CREATE INDEX devices_gateway_idx ON devices (gateway_id) WHERE gateway_id IS NOT NULL;

-- When the watchdog flagged the device offline (the deadline it passed stays in
-- offline_deadline, so flagged_at - deadline is the flag delay).
ALTER TABLE device_state ADD COLUMN offline_flagged_at timestamptz;

-- Services say they are alive. Ingest writes its row every few seconds with whether its MQTT
-- lanes are connected and when it last received a message; the watchdog flags nobody while
-- ingest is down or the whole system is silent.
CREATE TABLE service_heartbeats (
    service          text NOT NULL,
    instance         text NOT NULL,
    started_at       timestamptz NOT NULL,
    beat_at          timestamptz NOT NULL,
    connected        boolean NOT NULL DEFAULT true,
    last_message_at  timestamptz,
    PRIMARY KEY (service, instance)
);

-- The watchdog's shared memory (one row): since when ingest has been down, so that deadlines
-- that fell inside the downtime are moved on once it is back instead of flagged in a storm.
CREATE TABLE health_watch (
    id                 boolean PRIMARY KEY DEFAULT true CHECK (id),
    ingest_down_since  timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
INSERT INTO health_watch (id) VALUES (true);

-- Many devices silent together: one record with the affected list instead of a work order per
-- device. scope_key is the gateway id, the village's organisation id, or 'all'.
CREATE TABLE outages (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope        text NOT NULL CHECK (scope IN ('gateway', 'village', 'system', 'ingest')),
    scope_key    text NOT NULL,
    org_id       bigint REFERENCES organisations (id) ON DELETE SET NULL,
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    opened_at    timestamptz NOT NULL,
    closed_at    timestamptz,
    device_count integer NOT NULL DEFAULT 0,
    note         text
);
CREATE UNIQUE INDEX outages_open_key ON outages (scope, scope_key) WHERE status = 'open';

CREATE TABLE outage_devices (
    outage_id    bigint NOT NULL REFERENCES outages (id) ON DELETE CASCADE,
    device_id    text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    silent_at    timestamptz NOT NULL,
    back_at      timestamptz,
    PRIMARY KEY (outage_id, device_id)
);
CREATE INDEX outage_devices_open_idx ON outage_devices (device_id) WHERE back_at IS NULL;

-- Things a maintainer should look at that are not one event: a device toggling online/offline
-- or alarm/clear (flagged once, its count kept current), a site with more than 5 false alarms
-- a day (GB 50440: visit or relocate). subject is a device id or a site id.
CREATE TABLE health_flags (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('flapping_connection', 'flapping_alarm', 'false_alarms')),
    subject      text NOT NULL,
    device_id    text REFERENCES devices (id) ON DELETE CASCADE,
    site_id      bigint REFERENCES sites (id) ON DELETE CASCADE,
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cleared')),
    flagged_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    count        integer NOT NULL,
    max_count    integer NOT NULL,
    cleared_at   timestamptz
);
CREATE UNIQUE INDEX health_flags_open_key ON health_flags (kind, subject) WHERE status = 'open';

-- Open work orders by assignee (the maintainer's list) and by kind.
CREATE INDEX work_orders_assigned_idx ON work_orders (assigned_to) WHERE status = 'open';
-- Migration 0026 (the API's lists) already made the same index, descending: keep that one.
CREATE INDEX IF NOT EXISTS work_orders_open_idx ON work_orders (opened_at) WHERE status = 'open';

-- The maintainer for a site: the active maintainer of the nearest organisation above it.
CREATE FUNCTION sw_maintainer_for_site(site bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT c.id
    FROM sites s
    JOIN organisations so ON so.id = s.org_id
    JOIN organisations o ON so.path LIKE o.path || '%'
    JOIN contacts c ON c.org_id = o.id AND c.role = 'maintainer' AND c.active
    WHERE s.id = site
    ORDER BY length(o.path) DESC, c.priority, c.id
    LIMIT 1
$$;

-- The village (or community) a site belongs to: the nearest such organisation above it.
CREATE FUNCTION sw_village_of_org(org bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT o.id
    FROM organisations so
    JOIN organisations o ON so.path LIKE o.path || '%'
    WHERE so.id = org AND o.level IN ('village', 'community')
    ORDER BY length(o.path) DESC
    LIMIT 1
$$;
