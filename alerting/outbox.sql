-- The notification outbox: claim under a lease, record attempts, finish, sweep.

-- name: claim_due
-- Pages go out only while nobody has answered; re-pages only while still unresolved.
WITH due AS (
    SELECT n.id
    FROM notifications n
    LEFT JOIN incidents i ON i.id = n.incident_id
    WHERE n.status = 'pending' AND n.due_at <= %(now)s
      AND (n.purpose NOT IN ('page', 'same_day_call') OR i.status = 'triggered')
      AND (n.purpose <> 'repage' OR i.status IN ('acknowledged', 'in_progress'))
    ORDER BY n.priority, n.due_at
    LIMIT %(limit)s
    FOR UPDATE OF n SKIP LOCKED
)
UPDATE notifications n
SET status = 'sending', lease_owner = %(worker)s, claims = n.claims + 1,
    lease_until = clock_timestamp() + make_interval(secs => %(lease)s)
FROM due WHERE n.id = due.id
RETURNING n.id, n.purpose, n.incident_id, n.contact_id, n.wave, n.round, n.priority,
          n.channels, n.messages, n.title, n.event_at, n.claims;

-- name: next_due
SELECT min(due_at) AS due_at FROM notifications WHERE status = 'pending';

-- name: extend_lease
-- Also says whether the page is still wanted (an acknowledgement stops retries at once).
UPDATE notifications n
SET lease_until = clock_timestamp() + make_interval(secs => %(lease)s)
WHERE n.id = %(id)s AND n.status = 'sending' AND n.lease_owner = %(worker)s
RETURNING (SELECT i.status FROM incidents i WHERE i.id = n.incident_id) AS incident_status;

-- name: record_attempt
INSERT INTO notification_attempts (notification_id, channel_index, scheme, destination, outcome,
                                   response, elapsed_ms, worker)
VALUES (%(id)s, %(channel_index)s, %(scheme)s, %(destination)s, %(outcome)s, %(response)s,
        %(elapsed_ms)s, %(worker)s);

-- name: mark_delivered
UPDATE notifications
SET status = 'delivered', sent_at = clock_timestamp(), delivered_via = %(channel_index)s,
    attempts = attempts + %(attempts)s, lease_owner = NULL, lease_until = NULL, last_error = NULL
WHERE id = %(id)s AND status = 'sending' AND lease_owner = %(worker)s
RETURNING incident_id, contact_id, wave, event_at, sent_at;

-- name: mark_failed
UPDATE notifications
SET status = %(status)s, attempts = attempts + %(attempts)s, lease_owner = NULL,
    lease_until = NULL, last_error = %(error)s
WHERE id = %(id)s AND status = 'sending' AND lease_owner = %(worker)s
RETURNING incident_id, contact_id, wave;

-- name: defer
UPDATE notifications
SET status = 'pending', due_at = %(due_at)s, attempts = attempts + %(attempts)s,
    lease_owner = NULL, lease_until = NULL, last_error = %(error)s
WHERE id = %(id)s AND status = 'sending' AND lease_owner = %(worker)s;

-- name: sweep_expired
-- A worker that died holding rows: give them back (this is the "at most one repeat").
UPDATE notifications
SET status = 'pending', lease_owner = NULL, lease_until = NULL,
    last_error = 'lease of ' || coalesce(lease_owner, '?') || ' expired'
WHERE status = 'sending' AND lease_until < clock_timestamp()
RETURNING id;

-- name: rate_hit
INSERT INTO rate_windows (destination, window_start, sent)
VALUES (%(destination)s, date_trunc('minute', clock_timestamp()), 1)
ON CONFLICT (destination, window_start) DO UPDATE SET sent = rate_windows.sent + 1
RETURNING sent, window_start;

-- name: rate_prune
DELETE FROM rate_windows WHERE window_start < clock_timestamp() - interval '1 hour';

-- name: cancel_answered
-- Rows the sweeper returned after their incident was answered: nobody should get them now.
UPDATE notifications n
SET status = 'cancelled', last_error = 'answered while held by a lost worker'
FROM incidents i
WHERE i.id = n.incident_id AND n.status = 'pending'
  AND ((n.purpose IN ('page', 'same_day_call') AND i.status <> 'triggered')
       OR (n.purpose = 'repage' AND i.status = 'resolved'));
