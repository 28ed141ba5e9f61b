-- Device commands (migration 0047): request, claim and send, acknowledge, expire.

-- name: device_for_command
SELECT d.id, d.model_code, d.site_id, m.codec
FROM devices d JOIN device_models m ON m.code = d.model_code
WHERE d.id = %(device_id)s AND d.status <> 'removed'

-- name: incident_facts
SELECT id, device_id, site_id, status::text AS status, acknowledged_at IS NOT NULL AS acknowledged
FROM incidents WHERE id = %(incident_id)s
FOR UPDATE

-- name: live_command
SELECT * FROM device_commands
WHERE device_id = %(device_id)s AND kind = %(kind)s AND state IN ('requested', 'sent')

-- name: insert_command
-- ON CONFLICT: the same kind already on its way to this device (device_commands_live_key).
INSERT INTO device_commands
    (device_id, kind, parameters, transport, incident_id, requested_by, requested_role,
     requested_contact_id, reason, requested_at, expires_at, next_attempt_at)
VALUES (%(device_id)s, %(kind)s, %(parameters)s, %(transport)s, %(incident_id)s,
        %(requested_by)s, %(requested_role)s, %(contact_id)s, %(reason)s, %(now)s,
        %(expires_at)s, %(now)s)
ON CONFLICT (device_id, kind) WHERE state IN ('requested', 'sent') DO NOTHING
RETURNING *

-- name: claim_due
-- Claim what is due and mark it sent in the same statement, before anything goes on the wire:
-- a crash after the commit leaves a "sent" row that is resent with the same id at
-- next_attempt_at, never a second command. SKIP LOCKED lets several ingest workers share.
WITH due AS (
    SELECT id FROM device_commands
    WHERE state IN ('requested', 'sent') AND next_attempt_at <= %(now)s
      AND expires_at > %(now)s
    ORDER BY next_attempt_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE device_commands c
SET state = 'sent', sent_at = coalesce(c.sent_at, %(now)s), attempts = c.attempts + 1,
    next_attempt_at = %(now)s + %(retry_after)s
FROM due
WHERE c.id = due.id
RETURNING c.*,
    (SELECT d.model_code FROM devices d WHERE d.id = c.device_id) AS model_code,
    (SELECT i.external_id FROM device_identities i
     WHERE i.device_id = c.device_id AND i.codec = c.transport
     ORDER BY i.external_id LIMIT 1) AS external_address

-- name: expire_due
UPDATE device_commands
SET state = 'expired', finished_at = %(now)s
WHERE state IN ('requested', 'sent') AND expires_at <= %(now)s
RETURNING *

-- name: finish_command
-- The device's answer (or the transport's refusal); a late or repeated answer changes nothing.
UPDATE device_commands
SET state = %(state)s, result = %(result)s, finished_at = %(now)s,
    acknowledged_at = CASE WHEN %(state)s = 'acknowledged' THEN %(now)s END,
    detail = coalesce(detail, '{}'::jsonb) || coalesce(%(detail)s, '{}'::jsonb)
WHERE id = %(id)s AND device_id = %(device_id)s AND state IN ('requested', 'sent')
RETURNING *

-- name: oldest_sent
-- Transports whose answer names the device, not the command (ChirpStack ack, zigbee2mqtt
-- state): the oldest command sent to that device answers first (queues are in order).
SELECT c.id, c.device_id FROM device_identities i
JOIN device_commands c ON c.device_id = i.device_id AND c.transport = i.codec
WHERE i.codec = %(codec)s AND i.external_id = %(external_id)s AND c.state = 'sent'
  AND (%(kind)s::text IS NULL OR c.kind = %(kind)s)
ORDER BY c.sent_at, c.id
LIMIT 1

-- name: read_command
SELECT * FROM device_commands WHERE id = %(id)s

-- name: device_commands
SELECT * FROM device_commands WHERE device_id = %(device_id)s
ORDER BY requested_at DESC, id DESC LIMIT %(limit)s

-- name: incident_commands
SELECT * FROM device_commands WHERE incident_id = %(incident_id)s
ORDER BY requested_at DESC, id DESC

-- name: set_external_id
UPDATE device_commands SET external_id = %(external_id)s
WHERE id = %(id)s AND state IN ('requested', 'sent')

-- name: by_external_id
SELECT id, device_id FROM device_commands
WHERE transport = %(transport)s AND external_id = %(external_id)s AND state IN ('requested', 'sent')
