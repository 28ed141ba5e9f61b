-- Vendor formats (issue 6): codec state for transitions, the HTTP push inbox and push dedupe.

-- The previous flags a codec derives transitions from (zigbee2mqtt republishes the whole state
-- on every change: smoke false -> true is an alarm, smoke true again is not). Read and written
-- by ingest inside the transaction that stores the records, rows locked, so two messages for
-- one device (same batch or two workers) see each other's state.
CREATE TABLE codec_states (
    codec        text NOT NULL,
    external_id  text NOT NULL,
    state        jsonb NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (codec, external_id)
);

-- HTTP push requests accepted by the API and not yet processed by ingest. The API answers 200
-- only after the row is committed; ingest claims rows FOR UPDATE SKIP LOCKED, stores what they
-- decode to and deletes them in the same transaction.
CREATE TABLE push_inbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    codec        text NOT NULL,
    received_at  timestamptz NOT NULL,
    method       text NOT NULL DEFAULT 'POST',
    query        jsonb NOT NULL DEFAULT '{}'::jsonb,
    body         bytea NOT NULL
);

-- Idempotency keys of processed pushes (CTWing uplink sequence or content hash, OneNET message
-- id). Keys expire: devices restart their sequence counters.
CREATE TABLE push_dedupe (
    codec        text NOT NULL,
    key          text NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (codec, key)
);
CREATE INDEX push_dedupe_expires_idx ON push_dedupe (expires_at);
