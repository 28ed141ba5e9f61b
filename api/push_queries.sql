-- HTTP push endpoints (issue 6): accept durably, let ingest process asynchronously.

-- name: insert_push
INSERT INTO push_inbox (codec, received_at, method, query, body)
VALUES (%(codec)s, %(received_at)s, %(method)s, %(query)s, %(body)s)
RETURNING id

-- name: notify_push
SELECT pg_notify('smokewatch_push', %(codec)s)
