"""The soak: telemetry at half the ingest's capacity for N minutes, a different fault each minute.

Memory (VmRSS) and open file descriptors of each service and the database's sessions
(pg_stat_activity) are sampled every 5 s; the first and last minute are compared. Messages are
counted, not keyed (millions of keys would not fit): the natural key makes a duplicate row
impossible, so stored >= accepted means every accepted message is in the store.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlsplit

import orjson

from bench.reliability.harness import WAVE1, Load, Servers, proc_stats, scalar, wait_for
from bench.reliability.scenarios import Rig, faults

CYCLE = (
    "ingest_sigkill",
    "postgres_restart",
    "alerting_sigkill",
    "mosquitto_restart",
    "network_cut_database",
    "postgres_connection_limit",
    "network_cut_broker",
    "statement_timeout_lock",
    "provider_500",
    "provider_hang",
)


def soak(servers: Servers, *, minutes: int, rate: float, hold_s: float = 6.0) -> dict[str, Any]:
    """Run the soak; return its figures."""
    fires = tuple(f"m{i}" for i in range(minutes))
    rig = Rig(servers, devices=10_000, rate=rate, fires=fires)
    samples: list[dict[str, Any]] = []
    stop = threading.Event()
    dbname = urlsplit(servers.database_url).path.lstrip("/")

    def sample() -> None:
        start = time.monotonic()
        while not stop.wait(5.0):
            row: dict[str, Any] = {"t": round(time.monotonic() - start, 1)}
            for service in (rig.ingest, rig.alerting):
                rss, fds = proc_stats(service.pid)
                row[f"{service.command}_rss_kb"], row[f"{service.command}_fds"] = rss, fds
            try:
                row["pg_sessions"] = scalar(
                    servers.pg.admin_url,
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                    (dbname,),
                )
            except Exception:
                row["pg_sessions"] = None
            samples.append(row)

    published_at: dict[str, float] = {}
    applied: list[str] = []
    rig.start()
    load = Load("127.0.0.1", servers.broker.port, rig.prefix, rig.device_ids, track_keys=False)
    threading.Thread(target=sample, daemon=True).start()
    began = time.monotonic()
    load.run(rate, int(rate * minutes * 60))
    try:
        for minute in range(minutes):
            wait_until = began + minute * 60 + 20
            time.sleep(max(0.0, wait_until - time.monotonic()))
            fault = faults()[CYCLE[minute % len(CYCLE)]]
            applied.append(fault.name)
            fault.begin(rig)
            try:
                time.sleep(hold_s / 2)
                device = rig.fire_devices[f"m{minute}"]
                published_at[f"m{minute}"] = time.monotonic()
                load.publish(
                    f"{rig.prefix}/{device}/event", orjson.dumps({"type": "alarm", "seq": 1})
                )
                time.sleep(hold_s / 2)
            finally:
                fault.end(rig)
                fault.cleanup(rig)
        time.sleep(max(0.0, began + minutes * 60 - time.monotonic()))
        load.stop()
        publish_s = time.monotonic() - began
        target = load.accepted_count
        drained = wait_for(lambda: rig.stored() >= target, timeout=600, interval=1.0)
        for fire in fires:
            people = [f"{fire}-{role}" for role in WAVE1]
            wait_for(lambda p=people: all(rig.receiver.delivered(w) for w in p), 60)  # type: ignore[misc]
        stored = rig.stored()
    finally:
        stop.set()
        rig.close()
    delays = {}
    duplicates = 0
    for fire in fires:
        pages = [rig.receiver.delivered(f"{fire}-{role}") for role in WAVE1]
        first = min((h.at for hits in pages for h in hits), default=None)
        delays[fire] = None if first is None else round(first - published_at[fire], 2)
        duplicates += sum(max(0, len(hits) - 1) for hits in pages)
    return {
        "minutes": minutes,
        "rate_target": rate,
        "published": load.published,
        "accepted": load.accepted_count,
        "achieved_rate": round(load.published / publish_s),
        "stored": stored,
        "lost": max(0, load.accepted_count - stored),
        "drain_after_load_s": drained,
        "faults": applied,
        "fire_delay_s": delays,
        "fires_unanswered": sum(1 for d in delays.values() if d is None),
        "duplicate_pages": duplicates,
        "samples_first_minute": samples[:12],
        "samples_last_minute": samples[-12:],
    }
