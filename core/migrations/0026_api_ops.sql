-- The operators' API (issue 4): the live feed's incident notifications and the indexes that keep
-- the incident lists and dashboard counts off full scans.

-- Every change the live feed shows (opened, joined by a new event, acknowledged, assigned,
-- resolved) is announced on channel smokewatch_incidents when the changing transaction commits.
-- The payload carries the site's organisation path so each API process filters by scope
-- without a query per subscriber. Updates that change nothing visible (repage bookkeeping,
-- notes) stay quiet.
CREATE FUNCTION sw_notify_incident_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('smokewatch_incidents', json_build_object(
        'incident_id', NEW.id,
        'status', NEW.status,
        'kind', NEW.kind,
        'site_id', NEW.site_id,
        'device_id', NEW.device_id,
        'path', (SELECT o.path FROM sites s JOIN organisations o ON o.id = s.org_id
                 WHERE s.id = NEW.site_id),
        'at', clock_timestamp()
    )::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER incidents_notify_insert AFTER INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION sw_notify_incident_change();
CREATE TRIGGER incidents_notify_update AFTER UPDATE ON incidents
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status
          OR OLD.assigned_to IS DISTINCT FROM NEW.assigned_to
          OR OLD.event_count IS DISTINCT FROM NEW.event_count
          OR OLD.outcome IS DISTINCT FROM NEW.outcome)
    EXECUTE FUNCTION sw_notify_incident_change();

-- Lists filtered by time ("since", "until") and the dashboard's alarms by day.
CREATE INDEX incidents_opened_idx ON incidents (opened_at DESC);
-- Fires caught early: counted over the whole history, so a tiny partial index.
CREATE INDEX incidents_real_fire_idx ON incidents (site_id) WHERE outcome = 'real_fire';
-- Open work orders per site for the map and the work-order list's default filter.
CREATE INDEX work_orders_open_idx ON work_orders (opened_at DESC) WHERE status = 'open';
