-- The notification outbox: claim one step under a lease, record attempts, finish, sweep.
-- A step is one attempt on one channel; between steps the row is 'pending' with its own due
-- time and its place (channel_index, channel_attempt), so no sender ever waits for a backoff.

-- name: release_expired
-- A worker that died holding rows: give them back at once (this is the "at most one repeat").
-- channel_attempt already counts the interrupted attempt, so the row resumes after it.
UPDATE notifications
SET status = 'pending', lease_owner = NULL, lease_until = NULL,
    last_error = 'lease of ' || coalesce(lease_owner, '?') || ' expired'
WHERE status = 'sending' AND lease_until < clock_timestamp()
RETURNING id;

-- name: due_candidates
-- Pages go out only while nobody has answered; re-pages only while still unresolved.
-- Fire first (priority; the dispatcher asks for fire pages and for the rest in two passes,
-- so the second never walks again through fire rows the first could not take), then every
-- household's first person before anyone's second
-- (person_order), then the oldest due; rows whose destination is at its cap are
-- skipped, so a hanging provider's queue never hides another household's page.
-- A row whose last attempt on a channel was interrupted moves to the next channel.
-- Read without locks: the window is several times what the caps let the dispatcher take,
-- and locking every row of it (a write per row) was the largest cost of a storm's claims.
-- The claim below locks only the chosen rows, and skips those another worker took meanwhile.
SELECT n.id, n.priority, h.host, h.position >= cardinality(n.channels) AS last_channel
FROM notifications n
LEFT JOIN incidents i ON i.id = n.incident_id
CROSS JOIN LATERAL (
    SELECT CASE WHEN n.channel_attempt >= %(per_channel)s THEN n.channel_index + 2
                ELSE n.channel_index + 1 END AS position
) p
CROSS JOIN LATERAL (
    SELECT coalesce(n.send_hosts[p.position], '') AS host, p.position
) h
WHERE n.status = 'pending' AND n.due_at <= %(now)s
  AND n.priority BETWEEN %(min_priority)s AND %(max_priority)s
  AND (n.purpose NOT IN ('page', 'same_day_call') OR i.status = 'triggered')
  AND (n.purpose <> 'repage' OR i.status IN ('acknowledged', 'in_progress'))
  AND h.host <> ALL(%(blocked)s)
  AND (%(only)s::text[] IS NULL OR h.host = ANY(%(only)s::text[]))
ORDER BY n.priority, n.person_order, n.due_at, n.id
LIMIT %(window)s;

-- name: claim
-- The attempt is counted before the request leaves (write-ahead): a worker killed mid-send
-- leaves a row that resumes at the next attempt, never at channel 0, attempt 0.
UPDATE notifications n
SET status = 'sending', lease_owner = %(worker)s, claims = n.claims + 1,
    lease_until = clock_timestamp() + make_interval(secs => %(lease)s),
    channel_index = CASE WHEN n.channel_attempt >= %(per_channel)s THEN n.channel_index + 1
                         ELSE n.channel_index END,
    channel_attempt = CASE WHEN n.channel_attempt >= %(per_channel)s THEN 1
                           ELSE n.channel_attempt + 1 END
-- The lock skips rows another worker is claiming right now; the status check (on the row
-- as it is after any wait) leaves out those it took. The subquery names no status: with
-- one, the planner may walk the whole partial due index for these ids instead of the key.
WHERE n.id IN (SELECT id FROM notifications WHERE id = ANY(%(ids)s) FOR UPDATE SKIP LOCKED)
  AND n.status = 'pending'
RETURNING n.id, n.purpose, n.incident_id, n.contact_id, n.wave, n.round, n.priority,
          n.channels, n.messages, n.title, n.event_at, n.claims, n.channel_index,
          n.channel_attempt, n.last_error,
          coalesce(n.send_hosts[n.channel_index + 1], '') AS host;

-- name: next_due
-- The loop wakes for the earliest due step or the earliest lease to expire (a dead worker).
SELECT least((SELECT min(due_at) FROM notifications WHERE status = 'pending'),
             (SELECT min(lease_until) FROM notifications WHERE status = 'sending')) AS due_at;

-- name: backlog
-- The notification-backlog gauges: refreshed every second while the senders work (a storm's
-- backlog shows while it lasts) and by the self-watch's round.
SELECT count(*) AS due_unsent,
       coalesce(extract(epoch FROM %(now)s - min(due_at)), 0) AS queue_age
FROM notifications
WHERE status = 'pending' AND due_at <= %(now)s;

-- name: renew_leases
-- The heartbeat: every row this worker is sending keeps its short lease.
UPDATE notifications
SET lease_until = clock_timestamp() + make_interval(secs => %(lease)s)
WHERE id = ANY(%(ids)s) AND status = 'sending' AND lease_owner = %(worker)s
RETURNING id;

-- name: mark_failed
UPDATE notifications
SET status = %(status)s, attempts = attempts + %(attempts)s, lease_owner = NULL,
    lease_until = NULL, last_error = %(error)s
WHERE id = %(id)s AND status = 'sending' AND lease_owner = %(worker)s
RETURNING incident_id, contact_id, wave;

-- name: reschedule
-- The next step: a retry after its backoff, the next channel at once, or a rate limit's wait.
UPDATE notifications
SET status = 'pending', due_at = %(due_at)s, channel_index = %(channel_index)s,
    channel_attempt = %(channel_attempt)s, attempts = attempts + %(attempts)s,
    lease_owner = NULL, lease_until = NULL, last_error = %(error)s
