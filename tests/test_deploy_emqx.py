"""deploy/emqx/: every EMQX account is bound to its client id, like Mosquitto's (issue 15).

No EMQX on the test machine, so the configuration is parsed: the device authenticator's and
authoriser's queries run for real on PostgreSQL (``${username}``/``${clientid}`` bound as
parameters), and the services' client-id patterns are matched against the ids the services
really use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from core.broker_auth import API_READY_CLIENT, ingest_lane_client_id, service_client_id
from core.codecs.registry import CodecConfig, default_registry
from tests.support import register_devices

EMQX = Path(__file__).resolve().parents[1] / "deploy" / "emqx"
CONF = (EMQX / "emqx.conf").read_text(encoding="utf-8")
ACL = (EMQX / "acl-smokewatch.conf").read_text(encoding="utf-8")


def block(name: str) -> str:
    """The text of the top-level ``name = [ ... ]`` or ``name { ... }`` block."""
    start = re.search(rf"(?m)^{name}\s*(=\s*\[|\{{)", CONF)
    assert start, f"no {name} block"
    depth, i = 0, start.end() - 1
    for i in range(start.end() - 1, len(CONF)):
        depth += CONF[i] in "[{"
        depth -= CONF[i] in "]}"
        if depth == 0:
            break
    return CONF[start.start() : i + 1]


def queries(text: str) -> list[str]:
    return re.findall(r'(?m)^\s*query = "(.*)"$', text)


def as_sql(query: str) -> str:
    return query.replace("${username}", "%(username)s").replace("${clientid}", "%(clientid)s")


@pytest.fixture
def credentials(database_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """Two devices with live credentials and the EMQX hash columns, in a transaction."""
    register_devices(database_url, ["NZ-A", "NZ-B"])
    conn = psycopg.connect(database_url)
    # The columns the authenticator reads (an open item of the registry, docs/operations.md).
    conn.execute("ALTER TABLE device_credentials ADD COLUMN IF NOT EXISTS emqx_hash text, "
                 "ADD COLUMN IF NOT EXISTS emqx_salt text")  # fmt: skip
    conn.execute(
        "INSERT INTO device_credentials (device_id, username, secret_hash, emqx_hash, emqx_salt)"
        " VALUES ('NZ-A', 'NZ-A', 'x', 'ha', 'sa'), ('NZ-B', 'NZ-B', 'x', 'hb', 'sb')"
    )
    yield conn
    conn.rollback()
    conn.close()


LANE = ingest_lane_client_id("smokewatch-ingest-0", "events", "k3x9")


@pytest.mark.parametrize(
    ("username", "clientid", "found"),
    [
        ("NZ-A", "NZ-A", True),
        ("NZ-A", "NZ-B", False),  # another device's id
        ("NZ-A", LANE, False),  # ingest's lane: the hijack of issue 15
        ("NZ-A", "", False),
    ],
)
def test_device_authenticator_binds_client_id(
    credentials: psycopg.Connection[tuple[object, ...]], username: str, clientid: str, found: bool
) -> None:
    [device, service] = block("authentication").split("mechanism")[1:]
    assert "backend = postgresql" in device
    [query] = queries(device)
    rows = credentials.execute(as_sql(query), {"username": username, "clientid": clientid})
    assert bool(rows.fetchall()) is found
    # Services are users of the built-in database keyed by client id, not by a chosen name.
    assert "backend = built_in_database" in service
    assert re.search(r"user_id_type = clientid\b", service)


@pytest.mark.parametrize(
    ("clientid", "expected"),
    [
        ("NZ-A", {("allow", "publish", "smokewatch/v1/NZ-A/#"),
                  ("allow", "subscribe", "smokewatch/v1/NZ-A/downlink"), ("deny", "all", "#")}),
        (LANE, {("deny", "all", "#")}),  # a device never reaches the services' file source
    ],
)  # fmt: skip
def test_device_authoriser_binds_client_id(
    credentials: psycopg.Connection[tuple[object, ...]],
    clientid: str,
    expected: set[tuple[str, str, str]],
) -> None:
    [query] = queries(block("authorization"))
    rows = credentials.execute(as_sql(query), {"username": "NZ-A", "clientid": clientid})
    assert set(rows.fetchall()) == expected
    assert re.search(r"no_match = deny\b", block("authorization"))


def acl_patterns() -> dict[str, list[re.Pattern[str]]]:
    """Action -> client-id patterns of the file source's allow rules."""
    found: dict[str, list[re.Pattern[str]]] = {}
    for pattern, action in re.findall(r'\{allow, \{clientid, \{re, "([^"]+)"\}\}, (\w+),', ACL):
        found.setdefault(action, []).append(re.compile(pattern))
    assert "{username," not in ACL, "services are matched by client id only"
    assert ACL.rstrip().endswith("{deny, all}.")
    return found


SERVICE_IDS = [
    *(ingest_lane_client_id(w, lane, suffix) for w in ("smokewatch-ingest-0", "smokewatch-ingest-1")
      for lane in ("events", "telemetry", "codecs", "commands")
      for suffix in ("", "a1B2c3d4e5f6a7b8")),
    service_client_id(API_READY_CLIENT, ""),
    service_client_id(API_READY_CLIENT, "a1B2c3d4e5f6a7b8"),
]  # fmt: skip


@pytest.mark.parametrize("clientid", SERVICE_IDS)
def test_service_client_ids_are_authorised(clientid: str) -> None:
    assert any(p.fullmatch(clientid) for p in acl_patterns()["subscribe"])


@pytest.mark.parametrize(
    "clientid",
    ["NZ-A", "smokewatch-ingest", "smokewatch-api", "smokewatch-sim-NZ-A",
     "x-smokewatch-ingest-0-events", "smokewatch-ingest-0-events-a/b"],
)  # fmt: skip
def test_other_client_ids_get_nothing(clientid: str) -> None:
    patterns = acl_patterns()
    assert not any(p.fullmatch(clientid) for ps in patterns.values() for p in ps)


def test_ingest_may_subscribe_to_every_codec_filter() -> None:
    rule = next(line for line in ACL.splitlines() if "smokewatch-ingest" in line)
    topics = set(re.findall(r'"([^"]+)"', rule.split("subscribe,", 1)[1]))
    wanted = ("smokewatch/v1/#", *default_registry(CodecConfig()).mqtt_filters())
    for tree in wanted:
        assert {tree, f"$share/+/{tree}"} <= topics, tree
