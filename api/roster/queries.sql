-- The roster import: resolve villages and grids, find households already on file.

-- name: organisations_in_scope
SELECT o.id, o.code, o.name, o.level, o.parent_id FROM organisations o
WHERE o.path LIKE ANY(%(scope)s) AND o.level IN ('sub_district', 'village', 'community', 'grid')

-- name: existing_sites
SELECT s.id, s.org_id, s.address, s.name FROM sites s
WHERE s.org_id = ANY(%(org_ids)s) AND s.archived_at IS NULL

-- name: export_sites
-- The roster as stored, in the import's columns (api/roster/service.export_roster).
SELECT o.name AS village, s.kind, s.category, s.name, s.address, s.resident_name,
       array_to_string(s.resident_situation, '、') AS resident_situation, s.phone,
       s.latitude, s.longitude, s.key_holder_name, s.key_holder_phone, s.notes,
       coalesce((SELECT jsonb_agg(jsonb_build_object('name', c.name, 'relation', c.role,
                                                     'phone', c.phone)
                                  ORDER BY c.priority, c.id)
                 FROM contacts c WHERE c.site_id = s.id AND c.active), '[]') AS contacts
FROM sites s JOIN organisations o ON o.id = s.org_id
WHERE o.path LIKE ANY(%(scope)s) AND s.archived_at IS NULL
ORDER BY o.name, s.address, s.id
LIMIT %(limit)s
