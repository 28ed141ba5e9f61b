-- Sites: households and small venues, always read through the caller's scope
-- (o.path LIKE ANY(%(scope)s)); a site outside it does not exist for the caller.

-- name: list_sites
-- The order slot is composed by api.lists.order_by from a fixed list of columns.
SELECT s.*, o.name AS org_name, o.path AS org_path,
       (SELECT count(*) FROM devices d WHERE d.site_id = s.id AND d.status <> 'removed') AS device_count
FROM sites s JOIN organisations o ON o.id = s.org_id
WHERE o.path LIKE ANY(%(scope)s)
  AND (%(org_path)s::text IS NULL OR o.path LIKE %(org_path)s || '%%')
  AND (%(kind)s::text IS NULL OR s.kind = %(kind)s)
  AND (%(category)s::text IS NULL OR s.category = %(category)s)
  AND (%(include_archived)s OR s.archived_at IS NULL)
  AND (%(q)s::text IS NULL OR s.name ILIKE %(q)s OR s.address ILIKE %(q)s
       OR s.resident_name ILIKE %(q)s OR (%(search_phone)s AND s.phone ILIKE %(q)s))
ORDER BY {order}
LIMIT %(limit)s OFFSET %(offset)s

-- name: count_sites
SELECT count(*) AS total
FROM sites s JOIN organisations o ON o.id = s.org_id
WHERE o.path LIKE ANY(%(scope)s)
  AND (%(org_path)s::text IS NULL OR o.path LIKE %(org_path)s || '%%')
  AND (%(kind)s::text IS NULL OR s.kind = %(kind)s)
  AND (%(category)s::text IS NULL OR s.category = %(category)s)
  AND (%(include_archived)s OR s.archived_at IS NULL)
  AND (%(q)s::text IS NULL OR s.name ILIKE %(q)s OR s.address ILIKE %(q)s
       OR s.resident_name ILIKE %(q)s OR (%(search_phone)s AND s.phone ILIKE %(q)s))

-- name: get_site
SELECT s.*, o.name AS org_name, o.path AS org_path,
       (SELECT count(*) FROM devices d WHERE d.site_id = s.id AND d.status <> 'removed') AS device_count
FROM sites s JOIN organisations o ON o.id = s.org_id
WHERE s.id = %(site_id)s AND o.path LIKE ANY(%(scope)s)

-- name: lock_site
SELECT s.id, s.archived_at FROM sites s JOIN organisations o ON o.id = s.org_id
WHERE s.id = %(site_id)s AND o.path LIKE ANY(%(scope)s)
FOR UPDATE OF s

-- name: org_in_scope
SELECT o.id, o.path, o.level, o.name FROM organisations o
WHERE o.id = %(org_id)s AND o.path LIKE ANY(%(scope)s)

-- name: insert_site
INSERT INTO sites (org_id, kind, category, name, address, latitude, longitude, phone,
                   resident_name, resident_situation, key_holder_name, key_holder_phone,
                   risk_flags, notes)
VALUES (%(org_id)s, %(kind)s, %(category)s, %(name)s, %(address)s, %(latitude)s, %(longitude)s,
        %(phone)s, %(resident_name)s, %(resident_situation)s, %(key_holder_name)s,
        %(key_holder_phone)s, %(risk_flags)s, %(notes)s)
RETURNING id

-- name: update_site
-- The assignments slot holds "column = placeholder" pairs composed from the fields the client sent.
UPDATE sites SET {assignments}, updated_at = clock_timestamp()
WHERE id = %(site_id)s

-- name: archive_site
UPDATE sites SET archived_at = clock_timestamp(), updated_at = clock_timestamp()
WHERE id = %(site_id)s AND archived_at IS NULL

-- name: site_contacts
SELECT c.* FROM contacts c WHERE c.site_id = %(site_id)s ORDER BY c.active DESC, c.priority, c.id

-- name: site_incidents
SELECT i.id, i.device_id, i.kind, i.status, i.priority, i.opened_at, i.last_event_at,
       i.event_count, i.acknowledged_at, i.acknowledged_by, i.resolved_at, i.outcome,
       i.false_alarm_cause
FROM incidents i WHERE i.site_id = %(site_id)s
ORDER BY i.opened_at DESC LIMIT %(limit)s

-- name: site_history
SELECT l.at, l.action, l.actor, l.device_id, l.detail
FROM registry_log l WHERE l.site_id = %(site_id)s
ORDER BY l.at DESC, l.id DESC LIMIT %(limit)s
