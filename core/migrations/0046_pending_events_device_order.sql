-- The alert engine claims events in batches and from several processors at once (issue 22).
-- A device's events must still be handled in its own order (an alarm before its clear), so a
-- claim only takes an event when no earlier event of the same device is still pending; this
-- index answers that "is there an earlier one" probe for each candidate.
CREATE INDEX pending_events_device_idx ON pending_events (device_id, event_ts, event_id);
