-- Escalation policies, the notification outbox, every delivery attempt, and rate limits.

-- Overrides of the built-in escalation defaults, per organisation (village, grid...) or site.
-- The most specific wins: site, then the nearest organisation up the path, then defaults.
CREATE TABLE escalation_policies (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      bigint REFERENCES organisations (id) ON DELETE CASCADE,
    site_id     bigint REFERENCES sites (id) ON DELETE CASCADE,
    -- Keys as in alerting.policy.EscalationPolicy (wave_roles, wave_delays_s, repeat_last,
    -- repeat_every_s, repage_after_s, tamper_same_day_call); missing keys keep the default.
    config      jsonb NOT NULL DEFAULT '{}',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((org_id IS NULL) <> (site_id IS NULL))
);
CREATE UNIQUE INDEX escalation_policies_org_key ON escalation_policies (org_id) WHERE org_id IS NOT NULL;
CREATE UNIQUE INDEX escalation_policies_site_key ON escalation_policies (site_id) WHERE site_id IS NOT NULL;

-- The outbox: every message we mean to send, written in the transaction that decided it.
-- Workers claim due rows with FOR UPDATE SKIP LOCKED and hold them under a lease; a sweeper
-- returns rows whose lease expired (a crashed worker) to 'pending'.
CREATE TABLE notifications (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    purpose           text NOT NULL CHECK (purpose IN ('page', 'repage', 'same_day_call', 'digest', 'selfwatch')),
    incident_id       bigint REFERENCES incidents (id) ON DELETE CASCADE,
    contact_id        bigint REFERENCES contacts (id) ON DELETE SET NULL,
    wave              smallint NOT NULL DEFAULT 0,
    round             smallint NOT NULL DEFAULT 0,
    priority          smallint NOT NULL,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'cancelled')),
    due_at            timestamptz NOT NULL,
    -- Apprise URLs in order of preference, copied at planning time, and the rendered text per
    -- channel class ({"sms": ..., "voice": ..., "chat": ...}).
    channels          text[] NOT NULL,
    messages          jsonb NOT NULL,
    title             text NOT NULL DEFAULT '',
    ack_url           text,
    event_id          bigint,
    event_at          timestamptz,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts          integer NOT NULL DEFAULT 0,
    claims            integer NOT NULL DEFAULT 0,
    lease_owner       text,
    lease_until       timestamptz,
    sent_at           timestamptz,
    delivered_via     smallint,
    last_error        text,
    -- Re-planning the same wave for the same person is a no-op.
    dedupe_key        text UNIQUE
);
CREATE INDEX notifications_due_idx ON notifications (priority, due_at) WHERE status = 'pending';
CREATE INDEX notifications_next_due_idx ON notifications (due_at) WHERE status = 'pending';
CREATE INDEX notifications_lease_idx ON notifications (lease_until) WHERE status = 'sending';
CREATE INDEX notifications_incident_idx ON notifications (incident_id) WHERE incident_id IS NOT NULL;

-- Every attempt on every channel, with the provider's answer.
CREATE TABLE notification_attempts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id  bigint NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    at               timestamptz NOT NULL DEFAULT clock_timestamp(),
    channel_index    smallint NOT NULL,
    scheme           text NOT NULL,
    destination      text NOT NULL,
    outcome          text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'timeout', 'unsupported', 'rate_limited')),
    response         text,
    elapsed_ms       integer,
    worker           text
);
CREATE INDEX notification_attempts_notification_idx ON notification_attempts (notification_id, at);
CREATE INDEX notification_attempts_at_idx ON notification_attempts (at DESC);

-- Per-destination counters in fixed windows, shared by every worker.
CREATE TABLE rate_windows (
    destination   text NOT NULL,
    window_start  timestamptz NOT NULL,
    sent          integer NOT NULL DEFAULT 0,
    PRIMARY KEY (destination, window_start)
);

-- When each maintainer digest last went out, so several workers send it once a day.
CREATE TABLE digest_runs (
    contact_id  bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    day         date NOT NULL,
    planned_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (contact_id, day)
);
