"""Commissioning sessions: start one, then report waiting, passed or failed within seconds.

Ingest stores the device's ``test`` event in ``events``; every read of a waiting session looks
for it (received since the session started) and, once found or past the deadline, stores the
outcome. A passed test puts the device in service with the report as its commissioning record.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from api.commissioning.checks import Facts, evaluate, summary
from api.commissioning.schemas import CommissioningCreate, CommissioningRead
from api.errors import Conflict, NotFound
from api.registry_common import Scope, log_registry
from core.db import load_queries

Q = load_queries("api.commissioning", "queries.sql")
# How long after a bare test event to wait for the report carrying signal and battery: ingest
# commits telemetry in batches (SMOKEWATCH_INGEST_BATCH_WINDOW_MS, at most 5 s).
READINGS_GRACE_S = 5.0


def _device(conn: psycopg.Connection[Any], *, scope: Scope, device_id: str) -> dict[str, Any]:
    row = conn.execute(
        Q["device_for_session"], {"device_id": device_id, "scope": list(scope)}
    ).fetchone()
    if row is None:
        raise NotFound(f"device {device_id} is not registered (or not yours): register it first")
    return dict(row)


def start_commissioning(
    conn: psycopg.Connection[Any],
    *,
    scope: Scope,
    device_id: str,
    data: CommissioningCreate,
    actor: str | None,
) -> CommissioningRead:
    """Open a session (an older waiting one for the device expires); then press the button."""
    device = _device(conn, scope=scope, device_id=device_id)
    if device["status"] == "removed":
        raise Conflict("the device was removed from service")
    site_id = data.site_id if data.site_id is not None else device["site_id"]
    if data.site_id is not None:
        found = conn.execute(Q["site_in_scope"], {"site_id": site_id, "scope": list(scope)})
        if found.fetchone() is None:
            raise NotFound("no such site")
    conn.execute(Q["expire_open_sessions"], {"device_id": device_id})
    session = conn.execute(
        Q["insert_session"],
        {"device_id": device_id, "site_id": site_id, "timeout_s": data.timeout_s, "actor": actor},
    ).fetchone()
    assert session is not None
    return _report(conn, dict(session), device)


def read_commissioning(
    conn: psycopg.Connection[Any],
    *,
    scope: Scope,
    device_id: str,
    session_id: int,
) -> CommissioningRead:
    """The session's report; a waiting session is evaluated (and finished) on every read.

    Long-polling (``wait_s``) lives in :mod:`api.commissioning.polling`: it calls this once per
    poll with a connection taken from the pool for that poll only.
    """
    device = _device(conn, scope=scope, device_id=device_id)
    row = conn.execute(
        Q["get_session"], {"session_id": session_id, "device_id": device_id}
    ).fetchone()
    if row is None:
        raise NotFound("no such commissioning session")
    return _report(conn, dict(row), device)


def _report(
    conn: psycopg.Connection[Any], session: dict[str, Any], device: dict[str, Any]
) -> CommissioningRead:
    if session["state"] != "waiting":
        return _stored(session)
    facts = _facts(conn, session, device)
    state, checks = evaluate(facts)
    zh, en = summary(state, checks)
    result = {
        "summary_zh": zh,
        "summary_en": en,
        "checks": [c.as_dict() for c in checks],
        "event": _jsonable(facts.event),
    }
    if state != "waiting":
        finished = conn.execute(
            Q["finish_session"],
            {
                "session_id": session["id"],
                "state": state,
                "event_id": facts.event["id"] if facts.event else None,
                "result": Jsonb(result),
            },
        ).fetchone()
        if finished is None:  # another request finished it first: report what it stored
            again = conn.execute(
                Q["get_session"], {"session_id": session["id"], "device_id": device["id"]}
            ).fetchone()
            assert again is not None
            return _stored(dict(again))
        session = dict(finished)
        _record(conn, session, state, result)
    return CommissioningRead(**{**session, **result, "state": state})


def _record(
    conn: psycopg.Connection[Any], session: dict[str, Any], state: str, result: dict[str, Any]
) -> None:
    record = {
        "session_id": session["id"],
        "site_id": session["site_id"],
        "by": session["started_by"],
        "started_at": session["started_at"].isoformat(),
        "finished_at": session["finished_at"].isoformat(),
        "state": state,
        **result,
    }
    if state == "passed":
        conn.execute(
            Q["put_in_service"], {"device_id": session["device_id"], "record": Jsonb(record)}
        )
    log_registry(
        conn,
        action=f"commissioning_{state}",
        actor=session["started_by"],
        site_id=session["site_id"],
        device_id=session["device_id"],
        detail=record,
    )


def _stored(session: dict[str, Any]) -> CommissioningRead:
    result = session.get("result") or {}
    if session["state"] == "expired":
        zh, en = summary("expired", [])
        result = {"summary_zh": zh, "summary_en": en, "checks": [], "event": None}
    return CommissioningRead(**{**session, **result})


def _facts(conn: psycopg.Connection[Any], session: dict[str, Any], device: dict[str, Any]) -> Facts:
    window = {
        "device_id": device["id"],
        "started_at": session["started_at"],
        "expires_at": session["expires_at"],
        "grace_s": READINGS_GRACE_S,
    }
    event_row = conn.execute(Q["test_event"], window).fetchone()
    state = conn.execute(Q["device_state"], window).fetchone() or {}
    event: dict[str, Any] | None = None
    readings_pending = False
    if event_row is not None:
        event = dict(event_row)
        may_follow = bool(event.pop("readings_may_follow"))
        event["readings_from"] = "event"
        if event["signal_dbm"] is None and event["battery_pct"] is None:
            latest = conn.execute(Q["latest_reading"], window).fetchone()
            if latest is not None:
                event.update(signal_dbm=latest["signal_dbm"], battery_pct=latest["battery_pct"])
                event["readings_from"] = "latest_report"
            else:
                event["readings_from"] = "none"
                readings_pending = may_follow
    expired = bool(session.get("past_deadline")) and event is None
    strays: list[str] = []
    if expired:
        strays = [r["external_id"] for r in conn.execute(Q["strays"], window).fetchall()]
    last_seen = state.get("last_seen")
    return Facts(
        device_id=device["id"],
        device_status=device["status"],
        device_site_id=device["site_id"],
        session_site_id=session["site_id"],
        codec=device["codec"],
        has_identity=bool(device["has_identity"]),
        expired=expired,
        event=event,
        battery_low_flag=bool(state.get("battery_low")),
        heard_since_start=last_seen is not None and last_seen >= session["started_at"],
        strays=strays,
        readings_pending=readings_pending,
    )


def _jsonable(event: dict[str, Any] | None) -> dict[str, Any] | None:
    if event is None:
        return None
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in event.items()}
