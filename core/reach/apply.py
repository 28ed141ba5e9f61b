"""The effects of a receipt or a reply; idempotent, so a provider's retry changes nothing."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from core.db import load_queries
from core.incidents import IncidentClosed, acknowledge_by_phone, log_action
from core.reach.records import Receipt, Reply, phone_key

log = logging.getLogger(__name__)
Q = load_queries("core.reach", "queries.sql")
ACK_KEYS = frozenset({"1"})
NOT_YET = "not_yet"
# What counts as "1" in a reply: the digit, full-width or Chinese, with anything around it
# that is not a word ("1。", " 1 ").
ACK_REPLIES = frozenset({"1", "１", "一", "壹"})


def _cur(conn: psycopg.Connection[Any]) -> psycopg.Cursor[dict[str, Any]]:
    return conn.cursor(row_factory=dict_row)


def _acknowledge(
    conn: psycopg.Connection[Any], *, incident_id: int, contact_id: int, how: str, at: datetime
) -> bool:
    try:
        acknowledge_by_phone(conn, incident_id=incident_id, contact_id=contact_id, how=how, now=at)
    except IncidentClosed:
        log.info("incident %s is closed; the %s changes nothing", incident_id, how)
        return False
    return True


def apply_receipt(conn: psycopg.Connection[Any], receipt: Receipt) -> str:
    """Apply one receipt; what it did: reached, not_reached, advanced, acknowledged, unchanged,
    or ``not_yet`` (no attempt carries this id yet, or its sender is still finishing it: a
    fast provider's receipt can overtake our own bookkeeping; the caller has it retried)."""
    with conn.transaction():
        attempt = _cur(conn).execute(Q["find_attempt"], {"ref": receipt.ref}).fetchone()
        if attempt is None or attempt["status"] == "sending":
            return NOT_YET
        done = "unchanged"
        if receipt.keypress is not None and receipt.keypress.strip() in ACK_KEYS:
            first = (
                _cur(conn)
                .execute(Q["set_attempt_acknowledged"], {"id": attempt["id"], "at": receipt.at})
                .fetchone()
            )
            if first and attempt["incident_id"] and attempt["contact_id"]:
                ok = _acknowledge(
                    conn,
                    incident_id=attempt["incident_id"],
                    contact_id=attempt["contact_id"],
                    how="pressed 1",
                    at=receipt.at,
                )
                done = "acknowledged" if ok else "closed"
        if receipt.reached is None:
            return done
        reach = "reached" if receipt.reached else "not_reached"
        changed = (
            _cur(conn)
            .execute(
                Q["set_reach"],
                {
                    "id": attempt["id"],
                    "reach": reach,
                    "at": receipt.at,
                    "detail": receipt.detail[:300],
                },
            )
            .fetchone()
        )
        if not changed:
            return done
        if attempt["incident_id"]:
            log_action(
                conn,
                incident_id=attempt["incident_id"],
                action=reach,
                at=receipt.at,
                contact_id=attempt["contact_id"],
                detail={"notification_id": attempt["notification_id"], "via": receipt.provider},
            )
        if receipt.reached:
            return done if done == "acknowledged" else "reached"
        return "advanced" if _advance(conn, attempt, receipt) else "not_reached"


def _advance(conn: psycopg.Connection[Any], attempt: dict[str, Any], receipt: Receipt) -> bool:
    """Not reached: the next channel of this person at once, else the next contact at once."""
    why = f"not reached ({receipt.provider}); next channel at once"
    moved = (
        _cur(conn)
        .execute(
            Q["next_channel_now"],
            {
                "id": attempt["notification_id"],
                "index": attempt["channel_index"],
                "now": receipt.at,
                "why": why,
            },
        )
        .fetchone()
    )
    if not moved and attempt["incident_id"] and attempt["purpose"] in ("page", "same_day_call"):
        moved = (
            _cur(conn)
            .execute(
                Q["next_wave_now"],
                {"incident_id": attempt["incident_id"], "now": receipt.at, "wave": attempt["wave"]},
            )
            .fetchone()
        )
    if moved and attempt["incident_id"]:
        _cur(conn).execute(Q["wake_alerting"], {"incident_id": attempt["incident_id"]})
    return moved is not None


def _is_ack(text: str) -> bool:
    return text.strip().strip("。.!！ ") in ACK_REPLIES


def apply_reply(conn: psycopg.Connection[Any], reply: Reply) -> str:
    """Apply one SMS reply: 1 acknowledges the latest open incident that paged this number;
    anything else is kept as a note on it. What it did: unknown, acknowledged, note."""
    with conn.transaction():
        paged = (
            _cur(conn)
            .execute(Q["latest_paged"], {"phone": phone_key(reply.phone)[-11:]})
            .fetchone()
        )
        if paged is None:
            return "unknown"
        if _is_ack(reply.text):
            if paged["attempt_id"]:
                _cur(conn).execute(
                    Q["set_attempt_acknowledged"], {"id": paged["attempt_id"], "at": reply.at}
                )
            ok = _acknowledge(
                conn,
                incident_id=paged["incident_id"],
                contact_id=paged["contact_id"],
                how="replied 1",
                at=reply.at,
            )
            return "acknowledged" if ok else "closed"
        log_action(
            conn,
            incident_id=paged["incident_id"],
            action="note",
            at=reply.at,
            actor=f"{paged['contact_name']} (SMS reply)",
            contact_id=paged["contact_id"],
            detail={"note": reply.text[:500], "via": reply.provider},
        )
        return "note"
