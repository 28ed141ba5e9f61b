-- Each channel's destination host, computed once when a page is written. The claim used to
-- run sw_send_host (three regular expressions) on every row of its window, up to three times
-- a row, and in a storm that was most of a claim's time (docs/benchmarks.md, issue 22).
-- A later migration that changes sw_send_host must recompute the column as well:
-- UPDATE notifications SET channels = channels.
CREATE FUNCTION sw_send_hosts(channels text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(coalesce(sw_send_host(c), '') ORDER BY o), '{}')
    FROM unnest(channels) WITH ORDINALITY AS u(c, o)
$$;

ALTER TABLE notifications
    ADD COLUMN send_hosts text[] GENERATED ALWAYS AS (sw_send_hosts(channels)) STORED;
