-- Receipts, keypresses and replies: update the attempt, move on when nobody was reached.

-- name: find_attempt
-- The newest attempt that carries the provider's id for this request.
SELECT a.id, a.notification_id, a.channel_index, a.reach, a.acknowledged_at, n.incident_id,
       n.contact_id, n.wave, n.purpose, n.status, c.name AS contact_name
FROM notification_attempts a
JOIN notifications n ON n.id = a.notification_id
LEFT JOIN contacts c ON c.id = n.contact_id
WHERE a.provider_ref = %(ref)s
ORDER BY a.id DESC
LIMIT 1;

-- name: set_reach
-- Reached wins over not reached (a keypress after a busy signal on a retried call).
UPDATE notification_attempts
SET reach = %(reach)s, reach_at = %(at)s, reach_detail = %(detail)s
WHERE id = %(id)s AND (reach IS NULL OR (reach = 'not_reached' AND %(reach)s = 'reached'))
RETURNING id;

-- name: set_attempt_acknowledged
UPDATE notification_attempts SET acknowledged_at = %(at)s,
    reach = 'reached', reach_at = coalesce(reach_at, %(at)s)
WHERE id = %(id)s AND acknowledged_at IS NULL
RETURNING id;

-- name: next_channel_now
-- Not reached on this channel: the person's next channel is due at once (only while the row
-- still stands delivered on this very channel, so a retried receipt moves it once).
UPDATE notifications
SET status = 'pending', due_at = %(now)s, channel_index = %(index)s + 1, channel_attempt = 0,
    last_error = %(why)s
WHERE id = %(id)s AND status = 'delivered' AND delivered_via = %(index)s
  AND %(index)s + 1 < cardinality(channels)
RETURNING id;

-- name: next_wave_now
-- Not reached on the person's last channel: whoever is paged next for this unanswered incident
-- (the next pending wave after this person's, in time) is paged now instead of at the wave's
-- own time; once per wave: nothing moves while a later wave is already due or sent.
UPDATE notifications
SET due_at = %(now)s
WHERE incident_id = %(incident_id)s AND status = 'pending'
  AND purpose IN ('page', 'same_day_call')
  AND due_at = (SELECT min(due_at) FROM notifications
                WHERE incident_id = %(incident_id)s AND status = 'pending'
                  AND purpose IN ('page', 'same_day_call') AND due_at > %(now)s
                  AND wave > %(wave)s)
  AND EXISTS (SELECT 1 FROM incidents WHERE id = %(incident_id)s AND status = 'triggered')
  AND NOT EXISTS (SELECT 1 FROM notifications
                  WHERE incident_id = %(incident_id)s AND purpose IN ('page', 'same_day_call')
                    AND wave > %(wave)s AND (status <> 'pending' OR due_at <= %(now)s))
RETURNING id;

-- name: latest_paged
-- The latest incident still open that paged this number, and the contact it paged.
SELECT n.incident_id, n.contact_id, c.name AS contact_name,
       (SELECT a.id FROM notification_attempts a
        WHERE a.notification_id = n.id AND a.outcome = 'delivered'
        ORDER BY a.id DESC LIMIT 1) AS attempt_id
FROM notifications n
JOIN contacts c ON c.id = n.contact_id
JOIN incidents i ON i.id = n.incident_id
WHERE c.phone IS NOT NULL AND i.status <> 'resolved'
  AND right(regexp_replace(c.phone, '\D', '', 'g'), 11) = %(phone)s
  AND n.status IN ('delivered', 'sending', 'pending', 'failed')
ORDER BY n.created_at DESC, n.id DESC
LIMIT 1;

-- name: wake_alerting
SELECT pg_notify('smokewatch_notifications', %(incident_id)s::text);
