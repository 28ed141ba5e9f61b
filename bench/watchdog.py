"""The offline watchdog at city scale: 1,000,000 registered devices heartbeating.

    python -m bench.watchdog                          # private PostgreSQL, 1,000,000 devices
    python -m bench.watchdog --devices 100000 --seconds 120 --dead 1000

Set-up (not measured): a city > 10 districts > 100 sub-districts > 1,000 villages, 200,000
sites, --devices detectors registered with generate_series (70 % on a 1 h heartbeat model,
30 % on a 24 h NB-IoT model, half of them behind gateways of 50), and their state rows driven
directly: every device was last heard one period before its next scheduled heartbeat.

Steady state (measured for --seconds): this process plays ingest. Every second it UPDATEs the
state rows of the devices whose heartbeat is due (about 200 a second at 1,000,000) as ingest's
state update does, and writes ingest's heartbeat row. --dead devices (24 h model, spread over
the villages) are never heard again and their deadlines fall evenly over the measured window,
and so do those of a gateway of 60 devices that dies. The watchdog runs as a separate process
(the alerting service's HealthRunner: sweeps every 5 s, village_health every 60 s, maintenance
jobs) so its CPU time and RSS are its own, read from /proc.

Reported: watchdog CPU seconds per minute of steady state (after a warm-up), its peak RSS,
flag delay (offline_flagged_at - offline_deadline) p50/p99/max of the dead devices, how many
were flagged and reported, the gateway outage, and the time of one sw_refresh_village_health()
and one claim_due plan at this size. Results in bench/results/watchdog.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from bench.servers import private_servers
from core.migrate import migrate

RESULTS = Path(__file__).parent / "results"
FAST_MODEL, FAST_PERIOD = "sw-native-1", 3600
SLOW_MODEL, SLOW_PERIOD = "nbiot-ctwing-smoke", 86400
GATEWAY_SIZE = 50
DEAD_GATEWAY = 60


def _now() -> datetime:
    return datetime.now(UTC)


def build(
    conn: psycopg.Connection[Any], devices: int, dead: int, start: datetime, window: float
) -> dict[str, int]:
    """Register the city and drive every state row; return the group sizes."""
    fast = int(devices * 0.7)
    slow = devices - fast
    conn.execute("INSERT INTO organisations (level, code, name) VALUES ('city', 'c', 'city')")
    for level, parent, count in (
        ("district", "city", 10),
        ("sub_district", "district", 10),
        ("village", "sub_district", 10),
    ):
        conn.execute(
            "INSERT INTO organisations (parent_id, level, code, name)"
            " SELECT p.id, %(level)s, %(level)s || '-' || p.id || '-' || g, %(level)s || g"
            " FROM organisations p, generate_series(1, %(n)s) g WHERE p.level = %(parent)s",
            {"level": level, "parent": parent, "n": count},
        )
    conn.execute(
        "INSERT INTO sites (org_id, kind, category, name, address)"
        " SELECT v.id, 'household', 'elderly_alone', 'h' || g, 'addr ' || v.id || '-' || g"
        " FROM organisations v, generate_series(1, 200) g WHERE v.level = 'village'"
    )
    bounds = conn.execute("SELECT min(id), max(id) FROM sites").fetchone()
    assert bounds is not None
    first_site, sites = bounds[0], bounds[1] - bounds[0] + 1
    # F: 1 h model, S: 24 h model; every other device behind a gateway of 50.
    for prefix, model, count in (("F", FAST_MODEL, fast), ("S", SLOW_MODEL, slow)):
        conn.execute(
            "INSERT INTO devices (id, model_code, site_id, room, status, installed_at, gateway_id)"
            " SELECT %(p)s || lpad(g::text, 7, '0'), %(m)s, %(s0)s + (g %% %(sites)s), 'room',"
            "        'in_service', now() - interval '2 years',"
            "        CASE WHEN g %% 2 = 0 THEN %(p)s || 'gw' || (g / (2 * %(gw)s)) END"
            " FROM generate_series(0, %(n)s - 1) g",
            {
                "p": prefix,
                "m": model,
                "s0": first_site,
                "sites": sites,
                "n": count,
                "gw": GATEWAY_SIZE,
            },
        )
        print(f"  registered {count} {model} devices", flush=True)
    # Heartbeat phases: device g of a model speaks at start + (g / count) * period, then every
    # period; so it was last heard one period before that.
    for prefix, count, period in (("F", fast, FAST_PERIOD), ("S", slow, SLOW_PERIOD)):
        conn.execute(
            "WITH p AS (SELECT device_id, %(start)s - make_interval(secs => %(period)s"
            "           * (1 - (substr(device_id, 2)::int)::float8 / %(n)s)) AS heard"
            "           FROM device_state WHERE device_id LIKE %(like)s)"
            " UPDATE device_state ds SET online = true, last_seen = p.heard,"
            "        offline_deadline = p.heard + ds.liveness"
            " FROM p WHERE p.device_id = ds.device_id",
            {"start": start, "period": period, "n": count, "like": prefix + "%"},
        )
        print(f"  drove {count} state rows", flush=True)
    # X: devices that die; deadlines over the window (set again once set-up is done).
    conn.execute(
        "INSERT INTO devices (id, model_code, site_id, room, status)"
        " SELECT 'X' || lpad(g::text, 7, '0'), %(m)s, %(s0)s + ((g * 7919) %% %(sites)s),"
        "        'room', 'in_service'"
        " FROM generate_series(0, %(n)s - 1) g",
        {"m": SLOW_MODEL, "s0": first_site, "sites": sites, "n": dead},
    )
    _deadlines(conn, "X", start, window, dead)
    # Y: a gateway of 60 that dies; their deadlines too fall over the window.
    conn.execute(
        "INSERT INTO devices (id, model_code, site_id, room, status, gateway_id)"
        " SELECT 'Y' || lpad(g::text, 7, '0'), %(m)s, %(s0)s + g, 'room', 'in_service',"
        "        'gw-dead'"
        " FROM generate_series(0, %(n)s - 1) g",
        {"m": FAST_MODEL, "s0": first_site, "n": DEAD_GATEWAY},
    )
    _deadlines(conn, "Y", start, window, DEAD_GATEWAY)
    conn.execute("VACUUM ANALYZE devices")
    conn.execute("VACUUM ANALYZE device_state")
    conn.execute("VACUUM ANALYZE sites")
    conn.execute("VACUUM ANALYZE organisations")
    return {"fast": fast, "slow": slow}


def _deadlines(
    conn: psycopg.Connection[Any], prefix: str, start: datetime, window: float, n: int
) -> None:
    """Deadlines of devices ``prefix``0..n-1 evenly over [start + 30 s, start + window - 30 s]."""
    conn.execute(
        "WITH d AS (SELECT device_id, %(start)s + make_interval(secs => 30 + %(span)s"
        "           * (substr(device_id, 2)::int)::float8 / %(n)s) AS deadline"
        "           FROM device_state WHERE device_id LIKE %(like)s)"
        " UPDATE device_state ds SET online = true, offline_deadline = d.deadline,"
        "        last_seen = d.deadline - ds.liveness"
        " FROM d WHERE d.device_id = ds.device_id",
        {"start": start, "span": window - 60, "n": n, "like": prefix + "%"},
    )


def heartbeats(
    url: str,
    counts: dict[str, int],
    start: datetime,
    *,
    stop: threading.Event,
    stats: dict[str, Any],
    ready: threading.Event,
) -> None:
    """Play ingest: every second, the due heartbeats as one UPDATE per model, and a beat."""
    sql = (
        "UPDATE device_state SET last_seen = GREATEST(last_seen, %(at)s),"
        " offline_deadline = GREATEST(last_seen, %(at)s) + liveness, online = true,"
        " updated_at = clock_timestamp()"
        " WHERE device_id = ANY(%(ids)s)"
    )
    done = {"F": 0, "S": 0}
    updated = 0
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.is_set():
            now = _now()
            elapsed = (now - start).total_seconds()
            for prefix, period in (("F", FAST_PERIOD), ("S", SLOW_PERIOD)):
                n = counts["fast" if prefix == "F" else "slow"]
                due = min(n, int(elapsed / period * n) + 1)
                ids = [f"{prefix}{g:07d}" for g in range(done[prefix], due)]
                if ids:
                    conn.execute(sql, {"at": now, "ids": ids})
                    updated += len(ids)
                done[prefix] = due
            conn.execute(
                "INSERT INTO service_heartbeats"
                " (service, instance, started_at, beat_at, last_message_at)"
                " VALUES ('ingest', 'bench', %(at)s, %(at)s, %(at)s)"
                " ON CONFLICT (service, instance) DO UPDATE SET beat_at = EXCLUDED.beat_at,"
                " last_message_at = EXCLUDED.last_message_at",
                {"at": now},
            )
            ready.set()
            stop.wait(max(0.0, 1.0 - (_now() - now).total_seconds()))
    stats["heartbeats"] = updated


def _proc(pid: int) -> tuple[float, int]:
    """(CPU seconds, RSS bytes) of a process from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    return cpu, rss