WHERE id = %(id)s AND status = 'sending' AND lease_owner = %(worker)s
RETURNING id;

-- name: rate_hit
-- Count one send to a destination in its current minute and return that minute's count with
-- the previous minute's, so the caller can estimate the last sixty seconds (a provider such
-- as a WeCom bot counts a rolling minute: a fixed calendar minute lets twice the limit
-- through across its boundary).
WITH hit AS (
    INSERT INTO rate_windows (destination, window_start, sent)
    VALUES (%(destination)s, date_trunc('minute', clock_timestamp()), 1)
    ON CONFLICT (destination, window_start) DO UPDATE SET sent = rate_windows.sent + 1
    RETURNING sent, window_start
)
SELECT hit.sent, hit.window_start, clock_timestamp() AS now,
       coalesce(previous.sent, 0) AS previous_sent
FROM hit
LEFT JOIN rate_windows previous
       ON previous.destination = %(destination)s
      AND previous.window_start = hit.window_start - interval '1 minute';

-- name: rate_unhit
-- A send the limit held back does not count against the destination.
UPDATE rate_windows SET sent = sent - 1
WHERE destination = %(destination)s AND window_start = %(window_start)s AND sent > 0;

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

-- Finishing steps (the send path of a storm, docs/benchmarks.md): the attempt's record, the
-- row's new state and its audit row go together in one statement, atomic on an autocommit
-- connection; delivered steps several at a time. The attempt is kept even when the lease was
-- lost (the request did leave); the row and the audit log change only while the lease is ours.

-- name: steps_delivered
-- Several delivered steps in one statement (alerting/finisher.py): a storm's senders finish
-- hundreds of pages a second, and one statement and one commit per page was PostgreSQL's
-- largest cost. Each step carries how long ago its request returned, so the attempt, sent_at
-- and the audit row keep the time of the send, not of the write.
WITH step AS (
    SELECT * FROM unnest(%(ids)s::bigint[], %(channel_index)s::smallint[], %(scheme)s::text[],
                         %(destination)s::text[], %(outcome)s::text[], %(response)s::text[],
                         %(elapsed_ms)s::integer[], %(provider_ref)s::text[], %(via)s::text[],
                         %(ago_s)s::float8[])
        AS s(id, channel_index, scheme, destination, outcome, response, elapsed_ms,
             provider_ref, via, ago_s)
), timed AS (
    SELECT step.*, clock_timestamp() - make_interval(secs => step.ago_s) AS done_at FROM step
), attempt AS (
    INSERT INTO notification_attempts (notification_id, at, channel_index, scheme, destination,
                                       outcome, response, elapsed_ms, worker, provider_ref)
    SELECT id, done_at, channel_index, scheme, destination, outcome, response, elapsed_ms,
           %(worker)s, provider_ref
    FROM timed
), done AS (
    UPDATE notifications n
    SET status = 'delivered', sent_at = t.done_at, delivered_via = t.channel_index,
        attempts = n.attempts + 1, lease_owner = NULL, lease_until = NULL, last_error = NULL
    FROM timed t
    WHERE n.id = t.id AND n.status = 'sending' AND n.lease_owner = %(worker)s
    RETURNING n.id, n.incident_id, n.contact_id, n.wave, n.event_at, n.sent_at, t.via
), audit AS (
    INSERT INTO incident_log (incident_id, at, action, contact_id, detail)
    SELECT incident_id, sent_at, 'delivered', contact_id,
           jsonb_build_object('notification_id', id, 'wave', wave, 'via', via)
    FROM done WHERE incident_id IS NOT NULL
)
SELECT id, incident_id, contact_id, wave, event_at, sent_at FROM done;

-- name: step_rescheduled
WITH attempt AS (
    INSERT INTO notification_attempts (notification_id, channel_index, scheme, destination,
                                       outcome, response, elapsed_ms, worker, provider_ref)
    VALUES (%(id)s, %(record_index)s, %(scheme)s, %(destination)s, %(outcome)s, %(response)s,
            %(elapsed_ms)s, %(worker)s, %(provider_ref)s)
)
UPDATE notifications
SET status = 'pending', due_at = %(due_at)s, channel_index = %(channel_index)s,
    channel_attempt = %(channel_attempt)s, attempts = attempts + %(attempts)s,
    lease_owner = NULL, lease_until = NULL, last_error = %(error)s
WHERE id = %(id)s AND status = 'sending' AND lease_owner = %(worker)s
RETURNING id;

-- name: step_failed
WITH attempt AS (
    INSERT INTO notification_attempts (notification_id, channel_index, scheme, destination,
                                       outcome, response, elapsed_ms, worker, provider_ref)
    VALUES (%(id)s, %(channel_index)s, %(scheme)s, %(destination)s, %(outcome)s, %(response)s,
            %(elapsed_ms)s, %(worker)s, %(provider_ref)s)
), done AS (
    UPDATE notifications
    SET status = 'failed', attempts = attempts + 1, lease_owner = NULL, lease_until = NULL,
        last_error = %(error)s
    WHERE id = %(id)s AND status = 'sending' AND lease_owner = %(worker)s
    RETURNING id, incident_id, contact_id, wave
), audit AS (
    INSERT INTO incident_log (incident_id, at, action, contact_id, detail)
    SELECT incident_id, %(now)s, 'delivery_failed', contact_id,
           jsonb_build_object('notification_id', id, 'error', %(short_error)s::text)
    FROM done WHERE incident_id IS NOT NULL
)
SELECT incident_id, contact_id, wave FROM done;
