-- Device commands for the API: scope checks (the device's site, or its stock organisation).

-- name: device_in_scope
SELECT d.id, d.model_code, d.site_id FROM devices d
LEFT JOIN sites s ON s.id = d.site_id
LEFT JOIN organisations o ON o.id = s.org_id
LEFT JOIN organisations so ON so.id = d.stock_org_id
WHERE d.id = %(device_id)s AND (o.path LIKE ANY(%(scope)s)
       OR (d.site_id IS NULL AND (d.stock_org_id IS NULL OR so.path LIKE ANY(%(scope)s))))

-- name: incident_device_in_scope
SELECT i.id, i.device_id, d.model_code FROM incidents i
JOIN devices d ON d.id = i.device_id
JOIN sites s ON s.id = i.site_id
JOIN organisations o ON o.id = s.org_id
WHERE i.id = %(incident_id)s AND o.path LIKE ANY(%(scope)s)

-- name: household_incident
-- The relative's household incident: the one the alert names, else the open one (fire first).
SELECT i.id, i.device_id, d.model_code FROM incidents i
JOIN devices d ON d.id = i.device_id
WHERE i.site_id = %(site_id)s
  AND (i.id = %(incident_id)s OR (%(incident_id)s::bigint IS NULL AND i.status <> 'resolved'))
ORDER BY i.priority, i.opened_at DESC
LIMIT 1
