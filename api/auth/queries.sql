-- Login and logout (api/auth).

-- name: user_for_login
SELECT id, username, name, role, password_hash, active, token_version
FROM users WHERE lower(username) = lower(%(username)s)

-- name: login_failures
SELECT failures, window_start,
       window_start + make_interval(secs => %(window_s)s) AS window_end,
       window_start > now() - make_interval(secs => %(window_s)s) AS in_window
FROM login_failures
WHERE username = lower(%(username)s) AND client_ip = %(client_ip)s

-- name: record_login_failure
-- A failure after the window restarts the count.
INSERT INTO login_failures AS f (username, client_ip, failures, window_start)
VALUES (lower(%(username)s), %(client_ip)s, 1, now())
ON CONFLICT (username, client_ip) DO UPDATE SET
    failures = CASE WHEN f.window_start > now() - make_interval(secs => %(window_s)s)
                    THEN f.failures + 1 ELSE 1 END,
    window_start = CASE WHEN f.window_start > now() - make_interval(secs => %(window_s)s)
                        THEN f.window_start ELSE now() END

-- name: reserve_login_attempt
-- Counts an attempt as a failure before its password is checked, atomically (the row lock
-- serialises concurrent attempts, each sees its own count), so parallel guesses cannot
-- exceed the limit; a success gives the attempt back (give_back_login_attempt). username ''
-- (never a real one) is the client address's count across usernames.
INSERT INTO login_failures AS f (username, client_ip, failures, window_start)
VALUES (lower(%(username)s), %(client_ip)s, 1, now())
ON CONFLICT (username, client_ip) DO UPDATE SET
    failures = CASE WHEN f.window_start > now() - make_interval(secs => %(window_s)s)
                    THEN f.failures + 1 ELSE 1 END,
    window_start = CASE WHEN f.window_start > now() - make_interval(secs => %(window_s)s)
                        THEN f.window_start ELSE now() END
RETURNING failures,
          greatest(1, ceil(extract(epoch FROM f.window_start
                                   + make_interval(secs => %(window_s)s) - now())))::int
              AS retry_s

-- name: give_back_login_attempt
-- A reservation that turned out not to be a real failure: a success (given back on the
-- address's row, username ''), or an attempt answered 429 (given back on both rows).
UPDATE login_failures SET failures = failures - 1
WHERE username = lower(%(username)s) AND client_ip = %(client_ip)s AND failures > 0

-- name: drop_released_login_attempts
DELETE FROM login_failures WHERE username = '' AND client_ip = %(client_ip)s AND failures <= 0

-- name: clear_login_failures
DELETE FROM login_failures WHERE username = lower(%(username)s) AND client_ip = %(client_ip)s

-- name: purge_login_failures
DELETE FROM login_failures WHERE window_start < now() - make_interval(secs => %(window_s)s)

-- name: record_login
UPDATE users SET last_login_at = now(),
                 password_hash = coalesce(%(new_hash)s, password_hash)
WHERE id = %(id)s

-- name: revoke_token
INSERT INTO revoked_tokens (token_id, expires_at) VALUES (%(token_id)s, %(expires_at)s)
ON CONFLICT (token_id) DO NOTHING

-- name: purge_revoked_tokens
DELETE FROM revoked_tokens WHERE expires_at < now()

-- name: me_user
SELECT u.locale, o.id AS org_id, o.code, o.name AS org_name, o.level, o.path
FROM users u LEFT JOIN organisations o ON o.id = u.org_id
WHERE u.id = %(id)s

-- name: organisation_brief
SELECT id, code, name, level, path FROM organisations WHERE id = %(id)s

-- name: user_password
SELECT id, username, name, role, password_hash, token_version FROM users
WHERE id = %(id)s AND active

-- name: set_own_password
-- Every other session ends (version bump); the caller gets a new token.
UPDATE users SET password_hash = %(password_hash)s, token_version = token_version + 1,
                 updated_at = now()
WHERE id = %(id)s
RETURNING token_version
