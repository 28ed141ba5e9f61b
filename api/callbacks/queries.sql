-- Provider callbacks: each item once (providers retry).

-- name: remember_item
INSERT INTO callback_receipts (provider, kind, item_key, body)
VALUES (%(provider)s, %(kind)s, %(item_key)s, %(body)s)
ON CONFLICT DO NOTHING
RETURNING item_key;

-- name: forget_item
DELETE FROM callback_receipts
WHERE provider = %(provider)s AND kind = %(kind)s AND item_key = %(item_key)s;
