-- Shared by the registry domains (api/registry_common.py).

-- name: log_registry
INSERT INTO registry_log (action, actor, site_id, device_id, detail)
VALUES (%(action)s, %(actor)s, %(site_id)s, %(device_id)s, %(detail)s)
