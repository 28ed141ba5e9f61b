"""Commands over the native protocol, through Mosquitto, the dispatcher and the simulator.

The simulator's detectors obey ``<prefix>/<id>/downlink`` and answer on ``<prefix>/<id>/ack``
(docs/protocol.md section 12); the dispatcher (ingest/commands/) sends and records answers.
"""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
import pytest
from prometheus_client import REGISTRY

from core.commands import (
    CommandNotAllowed,
    CommandUnsupported,
    Kind,
    Requester,
    claim_due,
    read_command,
)
from core.config import parse_mqtt_url
from device_sim.commands import NativeResponder
from device_sim.detector import Detector
from devtools.localservers import LocalMosquitto
from ingest.commands.transports import Topics
from tests.support import Publisher, count, register_devices, running_ingest, wait_until
from tests.support import ingest_settings as make_ingest_settings
from tests.support.alerting import seed_household
from tests.support.commands import Clock, ask, open_incident, running_dispatcher, wait_state

INSTALLER = Requester(role="installer")


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _request(url: str, device_id: str, kind: Kind, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("requester", INSTALLER)
    with psycopg.connect(url, autocommit=True) as conn:
        return ask(conn, device_id, kind, requested_by="installer-1", **kwargs)


def test_self_test_native_acknowledged_through_simulator(
    database_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str
) -> None:
    register_devices(database_url, ["NZ-C0001"])
    detector = Detector("NZ-C0001", topic_prefix)
    settings = make_ingest_settings(database_url, mqtt_broker.url, topic_prefix)
    sent = _sample("smokewatch_ingest_commands_sent_total", transport="native", kind="self_test")
    ok = _sample("smokewatch_ingest_commands_finished_total", kind="self_test", result="ok")
    answers = _sample("smokewatch_ingest_command_answer_seconds_count", kind="self_test")
    with (
        NativeResponder(parse_mqtt_url(mqtt_broker.url), topic_prefix, [detector]) as sim,
        running_ingest(settings),
    ):
        command = _request(database_url, "NZ-C0001", Kind.SELF_TEST)
        done = wait_state(database_url, command["id"], "acknowledged")
        # the test event the detector published went through ingest like any other
        wait_until(lambda: count(database_url, "SELECT count(*) FROM events WHERE "
                                 "device_id = 'NZ-C0001' AND type = 'test'"))  # fmt: skip
    assert done["result"] == "ok" and done["attempts"] == 1
    assert done["acknowledged_at"] >= done["sent_at"] >= done["requested_at"]
    assert sim.executed == [("NZ-C0001", command["id"], "self_test")]
    # What operators see of it on /metrics.
    assert (
        _sample("smokewatch_ingest_commands_sent_total", transport="native", kind="self_test")
        == sent + 1
    )
    assert (
        _sample("smokewatch_ingest_commands_finished_total", kind="self_test", result="ok")
        == ok + 1
    )
    assert _sample("smokewatch_ingest_command_answer_seconds_count", kind="self_test") == (
        answers + 1
    )


def test_silence_native_acknowledged_and_incident_stays_open(
    database_url: str, db: psycopg.Connection[Any], mqtt_broker: LocalMosquitto,
    topic_prefix: str,
) -> None:  # fmt: skip
    home = seed_household(db, lambda name: [])
    incident_id = open_incident(db, home.device_id, acknowledged_by="operator-1")
    detector = Detector(home.device_id, topic_prefix)
    clock = Clock()
    with (
        NativeResponder(parse_mqtt_url(mqtt_broker.url), topic_prefix, [detector]),
        running_dispatcher(database_url, mqtt_broker.url, Topics(topic_prefix), clock),
    ):
        command = _request(
            database_url, home.device_id, Kind.SILENCE, requester=Requester(role="operator"),
            incident_id=incident_id, suspected_cause="cooking", reason="炒菜油烟", now=clock.now,
        )  # fmt: skip
        wait_state(database_url, command["id"], "acknowledged")
    assert command["parameters"] == {"duration_s": 600}
    assert detector.silenced_until is not None
    status = db.execute("SELECT status FROM incidents WHERE id = %s", (incident_id,)).fetchone()
    assert status is not None and status["status"] == "acknowledged"  # never resolved
    log = db.execute(
        "SELECT detail->>'state' AS state, detail->>'suspected_cause' AS cause FROM incident_log"
        " WHERE incident_id = %s AND action = 'command' ORDER BY id", (incident_id,),
    ).fetchall()  # fmt: skip
    assert [r["state"] for r in log] == ["requested", "sent", "acknowledged"]
    assert log[0]["cause"] == "cooking"


def test_command_never_acknowledged_is_resent_then_expires(
    database_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str
) -> None:
    register_devices(database_url, ["NZ-C0002"])
    detector = Detector("NZ-C0002", topic_prefix)
    clock = Clock()
    expired_before = _sample(
        "smokewatch_ingest_commands_finished_total", kind="self_test", result="expired"
    )
    with (
        NativeResponder(
            parse_mqtt_url(mqtt_broker.url), topic_prefix, [detector], ignore=["NZ-C0002"]
        ) as sim,
        running_dispatcher(database_url, mqtt_broker.url, Topics(topic_prefix), clock),
    ):
        command = _request(database_url, "NZ-C0002", Kind.SELF_TEST, now=clock.now)
        wait_state(database_url, command["id"], "sent")
        wait_until(lambda: len(sim.received) == 1)
        clock.advance(seconds=31)  # past the retry delay: the same command goes again
        wait_until(lambda: len(sim.received) == 2)
        clock.advance(hours=1)  # past its lifetime
        expired = wait_state(database_url, command["id"], "expired")
    ids = {orjson.loads(payload)["id"] for _, payload in sim.received}
    assert ids == {command["id"]}  # a resend carries the same identity
    assert expired["attempts"] == 2 and expired["acknowledged_at"] is None
    assert sim.executed == []
    expired_after = _sample(
        "smokewatch_ingest_commands_finished_total", kind="self_test", result="expired"
    )
    assert expired_after == expired_before + 1


def test_claimed_command_is_resent_once_after_restart_not_twice(
    database_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str
) -> None:
    register_devices(database_url, ["NZ-C0003"])
    clock = Clock()
    command = _request(database_url, "NZ-C0003", Kind.RESET, now=clock.now)
    # A dispatcher claimed it (marked sent, committed) and died before publishing.
    with psycopg.connect(database_url, autocommit=True) as conn, conn.transaction():
        assert [r["id"] for r in claim_due(conn, now=clock.now)] == [command["id"]]
    detector = Detector("NZ-C0003", topic_prefix)
    with (
        NativeResponder(parse_mqtt_url(mqtt_broker.url), topic_prefix, [detector]) as sim,
        running_dispatcher(database_url, mqtt_broker.url, Topics(topic_prefix), clock),
    ):
        # The restarted dispatcher does not send it again at once: it waits for the retry.
        assert sim.received == [] and read_command_state(database_url, command["id"]) == "sent"
        clock.advance(seconds=31)
        done = wait_state(database_url, command["id"], "acknowledged")
        # A redelivery of the same downlink (QoS 1) is answered, not carried out again.
        with Publisher(mqtt_broker.url) as pub:
            pub.publish(sim.received[0][0], sim.received[0][1])
        wait_until(lambda: len(sim.received) == 2)
    assert done["attempts"] == 2
    assert sim.executed == [("NZ-C0003", command["id"], "reset")]
    assert detector.boot == 2


def read_command_state(url: str, command_id: int) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        return str(read_command(conn, command_id)["state"])


def test_request_refused_for_model_without_support(database_url: str) -> None:
    register_devices(database_url, ["HM-0001"], model="heiman-hs1sa")
    with pytest.raises(CommandUnsupported, match="no writable property"):
        _request(database_url, "HM-0001", Kind.SELF_TEST)
    assert count(database_url, "SELECT count(*) FROM device_commands") == 0


@pytest.mark.parametrize(
    ("role", "acknowledged", "cause", "message"),
    [
        ("installer", True, "cooking", "may not request"),
        ("operator", False, "cooking", "acknowledge the incident"),
        ("operator", True, None, "suspected nuisance"),
        ("relative", True, "cooking", "confirm the silence"),
    ],
)
def test_silence_refused_unless_rules_hold(
    database_url: str,
    db: psycopg.Connection[Any],
    *,
    role: str,
    acknowledged: bool,
    cause: str | None,
    message: str,
) -> None:
    home = seed_household(db, lambda name: [])
    incident_id = open_incident(
        db, home.device_id, acknowledged_by="operator-1" if acknowledged else None
    )
    with pytest.raises(CommandNotAllowed, match=message):
        _request(
            database_url, home.device_id, Kind.SILENCE, incident_id=incident_id,
            requester=Requester(role=role, site_id=home.site_id), suspected_cause=cause,
        )  # fmt: skip


def test_second_request_of_same_kind_returns_live_command(database_url: str) -> None:
    register_devices(database_url, ["NZ-C0004"])
    first = _request(database_url, "NZ-C0004", Kind.SET_HEARTBEAT, parameters={"interval_s": 900})
    second = _request(database_url, "NZ-C0004", Kind.SET_HEARTBEAT, parameters={"interval_s": 600})
    assert second["id"] == first["id"]
    assert count(database_url, "SELECT count(*) FROM device_commands") == 1


def test_smokewatch_sim_run_obeys_commands(
    database_url: str, mqtt_broker: LocalMosquitto, topic_prefix: str
) -> None:
    """``smokewatch sim`` (device_sim.cli_entry.run) answers commands while it runs."""
    from device_sim.cli_entry import SimOptions
    from device_sim.cli_entry import run as run_sim
    from device_sim.settings import SimSettings
    from tests.support import in_background

    sim_settings = SimSettings(
        mqtt_url=mqtt_broker.url, topic_prefix=topic_prefix, environment="test"
    )
    options = SimOptions(
        households=1, venues=0, id_prefix="CMD", heartbeat_seconds=3600, duration=8.0,
        stagger=False,
    )  # fmt: skip
    register_devices(database_url, ["CMD-H0001"])
    settings = make_ingest_settings(database_url, mqtt_broker.url, topic_prefix)
    with running_ingest(settings):
        runner = in_background(lambda: run_sim(sim_settings, options))
        wait_until(
            lambda: (
                count(database_url, "SELECT count(*) FROM events e WHERE e.device_id = 'CMD-H0001'")
                or count(
                    database_url, "SELECT count(*) FROM readings WHERE device_id = 'CMD-H0001'"
                )
            )
        )
        command = _request(database_url, "CMD-H0001", Kind.SET_HEARTBEAT,
                           parameters={"interval_s": 1800})  # fmt: skip
        done = wait_state(database_url, command["id"], "acknowledged")
        runner.join(timeout=30)
    assert done["result"] == "ok"
