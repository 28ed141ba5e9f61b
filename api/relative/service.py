"""A relative's household through a link: the signed alert link or a personal relative link.

The token decides the household (the alert's incident's site, or the link's site) and every
query after that is keyed by that one site id; nothing the token does not name is reachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from api.incidents.service import read_incident
from api.security import digest
from api.visibility import NotVisible
from core.db import load_queries
from core.incidents import (
    FalseAlarmCause,
    InvalidToken,
    Outcome,
    acknowledge_by_link,
    acknowledge_incident,
    resolve_by_link,
    resolve_incident,
    verify_ack_token,
)

Q = load_queries("api.relative", "queries.sql")
Row = dict[str, Any]


class NoOpenIncident(LookupError):
    """The household has no incident to acknowledge or resolve right now."""


@dataclass(frozen=True, slots=True)
class Grant:
    """What a link lets its holder see and do."""

    site_id: int
    contact_id: int
    incident_id: int | None  # alert links name their incident; personal links do not
    actor: str
    alert_token: str | None = None


def _cur(conn: psycopg.Connection[Any]) -> psycopg.Cursor[Row]:
    return conn.cursor(row_factory=dict_row)


def _is_alert_token(token: str) -> bool:
    return token.count(".") == 3


def grant_for(conn: psycopg.Connection[Any], *, token: str, ack_secret: str) -> Grant:
    """Check the link; :class:`NotVisible` for anything invalid, expired or revoked."""
    cur = _cur(conn)
    if _is_alert_token(token):
        try:
            claim = verify_ack_token(token, secret=ack_secret)
        except InvalidToken as exc:
            raise NotVisible("link") from exc
        row = cur.execute(Q["incident_site"], {"id": claim.incident_id}).fetchone()
        if row is None or row["site_id"] is None:
            raise NotVisible("link")
        return Grant(
            int(row["site_id"]), claim.contact_id, claim.incident_id, "", alert_token=token
        )
    link = cur.execute(Q["personal_link"], {"token_hash": digest(token)}).fetchone()
    if link is None:
        raise NotVisible("link")
    cur.execute(Q["touch_link"], {"id": link["id"]})
    return Grant(
        int(link["site_id"]), int(link["contact_id"]), None, f"{link['contact_name']} (亲属链接)"
    )


def _incident_id(conn: psycopg.Connection[Any], grant: Grant) -> int | None:
    if grant.incident_id is not None:
        return grant.incident_id
    row = _cur(conn).execute(Q["current_incident"], {"site_id": grant.site_id}).fetchone()
    return int(row["id"]) if row else None


def _household_scope(conn: psycopg.Connection[Any], grant: Grant) -> tuple[Row, list[str]]:
    site = _cur(conn).execute(Q["household"], {"site_id": grant.site_id}).fetchone()
    if site is None:
        raise NotVisible("link")
    escaped = site["path"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return site, [escaped + "%"]


def view(conn: psycopg.Connection[Any], grant: Grant) -> Row:
    """The incident (or null), the household and its detectors' states."""
    site, scope = _household_scope(conn, grant)
    incident_id = _incident_id(conn, grant)
    incident = None
    if incident_id is not None:
        incident = read_incident(conn, scope=scope, incident_id=incident_id)
        if incident["site"]["id"] != grant.site_id:  # belt and braces: never another home
            raise NotVisible("link")
    devices = _cur(conn).execute(Q["household_devices"], {"site_id": grant.site_id}).fetchall()
    return {
        "incident": incident,
        "site": {"name": site["name"], "address": site["address"]},
        "devices": devices,
    }


def acknowledge(conn: psycopg.Connection[Any], grant: Grant, *, ack_secret: str) -> Row:
    """Acknowledge the link's incident (alert link) or the household's open one."""
    if grant.alert_token is not None:
        acknowledge_by_link(conn, token=grant.alert_token, secret=ack_secret)
    else:
        incident_id = _open_incident(conn, grant)
        acknowledge_incident(
            conn, incident_id=incident_id, actor=grant.actor, contact_id=grant.contact_id
        )
    return view(conn, grant)


def resolve(
    conn: psycopg.Connection[Any],
    grant: Grant,
    *,
    ack_secret: str,
    outcome: Outcome | str,
    cause: FalseAlarmCause | str | None,
    note: str | None,
) -> Row:
    """Resolve the link's incident (alert link) or the household's open one."""
    if grant.alert_token is not None:
        resolve_by_link(
            conn, token=grant.alert_token, secret=ack_secret, outcome=outcome, cause=cause,
            note=note,
        )  # fmt: skip
    else:
        incident_id = _open_incident(conn, grant)
        resolve_incident(
            conn, incident_id=incident_id, actor=grant.actor, outcome=outcome, cause=cause,
            note=note, contact_id=grant.contact_id,
        )  # fmt: skip
    return view(conn, grant)


def _open_incident(conn: psycopg.Connection[Any], grant: Grant) -> int:
    row = _cur(conn).execute(Q["current_incident"], {"site_id": grant.site_id}).fetchone()
    if row is None:
        raise NoOpenIncident("no incident at this household")
    return int(row["id"])
