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
-- The link of an alert: the incident's site, for the contact the link was sent to, while that
-- contact is active and still belongs to the site (its own contact, or an organisation contact
-- whose organisation is on the site's organisation path).
SELECT i.site_id, c.id AS contact_id, c.name AS contact_name
FROM incidents i
JOIN sites s ON s.id = i.site_id
JOIN organisations so ON so.id = s.org_id
JOIN contacts c ON c.id = %(contact_id)s AND c.active
LEFT JOIN organisations co ON co.id = c.org_id
WHERE i.id = %(incident_id)s
  AND (c.site_id = s.id
       OR (c.site_id IS NULL AND co.path IS NOT NULL AND left(so.path, length(co.path)) = co.path))

-- name: relative_from_link
-- A personal link: unrevoked, unexpired, its contact active and still of the link's site.
SELECT l.id AS link_id, l.site_id, l.contact_id, c.name AS contact_name
FROM relative_links l
JOIN sites s ON s.id = l.site_id
JOIN organisations so ON so.id = s.org_id
JOIN contacts c ON c.id = l.contact_id AND c.active
LEFT JOIN organisations co ON co.id = c.org_id
WHERE l.token_hash = %(token_hash)s AND l.revoked_at IS NULL AND l.expires_at > now()
  AND (c.site_id = s.id
       OR (c.site_id IS NULL AND co.path IS NOT NULL AND left(so.path, length(co.path)) = co.path))

-- name: touch_relative_link
UPDATE relative_links SET last_used_at = now()
WHERE id = %(id)s AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')

-- name: user_still_valid
-- An open live stream re-checks its login token: user active, same version, not revoked.
SELECT (u.active AND u.token_version = %(version)s
        AND NOT EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.token_id = %(token_id)s)) AS ok
FROM users u
WHERE u.id = %(user_id)s

-- name: api_key_still_valid
SELECT (k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())) AS ok
FROM api_keys k
WHERE k.id = %(id)s
