-- Issue 14: paging goes on until a person answers, supervisors are paged when the centre has not
-- acknowledged, everyone paged hears who answered and how it ended, and a link-holder reports
-- what they found instead of closing a fire (the centre closes it).

-- A field report puts the incident into 'reported': still open, kept on the board, awaiting
-- the monitoring centre's review.
ALTER TABLE incidents DROP CONSTRAINT incidents_status_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_status_check
    CHECK (status IN ('triggered', 'acknowledged', 'in_progress', 'reported', 'resolved'));

ALTER TABLE incidents
    -- The first acknowledgement of anyone (acknowledged_*) stops the paging; these two say
    -- which side answered: an operator on the board (the siren stops, supervisors are not
    -- paged) or a link-holder in the field ("on my way").
    ADD COLUMN centre_acknowledged_at timestamptz,
    ADD COLUMN centre_acknowledged_by text,
    ADD COLUMN field_acknowledged_at  timestamptz,
    ADD COLUMN field_acknowledged_by  text,
    ADD COLUMN field_contact_id       bigint REFERENCES contacts (id) ON DELETE SET NULL,
    -- What a link-holder found, for the centre to review; the operator's outcome is final.
    ADD COLUMN reported_at            timestamptz,
    ADD COLUMN reported_by            text,
    ADD COLUMN report_contact_id      bigint REFERENCES contacts (id) ON DELETE SET NULL,
    ADD COLUMN report_outcome         text
        CHECK (report_outcome IN ('real_fire', 'false_alarm', 'test', 'device_fault')),
    ADD COLUMN report_cause           text
        CHECK (report_cause IN ('cooking', 'smoking', 'steam', 'dust', 'insects', 'other')),
    ADD COLUMN report_note            text,
    -- The next round of pages while nobody answered, and how many went out (alerting plans
    -- each round shortly before it is due; acknowledging clears round_at).
    ADD COLUMN round_at               timestamptz,
    ADD COLUMN round_count            integer NOT NULL DEFAULT 0,
    -- The next page to the centre's supervisors while no operator acknowledged.
    ADD COLUMN escalate_at            timestamptz,
    ADD COLUMN escalation_count       integer NOT NULL DEFAULT 0,
    -- When alerting planned the "someone answered" and "it is closed" messages (once each).
    ADD COLUMN answer_notice_at       timestamptz,
    ADD COLUMN resolve_notice_at      timestamptz,
    ADD CONSTRAINT incidents_reported_needs_outcome CHECK (status <> 'reported' OR report_outcome IS NOT NULL),
    ADD CONSTRAINT incidents_report_needs_cause
        CHECK (report_outcome IS DISTINCT FROM 'false_alarm' OR report_cause IS NOT NULL);

-- Incidents from before this migration: who acknowledged tells the side (a contact answered
-- by link, no contact means an operator), and nobody gets a late notice about them.
UPDATE incidents
SET centre_acknowledged_at = CASE WHEN ack_contact_id IS NULL THEN acknowledged_at END,
    centre_acknowledged_by = CASE WHEN ack_contact_id IS NULL THEN acknowledged_by END,
    field_acknowledged_at = CASE WHEN ack_contact_id IS NOT NULL THEN acknowledged_at END,
    field_acknowledged_by = CASE WHEN ack_contact_id IS NOT NULL THEN acknowledged_by END,
    field_contact_id = ack_contact_id,
    answer_notice_at = CASE WHEN acknowledged_at IS NOT NULL THEN now() END,
    resolve_notice_at = CASE WHEN resolved_at IS NOT NULL THEN now() END
WHERE acknowledged_at IS NOT NULL OR resolved_at IS NOT NULL;
-- Fires still unanswered: paging resumes at once; supervisors when the centre has not acknowledged.
UPDATE incidents SET round_at = now() WHERE status = 'triggered' AND kind IN ('fire', 'heat');
UPDATE incidents SET escalate_at = now()
WHERE status <> 'resolved' AND kind IN ('fire', 'heat') AND centre_acknowledged_at IS NULL;

CREATE INDEX incidents_round_idx ON incidents (round_at) WHERE round_at IS NOT NULL;
CREATE INDEX incidents_escalate_idx ON incidents (escalate_at) WHERE escalate_at IS NOT NULL;
CREATE INDEX incidents_answer_notice_idx ON incidents (acknowledged_at)
    WHERE acknowledged_at IS NOT NULL AND answer_notice_at IS NULL;
CREATE INDEX incidents_resolve_notice_idx ON incidents (resolved_at)
    WHERE resolved_at IS NOT NULL AND resolve_notice_at IS NULL;

ALTER TABLE incident_log DROP CONSTRAINT incident_log_action_check;
ALTER TABLE incident_log ADD CONSTRAINT incident_log_action_check CHECK (action IN (
    'opened', 'event_joined', 'cleared_by_device', 'silenced', 'planned', 'delivered',
    'delivery_failed', 'acknowledged', 'in_progress', 'reported', 'resolved', 'repaged',
    'note', 'assigned', 'round', 'escalated', 'notified'));

-- 'escalation': a page to the centre's supervisors; 'notice': who answered, how it ended.
ALTER TABLE notifications DROP CONSTRAINT notifications_purpose_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_purpose_check CHECK (purpose IN (
    'page', 'repage', 'same_day_call', 'escalation', 'notice', 'digest', 'selfwatch'));

-- The monitoring centre's shift supervisors (on the centre's organisation).
ALTER TABLE contacts DROP CONSTRAINT contacts_role_check;
ALTER TABLE contacts ADD CONSTRAINT contacts_role_check CHECK (role IN (
    'resident', 'guardian', 'family', 'grid_worker', 'village_cadre', 'neighbour', 'key_holder',
    'duty_desk', 'supervisor', 'maintainer', 'installer'));

-- The board follows who answered: a field acknowledgement or report, and the centre's own.
DROP TRIGGER incidents_notify_update ON incidents;
CREATE TRIGGER incidents_notify_update AFTER UPDATE ON incidents
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.assigned_to IS DISTINCT FROM NEW.assigned_to
          OR OLD.event_count IS DISTINCT FROM NEW.event_count
          OR OLD.outcome IS DISTINCT FROM NEW.outcome
          OR OLD.centre_acknowledged_at IS DISTINCT FROM NEW.centre_acknowledged_at
          OR OLD.field_acknowledged_at IS DISTINCT FROM NEW.field_acknowledged_at
          OR OLD.reported_at IS DISTINCT FROM NEW.reported_at)
    EXECUTE FUNCTION sw_notify_incident_change();
