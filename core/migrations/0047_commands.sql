-- Device commands (issue 19): the platform talks back to detectors. A person asks for a
-- remote silence, self-test, heartbeat setting or reset; ingest's dispatcher sends it over the
-- device's transport and records the device's acknowledgement. core/commands/ owns the rules.
--
-- state: requested -> sent -> acknowledged | failed | expired (requested may expire or fail
-- too). "sent" is written in the same transaction that claims the row, before anything goes
-- on the wire, so a restart never sends a command a second time as a new command: it resends
-- the same id (the device deduplicates on it) when next_attempt_at passes, until expires_at.
CREATE TABLE device_commands (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id            text NOT NULL REFERENCES devices (id),
    kind                 text NOT NULL
                         CHECK (kind IN ('silence', 'self_test', 'set_heartbeat', 'reset')),
    parameters           jsonb NOT NULL DEFAULT '{}'::jsonb,
    transport            text NOT NULL,
    incident_id          bigint REFERENCES incidents (id) ON DELETE SET NULL,
    requested_by         text NOT NULL,
    requested_role       text NOT NULL,
    requested_contact_id bigint REFERENCES contacts (id) ON DELETE SET NULL,
    reason               text,
    state                text NOT NULL DEFAULT 'requested'
                         CHECK (state IN ('requested', 'sent', 'acknowledged', 'failed', 'expired')),
    requested_at         timestamptz NOT NULL DEFAULT now(),
    expires_at           timestamptz NOT NULL,
    sent_at              timestamptz,
    attempts             smallint NOT NULL DEFAULT 0,
    next_attempt_at      timestamptz NOT NULL DEFAULT now(),
    acknowledged_at      timestamptz,
    finished_at          timestamptz,
    -- the device's or platform's answer: ok, rejected, unsupported, or the transport's error
    result               text,
    -- the platform's own id when it gives one (CTWing commandId, ChirpStack queue item)
    external_id          text,
    detail               jsonb,
    CHECK (expires_at > requested_at),
    CHECK (state <> 'acknowledged' OR acknowledged_at IS NOT NULL)
);
-- The dispatcher's work: rows to send or resend, oldest deadline first.
CREATE INDEX device_commands_due_idx ON device_commands (next_attempt_at)
    WHERE state IN ('requested', 'sent');
CREATE INDEX device_commands_device_idx ON device_commands (device_id, requested_at DESC);
CREATE INDEX device_commands_incident_idx ON device_commands (incident_id)
    WHERE incident_id IS NOT NULL;
-- One live command of a kind per device: a second "silence" while one is on its way is the
-- same request, answered with the existing command.
CREATE UNIQUE INDEX device_commands_live_key ON device_commands (device_id, kind)
    WHERE state IN ('requested', 'sent');

-- The incident's audit log records commands that belong to it (action 'command'). The allowed
-- actions are extended in place rather than listed again, so actions other migrations added
-- before this one are kept.
DO $$
DECLARE
    def text;
BEGIN
    SELECT pg_get_constraintdef(oid) INTO def FROM pg_constraint
    WHERE conrelid = 'incident_log'::regclass AND conname = 'incident_log_action_check';
    IF def IS NOT NULL AND position('''command''' IN def) = 0 THEN
        ALTER TABLE incident_log DROP CONSTRAINT incident_log_action_check;
        EXECUTE 'ALTER TABLE incident_log ADD CONSTRAINT incident_log_action_check '
            || replace(def, 'ARRAY[', 'ARRAY[''command''::text, ');
    END IF;
END $$;

-- The dispatcher wakes on this channel when a command is requested (payload: the id).
CREATE OR REPLACE FUNCTION sw_notify_command() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('smokewatch_commands', NEW.id::text);
    RETURN NEW;
END $$;
CREATE TRIGGER device_commands_notify AFTER INSERT ON device_commands
    FOR EACH ROW EXECUTE FUNCTION sw_notify_command();
