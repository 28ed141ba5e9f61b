-- The monitoring centre's shift handover log: what the outgoing operator tells the next shift
-- (open incidents to watch, calls to make back, devices to chase). Append-only: a correction
-- is a new entry. org_id is the writer's scope (NULL: the whole system), which decides who
-- reads it; open_incidents is how many incidents were open in that scope when it was written.
CREATE TABLE shift_handovers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    author          text NOT NULL,
    org_id          bigint REFERENCES organisations (id),
    note            text NOT NULL CHECK (length(note) BETWEEN 1 AND 4000),
    open_incidents  integer NOT NULL DEFAULT 0 CHECK (open_incidents >= 0)
);
CREATE INDEX shift_handovers_at_idx ON shift_handovers (at DESC);
