"""The command model: every capability names a real model, parameters, and broker rights."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from core.broker_auth import command_topics, service_role_acls
from core.commands import CAPABILITIES, InvalidParameters, Kind, support_for
from core.commands.model import parameters_for


def test_capabilities_name_registered_models_with_sources(db: psycopg.Connection[Any]) -> None:
    models = {r["code"]: r["codec"] for r in db.execute("SELECT code, codec FROM device_models")}
    for code, support in CAPABILITIES.items():
        assert models[code] == support.transport, code
        assert support.kinds or support.why_not, code  # no support without saying why
        assert not support.kinds or support.source, code  # every encoding names its source
    assert set(models) <= set(CAPABILITIES)  # every model in the registry is described


@pytest.mark.parametrize(
    ("model", "kind", "given", "expected"),
    [
        ("sw-native-1", Kind.SILENCE, {}, {"duration_s": 600}),
        ("sw-native-1", Kind.SILENCE, {"duration_s": 120}, {"duration_s": 120}),
        ("sw-native-1", Kind.SILENCE, {"duration_s": 3600}, InvalidParameters),
        ("sw-native-1", Kind.SILENCE, {"duration_s": True}, InvalidParameters),
        ("aqara-jy-gz-01aq", Kind.SILENCE, {}, {"duration_s": 80}),
        ("aqara-jy-gz-01aq", Kind.SILENCE, {"duration_s": 120}, InvalidParameters),
        ("sw-native-1", Kind.SET_HEARTBEAT, {"interval_s": 86_400}, {"interval_s": 86_400}),
        ("netvox-ra02a", Kind.SET_HEARTBEAT, {"interval_s": 70_000}, InvalidParameters),
        ("sw-native-1", Kind.RESET, {"now": 1}, InvalidParameters),
    ],
)
def test_parameters_for_kind(model: str, kind: Kind, given: dict[str, Any], expected: Any) -> None:
    support = support_for(model)
    if isinstance(expected, dict):
        assert parameters_for(kind, support, given) == expected
    else:
        with pytest.raises(expected):
            parameters_for(kind, support, given)


def test_ingest_role_may_publish_commands_only_where_they_go() -> None:
    filters = ("zigbee2mqtt/#", "application/+/device/+/event/+")
    assert command_topics("sw/v1", filters) == [
        "sw/v1/+/downlink", "zigbee2mqtt/#", "application/+/device/+/command/down",
    ]  # fmt: skip
    sends = [
        a["topic"]
        for a in service_role_acls("smokewatch-ingest", "sw/v1", filters)
        if a["acltype"] == "publishClientSend"
    ]
    assert "sw/v1/+/telemetry" not in sends and "sw/v1/+/downlink" in sends
