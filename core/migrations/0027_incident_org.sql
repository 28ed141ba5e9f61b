-- Incidents carry their site's organisation (issue 4): the dashboard counts a month of
-- incidents per organisation from one covering index instead of looking up every incident's
-- site (10,000 random reads a month at a million devices). Kept right by triggers: set when
-- the incident opens, moved when its site moves to another organisation.
ALTER TABLE incidents ADD COLUMN org_id bigint;

UPDATE incidents i SET org_id = s.org_id FROM sites s WHERE s.id = i.site_id;

CREATE FUNCTION sw_incident_org() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.site_id IS NOT NULL THEN
        SELECT org_id INTO NEW.org_id FROM sites WHERE id = NEW.site_id;
    ELSE
        NEW.org_id := NULL;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER incidents_org BEFORE INSERT OR UPDATE OF site_id ON incidents
    FOR EACH ROW EXECUTE FUNCTION sw_incident_org();

CREATE FUNCTION sw_site_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE incidents SET org_id = NEW.org_id WHERE site_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER sites_moved AFTER UPDATE OF org_id ON sites
    FOR EACH ROW WHEN (OLD.org_id IS DISTINCT FROM NEW.org_id)
    EXECUTE FUNCTION sw_site_moved();

-- The dashboard's window (alarms by day and by village, false-alarm rate): index-only.
DROP INDEX incidents_opened_idx;
CREATE INDEX incidents_opened_idx ON incidents (opened_at DESC) INCLUDE (org_id, kind, status, outcome);
-- Open incidents per organisation and fires caught early, off small partial indexes.
CREATE INDEX incidents_open_org_idx ON incidents (org_id) WHERE status <> 'resolved';
DROP INDEX incidents_real_fire_idx;
CREATE INDEX incidents_real_fire_idx ON incidents (org_id) WHERE outcome = 'real_fire';
