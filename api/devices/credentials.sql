-- Device MQTT credentials (table device_credentials, migration 0020).

-- name: upsert_credentials
-- Issuing again rotates the secret; the broker mirror re-syncs rows with broker_synced_at NULL.
INSERT INTO device_credentials (device_id, username, secret_hash)
VALUES (%(device_id)s, %(username)s, %(secret_hash)s)
ON CONFLICT (device_id) DO UPDATE SET
    secret_hash = EXCLUDED.secret_hash, issued_at = now(), revoked_at = NULL, broker_synced_at = NULL

-- name: revoke_credentials
UPDATE device_credentials SET revoked_at = now(), broker_synced_at = NULL
WHERE device_id = %(device_id)s AND revoked_at IS NULL
