-- Registering simulated detectors so ingest accepts them (device_sim/registration.py).
-- Every statement is idempotent: registering the same fleet twice changes nothing.

-- name: upsert_organisation
-- The no-op update lets RETURNING give the id of an organisation that already exists.
INSERT INTO organisations (parent_id, level, code, name, name_en)
VALUES (%(parent_id)s, %(level)s, %(code)s, %(name)s, %(name_en)s)
ON CONFLICT (code) DO UPDATE SET name = organisations.name
RETURNING id;

-- name: insert_sites
-- Sites have no natural key; within one organisation the simulator's names are unique.
INSERT INTO sites (org_id, kind, category, name, address, latitude, longitude, resident_situation)
SELECT %(org_id)s, s.kind, s.category, s.name, s.address, s.latitude, s.longitude,
       CASE WHEN s.kind = 'household' THEN ARRAY[s.category] ELSE '{}'::text[] END
FROM unnest(%(kinds)s::text[], %(categories)s::text[], %(names)s::text[], %(addresses)s::text[],
            %(latitudes)s::float8[], %(longitudes)s::float8[])
     AS s (kind, category, name, address, latitude, longitude)
WHERE NOT EXISTS (SELECT 1 FROM sites x WHERE x.org_id = %(org_id)s AND x.name = s.name);

-- name: site_ids
SELECT name, id FROM sites WHERE org_id = %(org_id)s AND name = ANY(%(names)s::text[]);

-- name: insert_devices
-- The devices_state_row trigger gives each new device its device_state row.
INSERT INTO devices (id, model_code, site_id, room, status, installed_at, installed_by)
SELECT d.id, %(model_code)s, d.site_id, d.room, %(status)s, now(), 'device_sim'
FROM unnest(%(ids)s::text[], %(site_ids)s::bigint[], %(rooms)s::text[]) AS d (id, site_id, room)
ON CONFLICT (id) DO NOTHING;
