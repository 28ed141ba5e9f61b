-- Shift handovers (migration 0048). A reader sees entries written in its scope or above it
-- (the centre's own notes reach every village operator), never a sibling village's.

-- name: list_handovers
SELECT h.id, h.at, h.author, h.note, h.open_incidents
FROM shift_handovers h
LEFT JOIN organisations o ON o.id = h.org_id
WHERE h.org_id IS NULL OR o.path LIKE ANY(%(scope)s)
   OR EXISTS (SELECT 1 FROM unnest(%(scope)s::text[]) AS s(p) WHERE s.p LIKE o.path || '%%')
ORDER BY h.at DESC, h.id DESC
LIMIT %(limit)s OFFSET %(offset)s;

-- name: open_incidents_in_scope
SELECT count(*) AS n
FROM incidents i JOIN organisations o ON o.id = i.org_id
WHERE i.status <> 'resolved' AND o.path LIKE ANY(%(scope)s);

-- name: insert_handover
INSERT INTO shift_handovers (author, org_id, note, open_incidents)
VALUES (%(author)s, %(org_id)s, %(note)s, %(open_incidents)s)
RETURNING id, at, author, note, open_incidents;
