-- Incidents for operators: one page of items in the contract's shape (nested parts as JSON), so
-- a list of 50 costs one round trip. Scope is the site's organisation path (LIKE ANY prefixes).
-- {order} is api.lists.order_by over the unqualified sort keys (opened_at, id...); every row
-- carries the count of all matches as ``total`` (api.lists.fetch_page).

-- name: list_incidents
WITH filtered AS (
    -- Narrow rows (id and sort keys) so counting and sorting thousands stays cheap; the page
    -- reads the rest. Scope through incidents.org_id (the site's organisation, migration 0027).
    SELECT i.id, i.opened_at, i.last_event_at, i.priority, o.path AS org_path
    FROM incidents i
    JOIN organisations o ON o.id = i.org_id
    WHERE o.path LIKE ANY(%(scope)s)
      AND (%(org_id)s::bigint IS NULL
           OR o.path LIKE (SELECT path FROM organisations WHERE id = %(org_id)s) || '%%')
      -- "open" is its own flag so a plan for open incidents can use their partial index.
      AND (NOT %(open_only)s OR i.status <> 'resolved')
      AND (%(status)s::text IS NULL OR i.status = %(status)s)
      AND (%(kind)s::text IS NULL OR i.kind = %(kind)s)
      AND (%(site_id)s::bigint IS NULL OR i.site_id = %(site_id)s)
      AND (%(device_id)s::text IS NULL OR i.device_id = %(device_id)s)
      AND (%(since)s::timestamptz IS NULL OR i.opened_at >= %(since)s)
      AND (%(until)s::timestamptz IS NULL OR i.opened_at < %(until)s)
      AND (%(id)s::bigint IS NULL OR i.id = %(id)s)
      -- History: closed since (the board's "recently closed"), outcome, and a search over the
      -- address, household, resident and detector.
      AND (%(resolved_since)s::timestamptz IS NULL OR i.resolved_at >= %(resolved_since)s)
      AND (%(outcome)s::text IS NULL OR i.outcome = %(outcome)s)
      AND (%(q)s::text IS NULL OR i.device_id ILIKE %(q)s OR EXISTS (
              SELECT 1 FROM sites qs WHERE qs.id = i.site_id
                AND (qs.address ILIKE %(q)s OR qs.name ILIKE %(q)s
                     OR qs.resident_name ILIKE %(q)s)))
),
page AS (
    -- Sort and cut the narrow rows first, then read the page's full rows.
    SELECT i.*, f.org_path
    FROM (SELECT * FROM filtered ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s) f
    JOIN incidents i ON i.id = f.id
),
items AS (
    SELECT
        p.id,
        p.kind,
        p.status,
        p.priority,
        p.opened_at,
        p.last_event_at,
        p.event_count,
        p.acknowledged_at,
        p.acknowledged_by,
        CASE WHEN ac.id IS NULL THEN NULL
             ELSE json_build_object('id', ac.id, 'name', ac.name) END AS assigned_to,
        p.outcome,
        p.false_alarm_cause,
        p.resolved_at,
        p.note,
        json_build_object('id', d.id, 'room', d.room, 'position', d.position) AS device,
        json_build_object(
            'id', s.id, 'name', s.name, 'kind', s.kind, 'category', s.category,
            'address', s.address, 'resident_name', s.resident_name,
            'resident_situation', s.resident_situation,
            'latitude', s.latitude, 'longitude', s.longitude) AS site,
        (
            SELECT json_build_object('id', v.id, 'name', v.name)
            FROM organisations v
            WHERE v.id = ANY(string_to_array(rtrim(p.org_path, '.'), '.')::bigint[])
              AND v.level IN ('village', 'community')
            ORDER BY length(v.path) DESC
            LIMIT 1) AS village,
        coalesce((
            SELECT json_agg(json_build_object(
                       'contact_id', n.contact_id, 'name', c.name, 'role', c.role,
                       'channel', sw_channel_class(
                           n.channels[coalesce(n.delivered_via, n.channel_index, 0) + 1]),
                       'status', n.status, 'at', coalesce(n.sent_at, n.due_at),
                       -- sent -> reached (handset / call answered) -> acknowledged
                       'reach', CASE
                           WHEN p.field_contact_id = n.contact_id
                                AND p.field_acknowledged_at IS NOT NULL THEN 'acknowledged'
                           WHEN n.status <> 'delivered' THEN n.status
                           ELSE coalesce((
                               SELECT CASE WHEN a.acknowledged_at IS NOT NULL
                                           THEN 'acknowledged' ELSE a.reach END
                               FROM notification_attempts a
                               WHERE a.notification_id = n.id
                                 AND a.channel_index = n.delivered_via
                               ORDER BY a.id DESC LIMIT 1), 'sent') END)
                   ORDER BY n.wave, n.round, n.id)
            FROM notifications n
            LEFT JOIN contacts c ON c.id = n.contact_id
            WHERE n.incident_id = p.id
              AND n.purpose IN ('page', 'repage', 'same_day_call', 'escalation')
        ), '[]'::json) AS paged,
        p.acknowledged_by AS answered_by,
        p.centre_acknowledged_at,
        p.centre_acknowledged_by,
        CASE WHEN p.field_acknowledged_at IS NULL THEN NULL
             ELSE json_build_object(
                 'name', coalesce(fc.name, p.field_acknowledged_by),
                 'role', fc.role, 'at', p.field_acknowledged_at) END AS field_answer,
        CASE WHEN p.reported_at IS NULL THEN NULL
             ELSE json_build_object(
                 'outcome', p.report_outcome, 'false_alarm_cause', p.report_cause,
                 'note', p.report_note, 'at', p.reported_at,
                 'name', coalesce(rc.name, p.reported_by), 'role', rc.role) END AS report
    FROM page p
    JOIN devices d ON d.id = p.device_id
    JOIN sites s ON s.id = p.site_id
    LEFT JOIN contacts ac ON ac.id = p.assigned_to
    LEFT JOIN contacts fc ON fc.id = p.field_contact_id
    LEFT JOIN contacts rc ON rc.id = p.report_contact_id
)
SELECT items.*, (SELECT count(*) FROM filtered) AS total
FROM items
ORDER BY {order};

-- name: incident_in_scope
-- The incident's site path when the caller may see it; nothing otherwise (then: 404).
SELECT i.id, i.status, o.path
FROM incidents i
JOIN sites s ON s.id = i.site_id
JOIN organisations o ON o.id = s.org_id
WHERE i.id = %(id)s AND o.path LIKE ANY(%(scope)s);

-- name: contact_for_assignment
-- A contact the caller may put in charge: in the caller's scope, or attached to an
-- organisation above the incident's site (the sub-district duty desk for a village incident).
SELECT c.id, c.name
FROM contacts c
LEFT JOIN sites s ON s.id = c.site_id
LEFT JOIN organisations o ON o.id = coalesce(c.org_id, s.org_id)
WHERE c.id = %(contact_id)s AND c.active
  AND (o.path LIKE ANY(%(scope)s) OR %(incident_path)s LIKE o.path || '%%');

-- name: events_by_id
SELECT id, type, ts FROM events WHERE id = ANY(%(ids)s);
