-- The registry rows that tests, benchmarks, the demo and the simulator create (core/factory.py).
-- Every column is named; core/factory.py passes the schema's own defaults for those left out.

-- name: create_organisation
INSERT INTO organisations (parent_id, level, code, name, name_en)
VALUES (%(parent_id)s, %(level)s, %(code)s, %(name)s, %(name_en)s)
RETURNING id;

-- name: ensure_organisation
-- The update (a no-op unless renaming) lets RETURNING give the id of one that already exists.
INSERT INTO organisations (parent_id, level, code, name, name_en)
VALUES (%(parent_id)s, %(level)s, %(code)s, %(name)s, %(name_en)s)
ON CONFLICT (code) DO UPDATE
SET name = CASE WHEN %(rename)s THEN EXCLUDED.name ELSE organisations.name END,
    name_en = CASE WHEN %(rename)s THEN EXCLUDED.name_en ELSE organisations.name_en END
RETURNING id;

-- name: create_site
INSERT INTO sites (org_id, kind, category, name, address, latitude, longitude, phone,
                   resident_name, resident_situation, key_holder_name, key_holder_phone,
                   risk_flags, notes, archived_at)
VALUES (%(org_id)s, %(kind)s, %(category)s, %(name)s, %(address)s, %(latitude)s, %(longitude)s,
        %(phone)s, %(resident_name)s, %(resident_situation)s, %(key_holder_name)s,
        %(key_holder_phone)s, %(risk_flags)s, %(notes)s, %(archived_at)s)
RETURNING id;

-- name: create_sites
-- Many sites of one organisation in one statement. Sites have no natural key: within an
-- organisation a bulk seed's names are unique, and a name already there is left alone.
INSERT INTO sites (org_id, kind, category, name, address, latitude, longitude, resident_name,
                   resident_situation)
SELECT %(org_id)s, s.kind, s.category, s.name, s.address, s.latitude, s.longitude,
       s.resident_name, CASE WHEN s.situation IS NULL THEN '{}'::text[] ELSE ARRAY[s.situation] END
FROM unnest(%(kinds)s::text[], %(categories)s::text[], %(names)s::text[], %(addresses)s::text[],
            %(latitudes)s::float8[], %(longitudes)s::float8[], %(resident_names)s::text[],
            %(situations)s::text[])
     AS s (kind, category, name, address, latitude, longitude, resident_name, situation)
WHERE NOT EXISTS (SELECT 1 FROM sites x WHERE x.org_id = %(org_id)s AND x.name = s.name);

-- name: site_ids
SELECT name, id FROM sites WHERE org_id = %(org_id)s AND name = ANY(%(names)s::text[]);

-- name: create_device
-- The devices_state_row trigger gives each new device its device_state row.
INSERT INTO devices (id, model_code, site_id, room, position, status, installed_at, installed_by,
                     commissioned_at, commissioning, notes, stock_org_id, gateway_id)
VALUES (%(id)s, %(model_code)s, %(site_id)s, %(room)s, %(position)s, %(status)s,
        %(installed_at)s, %(installed_by)s, %(commissioned_at)s, %(commissioning)s, %(notes)s,
        %(stock_org_id)s, %(gateway_id)s);

-- name: create_devices
-- Many devices in one statement (fleets of thousands); ids already registered are left alone.
INSERT INTO devices (id, model_code, site_id, room, status, installed_at, installed_by,
                     gateway_id)
SELECT d.id, %(model_code)s, d.site_id, d.room, %(status)s, %(installed_at)s, %(installed_by)s,
       d.gateway_id
FROM unnest(%(ids)s::text[], %(site_ids)s::bigint[], %(rooms)s::text[], %(gateway_ids)s::text[])
     AS d (id, site_id, room, gateway_id)
ON CONFLICT (id) DO NOTHING;

-- name: create_contact
INSERT INTO contacts (site_id, org_id, name, role, priority, phone, channels, quiet_hours_start,
                      quiet_hours_end, locale, active)
VALUES (%(site_id)s, %(org_id)s, %(name)s, %(role)s, %(priority)s, %(phone)s, %(channels)s,
        %(quiet_hours_start)s, %(quiet_hours_end)s, %(locale)s, %(active)s)
RETURNING id;
