"""API read latency at city scale: device status, village summary, dashboard, a day of readings.

Generates (once, kept in ``--workdir``) a city of ``--devices`` detectors with ``--readings``
hourly readings on a private PostgreSQL, runs the real API under uvicorn on loopback and drives
it with a few concurrent httpx clients, printing p50/p95/p99 per request kind.

    python -m bench.api_queries --devices 10000 --readings 500000        # small, minutes
    python -m bench.api_queries                                         # 1,000,000 / 50,000,000
    python -m bench.api_queries --skip-generate                          # measure again

Set SMOKEWATCH_BENCH_ADMIN_URL to use a PostgreSQL you run instead of a private one.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.api_data import Shape, generate
from core.migrate import migrate

log = logging.getLogger("bench.api_queries")
DATABASE = "smokewatch_api_bench"
SERVER_SETTINGS = {
    "shared_buffers": "2GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "1GB",
    "max_wal_size": "16GB",
    "checkpoint_timeout": "30min",
    "effective_cache_size": "8GB",
    "random_page_cost": "1.1",
}


@contextmanager
def bench_database(workdir: Path) -> Iterator[tuple[str, bool]]:
    """Yield (database URL, created now); the private server's data stays in ``workdir``."""
    admin = os.environ.get("SMOKEWATCH_BENCH_ADMIN_URL")
    if admin:
        yield _ensure_database(admin, admin.rsplit("/", 1)[0] + f"/{DATABASE}")
        return
    from devtools.localservers import LocalPostgres

    with LocalPostgres(workdir / "pg", fsync=False, settings=SERVER_SETTINGS) as pg:
        yield _ensure_database(pg.admin_url, pg.url_for(DATABASE))


