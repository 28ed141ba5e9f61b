-- The registry API (issue 4): on-site commissioning sessions and the registry's own history.

-- An installer pressed "start test" for a device: the API then waits for the device's `test`
-- event (stored by ingest in `events`) received at or after started_at and before expires_at.
-- state: waiting -> passed | failed; expired when a newer session for the device replaced it.
CREATE TABLE commissioning_sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id    text NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    -- The site the installer is standing in: the device must be bound there to pass.
    site_id      bigint REFERENCES sites (id) ON DELETE SET NULL,
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at   timestamptz NOT NULL,
    started_by   text,
    state        text NOT NULL DEFAULT 'waiting'
                 CHECK (state IN ('waiting', 'passed', 'failed', 'expired')),
    finished_at  timestamptz,
    event_id     bigint,
    -- The checks and the measured values as reported to the installer, kept as the record.
    result       jsonb,
    CHECK (expires_at > started_at),
    CHECK (state = 'waiting' OR finished_at IS NOT NULL)
);
CREATE INDEX commissioning_sessions_device_idx ON commissioning_sessions (device_id, started_at DESC);

-- What happened to sites and devices in the registry (bound, replaced, removed, commissioned,
-- archived...), so a household file keeps its history after a detector is changed.
CREATE TABLE registry_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    site_id    bigint REFERENCES sites (id) ON DELETE CASCADE,
    device_id  text REFERENCES devices (id) ON DELETE CASCADE,
    action     text NOT NULL CHECK (action IN (
                   'site_created', 'site_updated', 'site_archived', 'device_registered',
                   'device_bound', 'device_unbound', 'device_replaced', 'device_removed',
                   'commissioning_passed', 'commissioning_failed', 'roster_imported')),
    actor      text,
    detail     jsonb
);
CREATE INDEX registry_log_site_idx ON registry_log (site_id, at DESC);
CREATE INDEX registry_log_device_idx ON registry_log (device_id, at DESC);
