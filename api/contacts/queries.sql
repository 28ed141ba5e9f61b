-- Contacts of a site (through the site's organisation) or of an organisation, in scope only.

-- name: list_contacts
SELECT c.*
FROM contacts c
LEFT JOIN sites s ON s.id = c.site_id
JOIN organisations o ON o.id = coalesce(s.org_id, c.org_id)
WHERE o.path LIKE ANY(%(scope)s)
  AND (%(site_id)s::bigint IS NULL OR c.site_id = %(site_id)s)
  AND (%(org_id)s::bigint IS NULL OR c.org_id = %(org_id)s)
  AND (%(role)s::text IS NULL OR c.role = %(role)s)
  AND (%(include_inactive)s OR c.active)
ORDER BY c.site_id NULLS LAST, c.org_id, c.priority, c.id
LIMIT %(limit)s OFFSET %(offset)s

-- name: count_contacts
SELECT count(*) AS total
FROM contacts c
LEFT JOIN sites s ON s.id = c.site_id
JOIN organisations o ON o.id = coalesce(s.org_id, c.org_id)
WHERE o.path LIKE ANY(%(scope)s)
  AND (%(site_id)s::bigint IS NULL OR c.site_id = %(site_id)s)
  AND (%(org_id)s::bigint IS NULL OR c.org_id = %(org_id)s)
  AND (%(role)s::text IS NULL OR c.role = %(role)s)
  AND (%(include_inactive)s OR c.active)

-- name: get_contact
SELECT c.*
FROM contacts c
LEFT JOIN sites s ON s.id = c.site_id
JOIN organisations o ON o.id = coalesce(s.org_id, c.org_id)
WHERE c.id = %(contact_id)s AND o.path LIKE ANY(%(scope)s)

-- name: site_in_scope
SELECT s.id FROM sites s JOIN organisations o ON o.id = s.org_id
WHERE s.id = %(site_id)s AND o.path LIKE ANY(%(scope)s) AND s.archived_at IS NULL

-- name: org_in_scope
SELECT o.id FROM organisations o WHERE o.id = %(org_id)s AND o.path LIKE ANY(%(scope)s)

-- name: insert_contact
INSERT INTO contacts (site_id, org_id, name, role, priority, phone, channels, quiet_hours_start,
                      quiet_hours_end, locale, active)
VALUES (%(site_id)s, %(org_id)s, %(name)s, %(role)s, %(priority)s, %(phone)s, %(channels)s,
        %(quiet_hours_start)s, %(quiet_hours_end)s, %(locale)s, %(active)s)
RETURNING *

-- name: update_contact
-- The assignments slot holds "column = placeholder" pairs composed from the fields the client sent.
UPDATE contacts SET {assignments} WHERE id = %(contact_id)s RETURNING *

-- name: deactivate_contact
UPDATE contacts SET active = false WHERE id = %(contact_id)s RETURNING *
