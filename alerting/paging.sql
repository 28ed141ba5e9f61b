-- Paging until a person answers: rounds, the supervisors' escalation, re-pages of answered
-- fires nobody closed, and the messages that tell everyone paged who answered and how it
-- ended (docs/alerting.md, "Until answered").

-- name: schedule_rounds
UPDATE incidents SET round_at = %(round_at)s, escalate_at = %(escalate_at)s
WHERE id = ANY(%(ids)s);

-- name: due_rounds
-- Unanswered fires whose next round is due soon (planned ahead, sent on time).
SELECT * FROM incidents
WHERE round_at <= %(until)s AND status = 'triggered'
ORDER BY round_at LIMIT 20
FOR UPDATE SKIP LOCKED;

-- name: bump_round
UPDATE incidents SET round_count = round_count + 1, round_at = %(next_at)s
WHERE id = %(id)s
RETURNING round_count;

-- name: due_escalations
-- Fires no operator has acknowledged on the board yet, whoever in the field answered.
SELECT * FROM incidents
WHERE escalate_at <= %(until)s AND status <> 'resolved' AND centre_acknowledged_at IS NULL
ORDER BY escalate_at LIMIT 20
FOR UPDATE SKIP LOCKED;

-- name: bump_escalation
UPDATE incidents SET escalation_count = escalation_count + 1, escalate_at = %(next_at)s
WHERE id = %(id)s
RETURNING escalation_count;

-- name: due_repages
-- Answered fires still open after repage_after (alerting/repages.py).
SELECT * FROM incidents
WHERE repage_at <= %(now)s AND status IN ('acknowledged', 'in_progress')
ORDER BY repage_at LIMIT 20
FOR UPDATE SKIP LOCKED;

-- name: bump_repage
UPDATE incidents
SET repage_count = repage_count + 1,
    repage_at = CASE WHEN repage_count + 1 >= %(max_repages)s THEN NULL
                     ELSE %(now)s + repage_after END
WHERE id = %(id)s
RETURNING repage_count;

-- name: notify
-- Wake the senders: new pages are in the outbox.
SELECT pg_notify(%(channel)s, %(payload)s);

-- name: device_room
SELECT room FROM devices WHERE id = %(device_id)s;

-- name: contact
SELECT id, name, role FROM contacts WHERE id = %(id)s;

-- name: due_answer_notices
SELECT * FROM incidents
WHERE acknowledged_at IS NOT NULL AND answer_notice_at IS NULL
ORDER BY acknowledged_at LIMIT 50
FOR UPDATE SKIP LOCKED;

-- name: mark_answer_noticed
UPDATE incidents SET answer_notice_at = %(now)s WHERE id = %(id)s;

-- name: due_resolve_notices
SELECT * FROM incidents
WHERE resolved_at IS NOT NULL AND resolve_notice_at IS NULL
ORDER BY resolved_at LIMIT 50
FOR UPDATE SKIP LOCKED;

-- name: mark_resolve_noticed
UPDATE incidents SET resolve_notice_at = %(now)s WHERE id = %(id)s;

-- name: paged_contacts
-- Everyone a page of this incident reached (delivered), once each, as they are now.
SELECT DISTINCT ON (c.id) c.id, c.name, c.role, c.channels, c.locale
FROM notifications n
JOIN contacts c ON c.id = n.contact_id
WHERE n.incident_id = %(id)s AND n.purpose = ANY(%(purposes)s) AND n.status = 'delivered'
  AND c.active AND cardinality(c.channels) > 0
ORDER BY c.id;
