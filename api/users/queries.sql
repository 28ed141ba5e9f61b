-- Users (api/users).

-- name: organisation_by_code
SELECT id, path FROM organisations WHERE code = %(code)s

-- name: insert_user
INSERT INTO users (username, name, password_hash, role, org_id, locale)
VALUES (%(username)s, %(name)s, %(password_hash)s, %(role)s, %(org_id)s, %(locale)s)
RETURNING id
