-- The roster import: resolve villages and grids, find households already on file.

-- name: organisations_in_scope
SELECT o.id, o.code, o.name, o.level, o.parent_id FROM organisations o
WHERE o.path LIKE ANY(%(scope)s) AND o.level IN ('sub_district', 'village', 'community', 'grid')

-- name: existing_sites
SELECT s.id, s.org_id, s.address, s.name FROM sites s
WHERE s.org_id = ANY(%(org_ids)s) AND s.archived_at IS NULL
