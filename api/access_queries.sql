-- Credentials checked on every request (api/deps.py).

-- name: caller_user
SELECT u.id, u.username, u.name, u.role, u.active, u.token_version, u.org_id,
       o.path AS org_path,
       EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.token_id = %(token_id)s) AS revoked
FROM users u
LEFT JOIN organisations o ON o.id = u.org_id
WHERE u.id = %(user_id)s

-- name: caller_api_key
SELECT k.id, k.name, k.role, k.org_id, k.key_hash, o.path AS org_path,
       (k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())) AS usable
FROM api_keys k
LEFT JOIN organisations o ON o.id = k.org_id
WHERE k.key_id = %(key_id)s

-- name: touch_api_key
-- At most one write a minute per key.
UPDATE api_keys SET last_used_at = now()
WHERE id = %(id)s AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')

-- name: relative_from_alert
-- The link of an alert: the incident's site, for the contact the link was sent to.
SELECT i.site_id, c.id AS contact_id, c.name AS contact_name
FROM incidents i
JOIN contacts c ON c.id = %(contact_id)s
WHERE i.id = %(incident_id)s

-- name: relative_from_link
SELECT l.id AS link_id, l.site_id, l.contact_id, c.name AS contact_name
FROM relative_links l
JOIN contacts c ON c.id = l.contact_id
WHERE l.token_hash = %(token_hash)s AND l.revoked_at IS NULL AND l.expires_at > now()

-- name: touch_relative_link
UPDATE relative_links SET last_used_at = now()
WHERE id = %(id)s AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
