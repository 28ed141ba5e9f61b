-- Device MQTT credentials (api/credentials.py).

-- name: device_exists
SELECT 1 FROM devices WHERE id = %(device_id)s

-- name: upsert_credentials
INSERT INTO device_credentials (device_id, username, secret_hash)
VALUES (%(device_id)s, %(username)s, %(secret_hash)s)
ON CONFLICT (device_id) DO UPDATE SET
    username = EXCLUDED.username,
    secret_hash = EXCLUDED.secret_hash,
    issued_at = now(),
    revoked_at = NULL,
    broker_synced_at = NULL

-- name: revoke_credentials
UPDATE device_credentials SET revoked_at = now(), broker_synced_at = NULL
WHERE device_id = %(device_id)s AND revoked_at IS NULL
RETURNING device_id

-- name: mark_synced
UPDATE device_credentials SET broker_synced_at = now() WHERE device_id = %(device_id)s

-- name: live_credentials
SELECT device_id, secret_hash FROM device_credentials
WHERE username = %(username)s AND revoked_at IS NULL