def run_watchdog(url: str, seconds: float) -> None:
    """The measured process: the alerting service's watchdog thread, alone."""
    from alerting.health_runner import HealthRunner
    from alerting.settings import AlertingSettings

    settings = AlertingSettings(database_url=url, alerting_metrics_port=0)
    stop = threading.Event()
    runner = HealthRunner(settings, _now, stop)
    runner.start()
    stop.wait(seconds)
    stop.set()
    runner.join(timeout=60)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    start = _now()
    t0 = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        counts = build(conn, args.devices, args.dead, start, args.seconds)
        setup_s = time.monotonic() - t0
        print(f"set-up {setup_s:.0f} s", flush=True)
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN SELECT device_id FROM device_state"
                " WHERE online AND offline_deadline <= now()"
                " ORDER BY offline_deadline LIMIT 500 FOR UPDATE SKIP LOCKED"
            )
        )
        refreshes = []
        for _ in range(3):  # the first one reads a cold cache right after set-up
            t = time.monotonic()
            conn.execute("SELECT sw_refresh_village_health()")
            refreshes.append(round(time.monotonic() - t, 2))
    print(f"claim plan:\n{plan}\nvillage_health refresh {refreshes} s", flush=True)

    # The healthy devices keep their schedule: the driver's first round catches up on what
    # set-up took, before the measured window. Then the dying devices' deadlines start.
    stop = threading.Event()
    ready = threading.Event()
    stats: dict[str, Any] = {}
    driver = threading.Thread(
        target=heartbeats,
        args=(url, counts, start),
        kwargs={"stop": stop, "stats": stats, "ready": ready},
    )
    driver.start()
    ready.wait(600)
    with psycopg.connect(url, autocommit=True) as conn:
        window_start = _now() + timedelta(seconds=2)
        _deadlines(conn, "X", window_start, args.seconds, args.dead)
        _deadlines(conn, "Y", window_start, args.seconds, DEAD_GATEWAY)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.watchdog",
            "--role",
            "watchdog",
            "--url",
            url,
            "--seconds",
            str(args.seconds),
        ],
        env={k: v for k, v in os.environ.items() if not k.startswith("SMOKEWATCH_")}
        | {"SMOKEWATCH_LOG_LEVEL": "WARNING"},
    )
    warm = min(20.0, args.seconds / 4)
    time.sleep(warm)
    cpu0, _ = _proc(proc.pid)
    w0 = time.monotonic()
    peak = 0
    cpu1, w1 = cpu0, w0
    while proc.poll() is None:
        try:
            cpu1, rss = _proc(proc.pid)
        except (FileNotFoundError, ProcessLookupError, IndexError):
            break
        w1 = time.monotonic()
        peak = max(peak, rss)
        time.sleep(0.5)
    proc.wait(timeout=120)
    stop.set()
    driver.join()

    with psycopg.connect(url, autocommit=True) as conn:
        delays = [
            float(r[0])
            for r in conn.execute(
                "SELECT extract(epoch FROM offline_flagged_at - offline_deadline) FROM device_state"
                " WHERE device_id LIKE 'X%%' AND offline_flagged_at IS NOT NULL"
            )
        ]
        due = conn.execute(
            "SELECT count(*) FROM device_state"
            " WHERE device_id LIKE 'X%%' AND offline_deadline <= %s",
            (_now() - timedelta(seconds=5),),
        ).fetchone()
        reported = conn.execute(
            "SELECT count(*), count(DISTINCT device_id) FROM events WHERE type = 'offline'"
        ).fetchone()
        outages = conn.execute("SELECT scope, scope_key, device_count FROM outages").fetchall()
        wrongly = conn.execute(
            "SELECT count(*) FROM device_state WHERE offline_flagged_at IS NOT NULL"
            " AND device_id NOT LIKE 'X%%' AND device_id NOT LIKE 'Y%%'"
        ).fetchone()
    assert due and reported and wrongly
    cpu_per_min = (cpu1 - cpu0) / max(1e-9, w1 - w0) * 60
    return {
        "when": _now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}",
        "devices": args.devices + args.dead + DEAD_GATEWAY,
        "steady_seconds": round(w1 - w0, 1),
        "heartbeat_updates": stats.get("heartbeats", 0),
        "setup_s": round(setup_s, 1),
        "village_health_refresh_s": refreshes,
        "claim_plan": plan,
        "watchdog_cpu_s_per_min": round(cpu_per_min, 3),
        "watchdog_cpu_pct_of_core": round(cpu_per_min / 60 * 100, 2),
        "watchdog_peak_rss_mb": round(peak / 2**20, 1),
        "dead_due": due[0],
        "dead_flagged": len(delays),
        "offline_events": reported[0],
        "offline_events_distinct": reported[1],
        "healthy_flagged": wrongly[0],
        "flag_delay_s": {
            "p50": round(_pct(delays, 0.5), 2),
            "p99": round(_pct(delays, 0.99), 2),
            "max": round(max(delays), 2) if delays else None,
        },
        "outages": [list(o) for o in outages],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--dead", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--role", choices=["bench", "watchdog"], default="bench")
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    if args.role == "watchdog":
        run_watchdog(args.url, args.seconds)
        return
    with (
        tempfile.TemporaryDirectory(prefix="swbench-watchdog-") as tmp,
        private_servers(Path(tmp)) as (url, _mqtt),
    ):
        migrate(url)
        result = measure(url, args)
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "watchdog.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
