-- A relative's view of one household, reached by a signed alert link or a personal link.
-- Every query is keyed by the household's site id: nothing of another household can appear.

-- name: current_incident
-- The household's open incident, fire first; else the latest one of the last 24 hours.
SELECT i.id
FROM incidents i
WHERE i.site_id = %(site_id)s
  AND (i.status <> 'resolved' OR i.opened_at > now() - interval '24 hours')
ORDER BY (i.status <> 'resolved') DESC, i.priority, i.opened_at DESC
LIMIT 1;

-- name: household
SELECT s.id, s.name, s.address, s.resident_name, s.phone, s.key_holder_name, s.key_holder_phone,
       o.path
FROM sites s JOIN organisations o ON o.id = s.org_id
WHERE s.id = %(site_id)s;

-- name: household_devices
SELECT d.id, d.room, d.position,
       CASE
           -- A detector still latched in alarm after its incident was closed is not shown
           -- "in alarm": the centre has dealt with it (the next clear or test resets it).
           WHEN ds.alarm_active AND EXISTS (
               SELECT 1 FROM incidents oi
               WHERE oi.device_id = d.id AND oi.status <> 'resolved'
                 AND oi.kind IN ('fire', 'heat')) THEN 'alarm'
           WHEN ds.tamper_active OR ds.fault_active THEN 'fault'
           WHEN NOT (coalesce(ds.online, false) AND coalesce(ds.offline_deadline > now(), false))
               THEN 'offline'
           WHEN ds.battery_low THEN 'low_battery'
           ELSE 'ok'
       END AS state,
       ds.battery_pct, ds.last_seen
FROM devices d
LEFT JOIN device_state ds ON ds.device_id = d.id
WHERE d.site_id = %(site_id)s AND d.status IN ('installed', 'in_service', 'faulty')
ORDER BY d.id;

-- name: relative_incident
-- What a relative may see of one incident of their household (api/relative/schemas.py).
SELECT i.id, i.kind, i.status, i.opened_at,
       (i.acknowledged_at IS NOT NULL) AS acknowledged, i.acknowledged_at,
       ac.role AS acknowledged_by_role,
       i.resolved_at, i.outcome, i.false_alarm_cause,
       CASE WHEN i.reported_at IS NULL THEN NULL
            ELSE json_build_object('outcome', i.report_outcome,
                                   'false_alarm_cause', i.report_cause,
                                   'reported_at', i.reported_at) END AS report,
       i.kind IN ('fire', 'heat') AS centre_closes,
       d.room, d.position
FROM incidents i
JOIN devices d ON d.id = i.device_id
LEFT JOIN contacts ac ON ac.id = i.ack_contact_id
WHERE i.id = %(incident_id)s AND i.site_id = %(site_id)s;

-- name: told
-- Who this incident paged, once per person: best delivery, whether they answered. Phones only
-- of the household's own contacts.
SELECT c.name, c.role,
       CASE WHEN c.site_id = %(site_id)s THEN c.phone END AS phone,
       coalesce(bool_or(n.status = 'delivered'), false) AS delivered,
       -- IN over nullable columns is NULL when nothing matches: coalesce to false.
       coalesce(bool_or(c.id IN (i.field_contact_id, i.report_contact_id, i.ack_contact_id)),
                false) AS answered,
       min(c.priority) AS priority
FROM notifications n
JOIN incidents i ON i.id = n.incident_id
JOIN contacts c ON c.id = n.contact_id
WHERE n.incident_id = %(incident_id)s AND i.site_id = %(site_id)s
  AND n.purpose IN ('page', 'repage', 'same_day_call')
GROUP BY c.id, c.name, c.role, c.site_id, c.phone
ORDER BY answered DESC, priority, c.name;