def _ensure_database(admin_url: str, url: str) -> tuple[str, bool]:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
        ).fetchone()
        if not exists:
            conn.execute(f"CREATE DATABASE {DATABASE}")
    return url, not exists


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99 and the mean of ``samples`` (milliseconds)."""
    ordered = sorted(samples)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "n": len(ordered),
        "p50": cuts[49],
        "p95": cuts[94],
        "p99": cuts[98],
        "mean": statistics.fmean(ordered),
    }


@contextmanager
def running_api(url: str, workdir: Path, environment: dict[str, str]) -> Iterator[str]:
    """Run ``smokewatch api`` (uvicorn) on a free loopback port; yield its base URL."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMOKEWATCH_")}
    env.update({"SMOKEWATCH_DATABASE_URL": url, "SMOKEWATCH_ENVIRONMENT": "development"})
    env.update(environment)
    logfile = (workdir / "api.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "smokewatch", "api", "--port", str(port)],
        env=env,
        stdout=logfile,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start; see {workdir / 'api.log'}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        logfile.close()


async def measure(
    base: str, headers: dict[str, str], paths: list[str], *, clients: int
) -> list[float]:
    """Request every path once, ``clients`` at a time; return each latency in ms."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for path in paths:
        queue.put_nowait(path)
    samples: list[float] = []
    failures: list[str] = []

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            while not queue.empty():
                path = queue.get_nowait()
                started = time.perf_counter()
                answer = await http.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200:
                    failures.append(f"{path}: {answer.status_code} {answer.text[:200]}")

    await asyncio.gather(*(client() for _ in range(clients)))
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, first: {failures[0]}")
    return samples


def request_plan(url: str, shape: Shape, requests: int) -> dict[str, list[str]]:
    """Random paths per measured request kind (ids drawn from the generated data)."""
    rng = random.Random(4)
    with psycopg.connect(url) as conn:
        sub_districts = [
            r[0] for r in conn.execute("SELECT id FROM organisations WHERE level = 'sub_district'")
        ]
        districts = [
            r[0] for r in conn.execute("SELECT id FROM organisations WHERE level = 'district'")
        ]

    def device() -> str:
        return "D" + str(rng.randint(1, shape.devices)).zfill(8)

    return {
        "device status": [f"/api/v1/devices/{device()}/status" for _ in range(requests)],
        "village summary (one sub-district)": [
            f"/api/v1/summary/villages?org_id={rng.choice(sub_districts)}" for _ in range(requests)
        ],
        "village summary (whole city)": ["/api/v1/summary/villages"] * (requests // 4),
        "dashboard (whole city)": ["/api/v1/summary/dashboard"] * requests,
        "dashboard (one district)": [
            f"/api/v1/summary/dashboard?org_id={rng.choice(districts)}" for _ in range(requests)
        ],
        "device readings, last 24 h": [
            f"/api/v1/devices/{device()}/readings" for _ in range(requests)
        ],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1_000_000)
    parser.add_argument("--readings", type=int, default=50_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("bench/results/api"))
    parser.add_argument("--skip-generate", action="store_true", help="reuse the kept data set")
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument("--requests", type=int, default=2000, help="requests per kind")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument(
        "--db-only",
        action="store_true",
        help="also time the same service calls straight on the database",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    shape = Shape(args.devices, args.readings)
    args.workdir.mkdir(parents=True, exist_ok=True)

    with bench_database(args.workdir.resolve()) as (url, created):
        if created or not args.skip_generate:
            if not created:
                raise SystemExit(
                    f"{DATABASE} already exists in {args.workdir}; pass --skip-generate"
                )
            migrate(url)
            started = time.monotonic()
            generate(url, shape)
            log.info("generated %s in %.0f s", shape, time.monotonic() - started)
        else:
            migrate(url)  # migrations added since the data set was generated
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("VACUUM (ANALYZE) incidents")  # as autovacuum would after a backfill
        refresh_health(url)
        if args.generate_only:
            return
        from bench.api_auth import api_environment, bench_credentials

        headers = bench_credentials(url)
        plan = request_plan(url, shape, args.requests)
        print(f"load average before: {os.getloadavg()[0]:.1f}")
        if args.db_only:
            for kind, samples in database_times(url, plan).items():
                figures = percentiles(samples)
                print(
                    f"db only: {kind:30s} n={figures['n']:5d} p50={figures['p50']:6.1f} ms "
                    f"p95={figures['p95']:6.1f} ms p99={figures['p99']:6.1f} ms"
                )
        with running_api(url, args.workdir, api_environment()) as base:
            print(
                f"{shape.devices:,} devices, {count_readings(url):,} readings, "
                f"{args.clients} clients, {args.requests} requests per kind"
            )
            for kind, paths in plan.items():
                asyncio.run(measure(base, headers, paths[:50], clients=args.clients))  # warm up
                figures = percentiles(
                    asyncio.run(measure(base, headers, paths, clients=args.clients))
                )
                print(
                    f"{kind:38s} n={figures['n']:5d} p50={figures['p50']:6.1f} ms "
                    f"p95={figures['p95']:6.1f} ms p99={figures['p99']:6.1f} ms"
                )
        print(f"load average after: {os.getloadavg()[0]:.1f}")


def database_times(url: str, plan: dict[str, list[str]]) -> dict[str, list[float]]:
    """The service function behind each request kind, timed on one direct connection (ms)."""
    from urllib.parse import parse_qs, urlsplit

    from api.readings import service as readings
    from api.summary import service as summary

    def call(conn: psycopg.Connection[Any], path: str) -> None:
        parts = urlsplit(path)
        org = parse_qs(parts.query).get("org_id", [None])[0]
        org_id = int(org) if org else None
        segments = parts.path.split("/")
        if parts.path.endswith("/status"):
            readings.device_status(conn, scope=["%"], device_id=segments[-2])
        elif parts.path.endswith("/readings"):
            readings.device_readings(conn, scope=["%"], device_id=segments[-2])
        elif parts.path.endswith("/villages"):
            summary.villages(conn, scope=["%"], org_id=org_id)
        else:
            summary.dashboard(conn, scope=["%"], org_id=org_id)

    times: dict[str, list[float]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for kind, paths in plan.items():
            for path in paths[:20]:
                call(conn, path)
            times[kind] = []
            for path in paths:
                started = time.perf_counter()
                call(conn, path)
                times[kind].append((time.perf_counter() - started) * 1000)
    return times


def refresh_health(url: str) -> None:
    """Recompute village_health as the alerting watchdog does every minute."""
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute(
            "SELECT 1 FROM pg_proc WHERE proname = 'sw_refresh_village_health'"
        ).fetchone():
            log.warning("no sw_refresh_village_health() in this schema (migration 0035 missing)")
            return
        started = time.monotonic()
        conn.execute("SELECT sw_refresh_village_health()")
        log.info("sw_refresh_village_health() in %.1f s", time.monotonic() - started)


def count_readings(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE relname = 'readings'"
        ).fetchone()
    return int(row[0]) if row else 0


if __name__ == "__main__":
    main()
