-- Incident lifecycle queries shared by alerting (opening, joining) and the API (ack, resolve).

-- name: open_incident
-- Opens the (device, kind) incident, or returns nothing when one is already open.
INSERT INTO incidents (device_id, site_id, kind, priority, opened_at, first_event_id,
                       first_event_at, last_event_at, repage_after)
VALUES (%(device_id)s, %(site_id)s, %(kind)s, %(priority)s, %(now)s, %(event_id)s,
        %(event_at)s, %(event_at)s, %(repage_after)s)
ON CONFLICT (device_id, kind) WHERE status <> 'resolved' DO NOTHING
RETURNING *;

-- name: join_incident
UPDATE incidents
SET event_count = event_count + 1,
    last_event_at = greatest(last_event_at, %(event_at)s),
    priority = least(priority, %(priority)s)
WHERE device_id = %(device_id)s AND kind = %(kind)s AND status <> 'resolved'
RETURNING *;

-- name: open_incidents_of_device
SELECT * FROM incidents
WHERE device_id = %(device_id)s AND status <> 'resolved' AND kind = ANY(%(kinds)s)
FOR UPDATE;

-- name: mark_cleared
UPDATE incidents SET cleared_by_device_at = %(now)s WHERE id = %(id)s RETURNING *;

-- name: mark_silenced
UPDATE incidents SET silenced_at = %(now)s WHERE id = %(id)s RETURNING *;

-- name: lock_incident
SELECT * FROM incidents WHERE id = %(id)s FOR UPDATE;

-- name: get_incident
SELECT * FROM incidents WHERE id = %(id)s;

-- name: set_acknowledged
-- The first answer of anyone stops the rounds and starts the re-page clock; the centre's own
-- answer also stops the supervisors' escalation (and the board's siren).
UPDATE incidents
SET status = CASE WHEN status = 'triggered' THEN 'acknowledged' ELSE status END,
    acknowledged_at = coalesce(acknowledged_at, %(now)s),
    acknowledged_by = coalesce(acknowledged_by, %(actor)s),
    ack_contact_id = CASE WHEN acknowledged_at IS NULL THEN %(contact_id)s ELSE ack_contact_id END,
    repage_at = CASE WHEN acknowledged_at IS NOT NULL OR repage_after IS NULL THEN repage_at
                     ELSE %(now)s + repage_after END,
    round_at = NULL,
    centre_acknowledged_at = CASE WHEN %(centre)s THEN %(now)s ELSE centre_acknowledged_at END,
    centre_acknowledged_by = CASE WHEN %(centre)s THEN %(actor)s ELSE centre_acknowledged_by END,
    escalate_at = CASE WHEN %(centre)s THEN NULL ELSE escalate_at END,
    field_acknowledged_at = CASE WHEN %(centre)s THEN field_acknowledged_at ELSE %(now)s END,
    field_acknowledged_by = CASE WHEN %(centre)s THEN field_acknowledged_by ELSE %(actor)s END,
    field_contact_id = CASE WHEN %(centre)s THEN field_contact_id ELSE %(contact_id)s END
WHERE id = %(id)s
RETURNING *;

-- name: set_in_progress
UPDATE incidents
SET status = 'in_progress', in_progress_at = %(now)s,
    acknowledged_at = coalesce(acknowledged_at, %(now)s),
    acknowledged_by = coalesce(acknowledged_by, %(actor)s),
    ack_contact_id = coalesce(ack_contact_id, %(contact_id)s),
    repage_at = CASE WHEN repage_after IS NULL THEN NULL ELSE %(now)s + repage_after END,
    round_at = NULL
WHERE id = %(id)s
RETURNING *;

