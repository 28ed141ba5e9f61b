-- Whoever enqueues an event for the alert engine (ingest, HTTP push endpoints, the watchdog)
-- wakes it the same way: NOTIFY is delivered when the enqueuing transaction commits.
CREATE FUNCTION sw_notify_pending_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('smokewatch_events', NEW.event_id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER pending_events_notify AFTER INSERT ON pending_events
    FOR EACH ROW EXECUTE FUNCTION sw_notify_pending_event();
