"""Migration 0030 in a real database: vendor models exist, speak known codecs, set liveness."""

from __future__ import annotations

from datetime import timedelta

import psycopg
from psycopg.rows import DictRow

from core.codecs.registry import default_registry
from core.factory import create_device

NEW_MODELS = {
    "heiman-hs1sa": ("zigbee2mqtt", timedelta(minutes=1034)),
    "aqara-jy-gz-01aq": ("zigbee2mqtt", timedelta(minutes=60)),
    "milesight-gs524n": ("chirpstack", timedelta(hours=24)),
    "netvox-ra02a": ("chirpstack", timedelta(hours=24)),
    "nbiot-ctwing-smoke": ("ctwing", timedelta(hours=24)),
    "nbiot-onenet-smoke": ("onenet", timedelta(hours=24)),
}


def test_migration_inserts_vendor_models(db: psycopg.Connection[DictRow]) -> None:
    rows = db.execute("SELECT code, codec, heartbeat_period FROM device_models").fetchall()
    models = {r["code"]: (r["codec"], r["heartbeat_period"]) for r in rows}
    for code, expected in NEW_MODELS.items():
        assert models[code] == expected
    names = set(default_registry().names()) | {"native"}
    assert {codec for codec, _ in models.values()} <= names


def test_registered_vendor_device_gets_liveness_from_model(
    db: psycopg.Connection[DictRow],
) -> None:
    create_device(db, device_id="NZ-Z0001", model_code="heiman-hs1sa")
    db.execute(
        "INSERT INTO device_identities (codec, external_id, device_id) "
        "VALUES ('zigbee2mqtt', '0x00158d0003467624', 'NZ-Z0001')"
    )
    row = db.execute("SELECT liveness FROM device_state WHERE device_id = 'NZ-Z0001'").fetchone()
    assert row is not None
    assert row["liveness"] == timedelta(minutes=1034) * 2 + timedelta(minutes=10)
