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
UPDATE incidents
SET status = 'acknowledged', acknowledged_at = %(now)s, acknowledged_by = %(actor)s,
    ack_contact_id = %(contact_id)s,
    repage_at = CASE WHEN repage_after IS NULL THEN NULL ELSE %(now)s + repage_after END
WHERE id = %(id)s
RETURNING *;

-- name: set_in_progress
UPDATE incidents
SET status = 'in_progress', in_progress_at = %(now)s,
    acknowledged_at = coalesce(acknowledged_at, %(now)s),
    acknowledged_by = coalesce(acknowledged_by, %(actor)s),
    ack_contact_id = coalesce(ack_contact_id, %(contact_id)s),
    repage_at = CASE WHEN repage_after IS NULL THEN NULL ELSE %(now)s + repage_after END
WHERE id = %(id)s
RETURNING *;

-- name: set_resolved
UPDATE incidents
SET status = 'resolved', resolved_at = %(now)s, resolved_by = %(actor)s, outcome = %(outcome)s,
    false_alarm_cause = %(cause)s, note = coalesce(%(note)s, note), repage_at = NULL
WHERE id = %(id)s
RETURNING *;

-- name: set_note
UPDATE incidents SET note = %(note)s WHERE id = %(id)s RETURNING *;

-- name: cancel_pages
-- Acknowledging stops every page not yet handed to a provider.
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
WHERE n.incident_id = %(id)s
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
       a.elapsed_ms
FROM notifications n
LEFT JOIN contacts c ON c.id = n.contact_id
LEFT JOIN notification_attempts a ON a.notification_id = n.id
WHERE n.incident_id = %(id)s
ORDER BY coalesce(a.at, n.due_at), n.id, a.id;
