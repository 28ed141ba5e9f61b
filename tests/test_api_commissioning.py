"""Commissioning end to end: the simulator presses the test button, Mosquitto carries it,
ingest stores it, and the API reports the test within seconds (or says what is wrong)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
from fastapi.testclient import TestClient

from device_sim.detector import Detector
from device_sim.protocol import TsFormat
from device_sim.registration import register_devices
from device_sim.runner import Simulation
from device_sim.scenarios import Step, self_test, telemetry
from device_sim.settings import SimSettings
from device_sim.sinks import SharedSink
from devtools.localservers import LocalMosquitto
from tests.support import ingest_settings, running_ingest, wait_until
from tests.support.api import ApiWorld, make_api_settings, running_api


def play(mqtt_url: str, prefix: str, device_id: str, steps: Sequence[Step]) -> None:
    """Publish ``steps`` of one simulated detector through the broker, acknowledged."""
    settings = SimSettings(mqtt_url=mqtt_url, topic_prefix=prefix, environment="test")
    detector = Detector(device_id, prefix, site_kind="household", ts_format=TsFormat.ISO_UTC)
    sink = SharedSink(settings.mqtt, client_id=f"test-sim-{uuid.uuid4().hex[:8]}")
    try:
        sim = Simulation([detector], sink, heartbeat_seconds=0, realtime=False)
        sim.schedule(detector, steps)
        report = sim.run(ack_timeout=20)
    finally:
        sink.close()
    assert report.acked == report.sent == len(steps)


def installed_device(
    api_client: TestClient, api: ApiWorld, headers: dict[str, str]
) -> tuple[str, int]:
    """A household site and a registered detector bound to its kitchen."""
    tree = api.tree()
    site = api_client.post(
        "/api/v1/sites",
        json={"org_id": tree.village.id, "kind": "household", "category": "elderly_alone",
              "name": "王秀英家", "address": "东村3组12号", "resident_name": "王秀英"},
        headers=headers,
    ).json()  # fmt: skip
    device_id = f"NZ-T{uuid.uuid4().hex[:6].upper()}"
    register_devices(api.db, [device_id], status="registered")
    bound = api_client.put(
        f"/api/v1/devices/{device_id}/binding",
        json={"site_id": site["id"], "room": "厨房", "position": "吊顶中央"},
        headers=headers,
    )
    assert bound.status_code == 200, bound.text
    assert bound.json()["status"] == "installed"
    return device_id, site["id"]


def poll(api_client: TestClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    """GET the report until it is no longer waiting."""

    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = api_client.get(url, headers=headers).json()
        return body if body["state"] != "waiting" else None

    return wait_until(done, timeout=30, interval=0.2)


def checks(report: dict[str, Any]) -> dict[str, bool | None]:
    return {c["name"]: c["ok"] for c in report["checks"]}


def test_commissioning_passes_when_simulator_presses_test_button(
    api_client: TestClient, api: ApiWorld, database_url: str, mqtt_broker: LocalMosquitto,
    topic_prefix: str,
) -> None:  # fmt: skip
    headers = api.headers("installer")
    device_id, site_id = installed_device(api_client, api, headers)

    with running_ingest(ingest_settings(database_url, mqtt_broker.url, topic_prefix)):
        started = api_client.post(
            f"/api/v1/devices/{device_id}/commissioning", json={"timeout_s": 60}, headers=headers
        )
        assert started.status_code == 201, started.text
        session = started.json()
        assert session["state"] == "waiting"
        assert checks(session) == {"event_received": None, "device_known": True,
                                   "bound_to_site": True}  # fmt: skip
        # The detector's periodic report, then the installer holds the test button.
        play(mqtt_broker.url, topic_prefix, device_id,
             [telemetry(signal=-71, battery=88.0), *self_test()])  # fmt: skip
        report = poll(
            api_client, f"/api/v1/devices/{device_id}/commissioning/{session['id']}", headers
        )

    assert report["state"] == "passed", report
    assert checks(report) == {"event_received": True, "device_known": True,
                              "bound_to_site": True, "signal": True, "battery": True}  # fmt: skip
    assert report["event"]["signal_dbm"] == -71
    assert report["event"]["battery_pct"] == 88.0
    assert report["event"]["readings_from"] == "latest_report"
    assert report["summary_zh"].startswith("调试通过")
    device = api_client.get(f"/api/v1/devices/{device_id}", headers=headers).json()
    assert device["status"] == "in_service"
    assert device["commissioned_at"] is not None
    assert device["commissioning"]["session_id"] == session["id"]
    assert device["commissioning"]["event"]["signal_dbm"] == -71
    history = api_client.get(f"/api/v1/sites/{site_id}", headers=headers).json()["history"]
    assert [h["action"] for h in history][:2] == ["commissioning_passed", "device_bound"]
    again = api_client.get(
        f"/api/v1/devices/{device_id}/commissioning/{session['id']}", headers=headers
    ).json()
    assert again["state"] == "passed" and again["checks"] == report["checks"]


def test_commissioning_fails_with_weak_signal(
    api_client: TestClient, api: ApiWorld, database_url: str, mqtt_broker: LocalMosquitto,
    topic_prefix: str,
) -> None:  # fmt: skip
    headers = api.headers("installer")
    device_id, _ = installed_device(api_client, api, headers)

    with running_ingest(ingest_settings(database_url, mqtt_broker.url, topic_prefix)):
        session = api_client.post(
            f"/api/v1/devices/{device_id}/commissioning", json={"timeout_s": 60}, headers=headers
        ).json()
        play(mqtt_broker.url, topic_prefix, device_id,
             [telemetry(signal=-112, battery=15.0), *self_test()])  # fmt: skip
        report = poll(
            api_client, f"/api/v1/devices/{device_id}/commissioning/{session['id']}", headers
        )

    assert report["state"] == "failed"
    assert checks(report)["signal"] is False and checks(report)["battery"] is False
    signal = next(c for c in report["checks"] if c["name"] == "signal")
    assert "-112 dBm" in signal["message_zh"] and "Weak signal" in signal["message_en"]
    assert report["summary_en"].startswith("Commissioning failed: Weak signal")
    device = api_client.get(f"/api/v1/devices/{device_id}", headers=headers).json()
    assert device["status"] == "installed" and device["commissioned_at"] is None


def test_commissioning_fails_when_nothing_received(api_client: TestClient, api: ApiWorld) -> None:
    headers = api.headers("installer")
    device_id, _ = installed_device(api_client, api, headers)

    session = api_client.post(
        f"/api/v1/devices/{device_id}/commissioning", json={"timeout_s": 2}, headers=headers
    ).json()
    # One long-poll: the answer comes when the 2 s are over, not after the 20 s.
    report = api_client.get(
        f"/api/v1/devices/{device_id}/commissioning/{session['id']}",
        params={"wait_s": 20},
        headers=headers,
    ).json()

    assert report["state"] == "failed"
    received = next(c for c in report["checks"] if c["name"] == "event_received")
    assert received["ok"] is False
    assert received["message_zh"].startswith("未收到任何测试信号")
    assert received["message_en"].startswith("Nothing was received")
    assert "battery" in received["message_en"]  # the hints
    assert report["event"] is None


def test_commissioning_reports_device_bound_elsewhere(
    api_client: TestClient, api: ApiWorld
) -> None:
    headers = api.headers("installer")
    device_id, _ = installed_device(api_client, api, headers)
    tree = api.tree()
    other = api_client.post(
        "/api/v1/sites",
        json={"org_id": tree.village.id, "kind": "household", "category": "widowed",
              "name": "李家", "address": "东村5组1号", "resident_name": "李大爷"},
        headers=headers,
    ).json()  # fmt: skip

    session = api_client.post(
        f"/api/v1/devices/{device_id}/commissioning",
        json={"site_id": other["id"], "timeout_s": 30},
        headers=headers,
    ).json()

    assert session["state"] == "waiting"
    bound = next(c for c in session["checks"] if c["name"] == "bound_to_site")
    assert bound["ok"] is False and "另一处" in bound["message_zh"]


def test_commissioning_unknown_or_foreign_device_is_not_found(
    api_client: TestClient, api: ApiWorld
) -> None:
    tree = api.tree()
    admin = api.admin_headers()
    device_id, _ = installed_device(api_client, api, admin)
    foreign = api.headers("installer", org=tree.other_village)

    unknown = api_client.post("/api/v1/devices/NZ-NOPE/commissioning", headers=foreign)
    assert unknown.status_code == 404
    assert "not registered" in unknown.json()["error"]["message"]
    assert (
        api_client.post(f"/api/v1/devices/{device_id}/commissioning", headers=foreign).status_code
        == 404
    )
    viewer = api.headers("viewer", org=tree.village)
    assert (
        api_client.post(f"/api/v1/devices/{device_id}/commissioning", headers=viewer).status_code
        == 403
    )


def test_commissioning_new_session_expires_the_waiting_one(
    api_client: TestClient, api: ApiWorld
) -> None:
    headers = api.headers("installer")
    device_id, _ = installed_device(api_client, api, headers)
    url = f"/api/v1/devices/{device_id}/commissioning"
    first = api_client.post(url, json={"timeout_s": 60}, headers=headers).json()
    api_client.post(url, json={"timeout_s": 60}, headers=headers)

    report = api_client.get(f"{url}/{first['id']}", headers=headers).json()
    assert report["state"] == "expired"


def test_commissioning_nothing_received_names_unregistered_id_heard(
    api_client: TestClient, api: ApiWorld, database_url: str, mqtt_broker: LocalMosquitto,
    topic_prefix: str,
) -> None:  # fmt: skip
    headers = api.headers("installer")
    device_id, _ = installed_device(api_client, api, headers)
    typo = device_id[:-1] + ("X" if device_id[-1] != "X" else "Y")

    with running_ingest(ingest_settings(database_url, mqtt_broker.url, topic_prefix)):
        session = api_client.post(
            f"/api/v1/devices/{device_id}/commissioning", json={"timeout_s": 3}, headers=headers
        ).json()
        # The detector on the ceiling really is another id than the one the installer typed.
        play(mqtt_broker.url, topic_prefix, typo, self_test())
        wait_until(
            lambda: api.db.execute(
                "SELECT 1 FROM unregistered_devices WHERE external_id = %s", (typo,)
            ).fetchone()
        )
        report = poll(
            api_client, f"/api/v1/devices/{device_id}/commissioning/{session['id']}", headers
        )

    assert report["state"] == "failed"
    received = next(c for c in report["checks"] if c["name"] == "event_received")
    assert typo in received["message_zh"] and typo in received["message_en"]
    assert "typed wrong" in received["message_en"]


def test_commissioning_bare_test_event_waits_for_report_then_passes_unmeasured(
    api_client: TestClient, api: ApiWorld, database_url: str, mqtt_broker: LocalMosquitto,
    topic_prefix: str,
) -> None:  # fmt: skip
    headers = api.headers("installer")
    device_id, _ = installed_device(api_client, api, headers)
    url = f"/api/v1/devices/{device_id}/commissioning"

    with running_ingest(ingest_settings(database_url, mqtt_broker.url, topic_prefix)):
        session = api_client.post(url, json={"timeout_s": 60}, headers=headers).json()
        play(mqtt_broker.url, topic_prefix, device_id, self_test())  # no report at all

        def received() -> dict[str, Any] | None:
            body: dict[str, Any] = api_client.get(f"{url}/{session['id']}", headers=headers).json()
            return body if checks(body).get("event_received") else None

        early = wait_until(received, timeout=20)
        report = poll(api_client, f"{url}/{session['id']}", headers)

    # Right after the event the report may still come (ingest batches telemetry) ...
    if early["state"] == "waiting":
        assert early["summary_en"].startswith("Test event received")
    # ... and once the grace is over the test passes, saying what could not be measured.
    assert report["state"] == "passed"
    assert checks(report)["signal"] is None and checks(report)["battery"] is None
    assert report["event"]["readings_from"] == "none"


def test_commissioning_long_polls_do_not_starve_other_requests(
    api_client: TestClient, api: ApiWorld, database_url: str, mqtt_broker: LocalMosquitto
) -> None:
    headers = api.headers("installer")
    device_id, _ = installed_device(api_client, api, headers)
    session = api_client.post(
        f"/api/v1/devices/{device_id}/commissioning", json={"timeout_s": 120}, headers=headers
    ).json()
    url = f"/api/v1/devices/{device_id}/commissioning/{session['id']}"
    # A second API on the same database with a pool of two connections (1 s to get one).
    small = make_api_settings(database_url, mqtt_broker.url, api_pool_max=2, api_pool_timeout_s=1.0)
    answers: list[tuple[int, str]] = []
    with running_api(small) as base, httpx.Client(base_url=base, timeout=30) as http:

        def long_poll() -> None:
            response = http.get(url, params={"wait_s": 4}, headers=headers)
            answers.append((response.status_code, response.json().get("state", "")))

        pollers = [threading.Thread(target=long_poll) for _ in range(5)]
        for poller in pollers:
            poller.start()
        time.sleep(0.5)  # head start: the long-polls are waiting now (not an assertion)
        other = http.get(f"/api/v1/devices/{device_id}", headers=headers)
        still_waiting = sum(poller.is_alive() for poller in pollers)
        for poller in pollers:
            poller.join(timeout=30)

    assert other.status_code == 200, other.text
    assert still_waiting == 5  # the request above was served while all five were waiting
    assert answers == [(200, "waiting")] * 5
