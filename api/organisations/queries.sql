-- The hierarchy (api/organisations). Scope: o.path LIKE ANY(%(scope)s).

-- name: list_organisations
SELECT id, parent_id, level, code, name, name_en, path, created_at
FROM organisations o
WHERE o.path LIKE ANY(%(scope)s)
ORDER BY o.path

-- name: read_organisation
SELECT id, parent_id, level, code, name, name_en, path, created_at
FROM organisations o
WHERE o.id = %(id)s AND o.path LIKE ANY(%(scope)s)

-- name: insert_organisation
INSERT INTO organisations (parent_id, level, code, name, name_en)
VALUES (%(parent_id)s, %(level)s, %(code)s, %(name)s, %(name_en)s)
RETURNING id

-- name: update_organisation
UPDATE organisations SET
    code = coalesce(%(code)s, code),
    name = coalesce(%(name)s, name),
    name_en = CASE WHEN %(set_name_en)s THEN %(name_en)s ELSE name_en END
WHERE id = %(id)s

-- name: read_escalation
SELECT org_id, config, updated_at FROM escalation_policies WHERE org_id = %(org_id)s

-- name: upsert_escalation
INSERT INTO escalation_policies (org_id, config, updated_at)
VALUES (%(org_id)s, %(config)s, now())
ON CONFLICT (org_id) WHERE org_id IS NOT NULL
DO UPDATE SET config = EXCLUDED.config, updated_at = now()
RETURNING org_id, config, updated_at

-- name: delete_escalation
DELETE FROM escalation_policies WHERE org_id = %(org_id)s
