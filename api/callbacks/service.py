"""Store each callback item once, then apply it through core.reach (same transaction)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from api.callbacks.schemas import Item
from core.db import load_queries
from core.reach import Receipt, apply_receipt, apply_reply
from core.reach.apply import NOT_YET

log = logging.getLogger(__name__)
Q = load_queries("api.callbacks", "queries.sql")
Parser = Callable[[Any, datetime], list[Item]]


def record_callback(
    conn: psycopg.Connection[Any], *, provider: str, kind: str, items: list[Item], body: Any
) -> Counter[str]:
    """Apply each new item (a retried item is skipped); what was done, counted.

    A receipt whose attempt is not known yet counts as ``not_yet`` and is not kept, so the
    route asks the provider to retry it."""
    done: Counter[str] = Counter()
    for key, record in items:
        with conn.transaction():
            fresh = conn.execute(
                Q["remember_item"],
                {"provider": provider, "kind": kind, "item_key": key[:300], "body": Jsonb(body)},
            ).fetchone()
            if fresh is None:
                done["duplicate"] += 1
                continue
            if isinstance(record, Receipt):
                outcome = apply_receipt(conn, record)
                if outcome == NOT_YET:
                    # Not kept: the provider's retry of this item will be applied.
                    conn.execute(Q["forget_item"], {"provider": provider, "kind": kind,
                                                    "item_key": key[:300]})  # fmt: skip
            else:
                outcome = apply_reply(conn, record)
            done[outcome] += 1
    log.info("callback %s/%s: %s", provider, kind, dict(done))
    return done
