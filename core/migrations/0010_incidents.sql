-- Incidents (a fire or tamper someone must answer), their audit log, and maintenance work orders.

-- One open incident per (device, kind): repeats of the same alarm join it instead of opening
-- a second one. kind is the incident class, not the raw event type.
CREATE TABLE incidents (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id             text NOT NULL REFERENCES devices (id),
    site_id               bigint REFERENCES sites (id),
    kind                  text NOT NULL CHECK (kind IN ('fire', 'heat', 'tamper')),
    priority              smallint NOT NULL,
    status                text NOT NULL DEFAULT 'triggered'
                          CHECK (status IN ('triggered', 'acknowledged', 'in_progress', 'resolved')),
    opened_at             timestamptz NOT NULL,
    first_event_id        bigint,
    first_event_at        timestamptz,
    last_event_at         timestamptz NOT NULL,
    event_count           integer NOT NULL DEFAULT 1,
    cleared_by_device_at  timestamptz,
    silenced_at           timestamptz,
    acknowledged_at       timestamptz,
    acknowledged_by       text,
    ack_contact_id        bigint REFERENCES contacts (id) ON DELETE SET NULL,
    in_progress_at        timestamptz,
    -- Who the monitoring centre put in charge (operators assign from the API).
    assigned_to           bigint REFERENCES contacts (id) ON DELETE SET NULL,
    assigned_at           timestamptz,
    -- An acknowledged fire that nobody resolves re-pages: when, and how often so far.
    repage_after          interval,
    repage_at             timestamptz,
    repage_count          smallint NOT NULL DEFAULT 0,
    resolved_at           timestamptz,
    resolved_by           text,
    outcome               text CHECK (outcome IN ('real_fire', 'false_alarm', 'test', 'device_fault')),
    false_alarm_cause     text CHECK (false_alarm_cause IN
                              ('cooking', 'smoking', 'steam', 'dust', 'insects', 'other')),
    note                  text,
    CHECK (status <> 'resolved' OR (outcome IS NOT NULL AND resolved_at IS NOT NULL)),
    CHECK (outcome IS DISTINCT FROM 'false_alarm' OR false_alarm_cause IS NOT NULL)
);
CREATE UNIQUE INDEX incidents_open_key ON incidents (device_id, kind) WHERE status <> 'resolved';
CREATE INDEX incidents_site_idx ON incidents (site_id, opened_at DESC);
CREATE INDEX incidents_repage_idx ON incidents (repage_at) WHERE repage_at IS NOT NULL;
CREATE INDEX incidents_open_idx ON incidents (opened_at DESC) WHERE status <> 'resolved';

-- Who did or was told what, and when: the audit log the programme must keep.
CREATE TABLE incident_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL,
    action       text NOT NULL CHECK (action IN (
                     'opened', 'event_joined', 'cleared_by_device', 'silenced', 'planned',
                     'delivered', 'delivery_failed', 'acknowledged', 'in_progress', 'resolved',
                     'repaged', 'note', 'assigned')),
    actor        text,
    contact_id   bigint,
    event_id     bigint,
    detail       jsonb
);
CREATE INDEX incident_log_incident_idx ON incident_log (incident_id, at);

-- Maintenance: tamper, fault, low battery, offline become work orders instead of pages.
CREATE TABLE work_orders (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id      text NOT NULL REFERENCES devices (id),
    site_id        bigint REFERENCES sites (id),
    kind           text NOT NULL CHECK (kind IN ('tamper', 'fault', 'low_battery', 'offline', 'end_of_life')),
    status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    opened_at      timestamptz NOT NULL,
    last_event_at  timestamptz NOT NULL,
    event_count    integer NOT NULL DEFAULT 1,
    first_event_id bigint,
    closed_at      timestamptz,
    closed_reason  text,
    assigned_to    bigint REFERENCES contacts (id) ON DELETE SET NULL,
    note           text
);
CREATE UNIQUE INDEX work_orders_open_key ON work_orders (device_id, kind) WHERE status = 'open';
CREATE INDEX work_orders_site_idx ON work_orders (site_id, opened_at DESC);
