"""Short form of the reliability suite: faults under load with a fire alarm during and after.

The long form (every fault, bigger load, the soak) is ``python -m bench.reliability --long``.
Faults already proven elsewhere (ingest SIGKILL, PostgreSQL restart: test_ingest_faults;
alerting SIGKILL mid-wave: test_alerting_workers) run only in the long form.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.reliability.harness import Servers
from bench.reliability.scenarios import Rig, faults, run
from devtools.localservers import LocalMosquitto, LocalPostgres

SHORT = [
    "postgres_connection_limit",
    "statement_timeout_lock",
    "network_cut_database",
    "network_cut_broker",
    "database_disk_full",
    "provider_hang",
    "provider_500",
    "provider_err",  # echoes the phone number in the URL: the log-leak check must not find it
]


@pytest.mark.parametrize("name", SHORT)
def test_fault_under_load_loses_nothing_and_pages_every_fire(
    name: str,
    database_url: str,
    pg_server: LocalPostgres,
    mqtt_broker: LocalMosquitto,
    tmp_path: Path,
) -> None:
    if name == "database_disk_full" and os.geteuid() != 0:
        pytest.skip("a size-limited tmpfs tablespace needs root to mount")
    rig = Rig(Servers(pg_server, mqtt_broker, database_url, tmp_path), devices=40, rate=400)
    try:
        result = run(rig, faults()[name], load_s=4.0, hold_s=2.0)
    finally:
        rig.close()
    print(result.row())
    assert result.accepted > 0
    assert result.lost == 0, "a message the broker accepted is missing from the store"
    assert result.fires_answered == result.fires, f"unanswered fire: {result.alert_delay_s}"
    assert result.leaks == [], "secrets or personal data in the services' logs"
    assert result.dead_letters == 0, "a fault must never turn good messages into dead letters"
    assert result.duplicate_pages <= len(result.alert_delay_s) * 3, "at most one repeat per person"