-- name: set_reported
-- A field report: open until the centre reviews it; nobody in the field is paged again.
UPDATE incidents
SET status = 'reported', reported_at = %(now)s, reported_by = %(actor)s,
    report_contact_id = %(contact_id)s, report_outcome = %(outcome)s,
    report_cause = %(cause)s, report_note = %(note)s,
    acknowledged_at = coalesce(acknowledged_at, %(now)s),
    acknowledged_by = coalesce(acknowledged_by, %(actor)s),
    ack_contact_id = CASE WHEN acknowledged_at IS NULL THEN %(contact_id)s ELSE ack_contact_id END,
    field_acknowledged_at = coalesce(field_acknowledged_at, %(now)s),
    field_acknowledged_by = coalesce(field_acknowledged_by, %(actor)s),
    field_contact_id = CASE WHEN field_acknowledged_at IS NULL THEN %(contact_id)s
                            ELSE field_contact_id END,
    round_at = NULL, repage_at = NULL
WHERE id = %(id)s
RETURNING *;

-- name: set_resolved
UPDATE incidents
SET status = 'resolved', resolved_at = %(now)s, resolved_by = %(actor)s, outcome = %(outcome)s,
    false_alarm_cause = %(cause)s, note = coalesce(%(note)s, note), repage_at = NULL,
    round_at = NULL, escalate_at = NULL,
    centre_acknowledged_at = CASE WHEN %(centre)s THEN coalesce(centre_acknowledged_at, %(now)s)
                                  ELSE centre_acknowledged_at END,
    centre_acknowledged_by = CASE WHEN %(centre)s THEN coalesce(centre_acknowledged_by, %(actor)s)
                                  ELSE centre_acknowledged_by END
WHERE id = %(id)s
RETURNING *;

-- name: set_note
UPDATE incidents SET note = %(note)s WHERE id = %(id)s RETURNING *;

-- name: cancel_pages
-- Acknowledging stops every page (of these purposes) not yet handed to a provider.
UPDATE notifications SET status = 'cancelled', last_error = %(reason)s
WHERE incident_id = %(id)s AND status = 'pending' AND purpose = ANY(%(purposes)s);

-- name: log
INSERT INTO incident_log (incident_id, at, action, actor, contact_id, event_id, detail)
VALUES (%(incident_id)s, %(at)s, %(action)s, %(actor)s, %(contact_id)s, %(event_id)s, %(detail)s);

-- name: read_log
SELECT at, action, actor, contact_id, event_id, detail
FROM incident_log WHERE incident_id = %(id)s ORDER BY at, id;

-- name: describe
SELECT i.*, d.room, d.position, s.name AS site_name, s.kind AS site_kind, s.address,
       s.phone AS site_phone, s.resident_name, s.resident_situation, s.key_holder_name,
       s.key_holder_phone, s.latitude, s.longitude
FROM incidents i
JOIN devices d ON d.id = i.device_id
LEFT JOIN sites s ON s.id = i.site_id
WHERE i.id = %(id)s;

-- name: told
-- Who was (or is about to be) told, for the acknowledge page and the audit.
SELECT n.contact_id, c.name, c.role, n.wave, n.status, n.sent_at, n.due_at
FROM notifications n LEFT JOIN contacts c ON c.id = n.contact_id
WHERE n.incident_id = %(id)s AND n.purpose <> 'notice'
ORDER BY n.wave, n.round, n.id;

-- name: contact_name
SELECT name FROM contacts WHERE id = %(id)s;

-- name: set_assigned
UPDATE incidents SET assigned_to = %(contact_id)s, assigned_at = %(now)s
WHERE id = %(id)s
RETURNING *;

-- name: attempts
-- Every delivery attempt of an incident's notifications, for its timeline.
SELECT n.id AS notification_id, n.purpose, n.wave, n.round, n.contact_id, c.name, c.role,
       n.status, n.due_at, n.sent_at, a.at, a.channel_index, a.scheme, a.outcome, a.response,
       a.elapsed_ms, sw_channel_class(a.scheme) AS channel_class, a.reach, a.reach_detail,
       a.acknowledged_at
FROM notifications n
LEFT JOIN contacts c ON c.id = n.contact_id
LEFT JOIN notification_attempts a ON a.notification_id = n.id
WHERE n.incident_id = %(id)s
ORDER BY coalesce(a.at, n.due_at), n.id, a.id;
