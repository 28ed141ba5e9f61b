-- Users and API keys (api/users). Scoping: a user or key is in the caller's scope when its
-- organisation's path matches; unscoped users and keys (org_id NULL) only for the unscoped.

-- name: organisation_by_code
SELECT id, path FROM organisations WHERE code = %(code)s

-- name: organisation_in_scope
SELECT id, path FROM organisations o WHERE o.id = %(org_id)s AND o.path LIKE ANY(%(scope)s)

-- name: insert_user
INSERT INTO users (username, name, password_hash, role, org_id, locale)
VALUES (%(username)s, %(name)s, %(password_hash)s, %(role)s, %(org_id)s, %(locale)s)
RETURNING id

-- name: list_users
SELECT u.id, u.username, u.name, u.role, u.org_id, o.name AS org_name, u.locale, u.active,
       u.created_at, u.updated_at, u.last_login_at, count(*) OVER () AS total
FROM users u
LEFT JOIN organisations o ON o.id = u.org_id
WHERE (o.path LIKE ANY(%(scope)s) OR (u.org_id IS NULL AND %(unscoped)s))
  AND (%(role)s::text IS NULL OR u.role = %(role)s)
  AND (%(active)s::boolean IS NULL OR u.active = %(active)s)
  AND (%(org_id)s::bigint IS NULL OR u.org_id = %(org_id)s)
  -- %(q)s arrives as a pattern with LIKE wildcards escaped (service.list_users).
  AND (%(q)s::text IS NULL OR u.username ILIKE %(q)s OR u.name ILIKE %(q)s)
ORDER BY {order}
LIMIT %(limit)s OFFSET %(offset)s

-- name: read_user
SELECT u.id, u.username, u.name, u.role, u.org_id, o.name AS org_name, u.locale, u.active,
       u.created_at, u.updated_at, u.last_login_at
FROM users u
LEFT JOIN organisations o ON o.id = u.org_id
WHERE u.id = %(id)s AND (o.path LIKE ANY(%(scope)s) OR (u.org_id IS NULL AND %(unscoped)s))

-- name: update_user
-- Any change of password, role, scope or activity invalidates the user's login tokens.
UPDATE users SET
    name = coalesce(%(name)s, name),
    password_hash = coalesce(%(password_hash)s, password_hash),
    role = coalesce(%(role)s, role),
    org_id = CASE WHEN %(set_org)s THEN %(org_id)s ELSE org_id END,
    locale = coalesce(%(locale)s, locale),
    active = coalesce(%(active)s, active),
    token_version = token_version + CASE WHEN %(logout)s THEN 1 ELSE 0 END,
    updated_at = now()
WHERE id = %(id)s

-- name: revoke_keys_of_user
-- A deactivated user's API keys stop working with them.
UPDATE api_keys SET revoked_at = now()
WHERE created_by = %(id)s AND revoked_at IS NULL

-- name: insert_api_key
INSERT INTO api_keys (key_id, key_hash, name, role, org_id, created_by, expires_at)
VALUES (%(key_id)s, %(key_hash)s, %(name)s, %(role)s, %(org_id)s, %(created_by)s, %(expires_at)s)
RETURNING id, key_id, name, role, org_id, created_by, created_at, expires_at, revoked_at,
          last_used_at

-- name: list_api_keys
SELECT k.id, k.key_id, k.name, k.role, k.org_id, k.created_by, k.created_at, k.expires_at,
       k.revoked_at, k.last_used_at, count(*) OVER () AS total
FROM api_keys k
LEFT JOIN organisations o ON o.id = k.org_id
WHERE (o.path LIKE ANY(%(scope)s) OR (k.org_id IS NULL AND %(unscoped)s))
  AND (%(include_revoked)s OR k.revoked_at IS NULL)
ORDER BY {order}
LIMIT %(limit)s OFFSET %(offset)s

-- name: revoke_api_key
UPDATE api_keys k SET revoked_at = coalesce(k.revoked_at, now())
FROM (SELECT k2.id FROM api_keys k2 LEFT JOIN organisations o ON o.id = k2.org_id
      WHERE k2.id = %(id)s
        AND (o.path LIKE ANY(%(scope)s) OR (k2.org_id IS NULL AND %(unscoped)s))) AS visible
WHERE k.id = visible.id
RETURNING k.id
