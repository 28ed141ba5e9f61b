"""Commissioning a Tuya TS0601 smoke detector by its self-test (issue 17): zigbee2mqtt publishes
``self_test: true`` when the button is held (zigbee-herdsman-converters src/lib/tuya.ts,
tuya.exposes.selfTest); the codec makes it a ``test`` event, which commissioning waits for."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi.testclient import TestClient

from core.codecs.registry import default_registry
from ingest.decode import Decode
from ingest.received import Received
from ingest.store import Store
from ingest.writer import commit
from tests.support import wait_until
from tests.support.api import ApiWorld

NAME = "0xa4c138aabbccddee"


def state(**props: Any) -> Received:
    return Received(
        mid=0,
        generation=0,
        qos=0,
        topic=f"zigbee2mqtt/{NAME}",
        payload=orjson.dumps({"smoke": False, "battery": 90, "linkquality": 102, **props}),
        received_at=datetime.now(UTC),
        received_mono=time.monotonic(),
        retained=False,
    )


def test_commissioning_passes_on_tuya_self_test(api_client: TestClient, api: ApiWorld) -> None:
    headers = api.headers("installer")
    tree = api.tree()
    site = api_client.post(
        "/api/v1/sites",
        json={"org_id": tree.village.id, "kind": "household", "category": "elderly_alone",
              "name": "李桂兰家", "address": "西村1组3号", "resident_name": "李桂兰"},
        headers=headers,
    ).json()  # fmt: skip
    created = api_client.post(
        "/api/v1/devices",
        json={"id": "NZ-TY100", "model_code": "tuya-ts0601-smoke",
              "identities": [{"codec": "zigbee2mqtt", "external_id": NAME.upper()[2:]}]},
        headers=headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    bound = api_client.put(
        "/api/v1/devices/NZ-TY100/binding",
        json={"site_id": site["id"], "room": "厨房"},
        headers=headers,
    )
    assert bound.status_code == 200, bound.text
    session = api_client.post(
        "/api/v1/devices/NZ-TY100/commissioning", json={"timeout_s": 60}, headers=headers
    ).json()

    store, decode = Store(api.settings.database_url), Decode(registry=default_registry())
    try:
        commit(store, decode, [state(self_test=False)])
        commit(store, decode, [state(self_test=True)])
    finally:
        store.close()

    def done() -> dict[str, Any] | None:
        body: dict[str, Any] = api_client.get(
            f"/api/v1/devices/NZ-TY100/commissioning/{session['id']}", headers=headers
        ).json()
        return body if body["state"] != "waiting" else None

    report = wait_until(done, timeout=30, interval=0.2)
    assert report["state"] == "passed", report
    assert {c["name"]: c["ok"] for c in report["checks"]}["event_received"] is True
