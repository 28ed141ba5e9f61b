"""Storage on TimescaleDB and plain PostgreSQL: fallback, late data, conversion, maintenance.

Runs in both storage modes (the ``storage`` marker; scripts/test runs it on each); the tests
that need the other mode's server start their own from the same binaries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from threading import Event
from typing import Any

import orjson
import psycopg
import pytest
from prometheus_client import REGISTRY
from psycopg.rows import DictRow, dict_row

import core.migrate
from alerting.health_runner import HealthRunner
from core.errors import MigrationError
from core.migrate import Migration, available_migrations, migrate, storage_mode
from core.timescale import ConversionError, convert
from devtools.localservers import LocalPostgres, has_timescaledb
from tests.reference_schema import REFERENCES, describe_url, diff
from tests.support import Publisher, ingest_settings, register_devices, running_ingest, wait_until
from tests.support.alerting import alerting_settings

# The hourly aggregate, computed from the raw rows the way the plain view does.
DIRECT_HOURLY = """
SELECT device_id, date_bin(INTERVAL '1 hour', ts, TIMESTAMPTZ '2000-01-01') AS bucket,
       count(*) AS samples, max(smoke_obscuration) AS smoke_max,
       round(avg(temperature_c)::numeric, 6) AS temperature_avg,
       min(battery_pct) AS battery_pct_min, round(avg(signal_dbm)::numeric, 6) AS signal_avg
FROM readings GROUP BY 1, 2 ORDER BY 1, 2
"""
AGGREGATE_HOURLY = """
SELECT device_id, bucket, samples, smoke_max, round(temperature_avg::numeric, 6) AS temperature_avg,
       battery_pct_min, round(signal_avg, 6) AS signal_avg
FROM readings_hourly ORDER BY 1, 2
"""


def run_policy(conn: psycopg.Connection[Any], proc: str, relation: str | None = None) -> None:
    """Run a TimescaleDB policy job in the foreground, as its scheduler would."""
    row = conn.execute(
        "SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = %s "
        "AND (%s::text IS NULL OR hypertable_name = %s)",
        (proc, relation, relation),
    ).fetchone()
    assert row is not None, f"no {proc} job for {relation}"
    conn.execute("CALL run_job(%s)", (row[0] if not isinstance(row, dict) else row["job_id"],))


def cagg_hypertable(conn: psycopg.Connection[Any]) -> str:
    row = conn.execute(
        "SELECT materialization_hypertable_name FROM timescaledb_information.continuous_aggregates"
        " WHERE view_name = 'readings_hourly'"
    ).fetchone()
    assert row is not None
    return str(row[0] if not isinstance(row, dict) else row["materialization_hypertable_name"])


# -- issue 16.1: the fallback decides before CREATE EXTENSION --------------------------------


def test_migrate_takes_plain_postgresql_when_timescaledb_is_not_preloaded(
    pg_server: LocalPostgres, empty_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    if pg_server.timescaledb or not has_timescaledb(pg_server.bindir):
        pytest.skip("needs a server that has TimescaleDB but does not preload it (plain run)")
    caplog.set_level(logging.INFO, logger="core.migrate")

    migrate(empty_database_url)

    with psycopg.connect(empty_database_url, row_factory=dict_row) as conn:
        mode = storage_mode(conn)
        assert conn.execute("SELECT sw_timescale_enabled() AS on").fetchone() == {"on": False}
    assert mode.name == "plain"
    assert "not in shared_preload_libraries" in mode.reason
    assert "not in shared_preload_libraries" in caplog.text  # logged, with the reason


def test_migrate_reports_the_real_error_of_a_migration_that_kills_its_connection(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What CREATE EXTENSION did on a server without the preload: FATAL, connection gone.
    fatal = Migration(9998, "fatal", "SELECT pg_terminate_backend(pg_backend_pid());\n")
    shipped = available_migrations()
    monkeypatch.setattr(core.migrate, "available_migrations", lambda: [*shipped, fatal])

    with pytest.raises(MigrationError, match=r"9998_fatal failed: .*terminating connection"):
        migrate(database_url)


def test_migrate_accepts_the_superseded_checksum_of_0001(database_url: str) -> None:
    old = next(iter(core.migrate._SUPERSEDED[1]))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = %s WHERE version = 1", (old,))

    assert migrate(database_url) == []


# -- issue 16.4: the hourly aggregate is complete, late data included -------------------------


def test_hourly_aggregate_keeps_late_readings_and_the_current_hour(
    database_url: str, mqtt_broker: Any, topic_prefix: str, storage_mode: str
) -> None:
    devices = ["NZ-LATE1", "NZ-LATE2"]
    register_devices(database_url, devices)
    now = datetime.now(UTC)
    # On time, then (after a refresh) late: 2 days, 200 days and 399 days old, and the hour now.
    first = [now - timedelta(hours=h, minutes=m) for h in (3, 30, 80) for m in (5, 35)]
    late = [now - timedelta(days=d, minutes=m) for d in (2, 200, 399) for m in (1, 20)] + [
        now - timedelta(minutes=1),
        first[0] + timedelta(minutes=2),  # into a bucket that was already materialized
    ]
    settings = ingest_settings(database_url, mqtt_broker.url, topic_prefix)

    def publish(times: list[datetime], seq0: int) -> None:
        with Publisher(mqtt_broker.url) as pub:
            for n, ts in enumerate(times):
                for i, device in enumerate(devices):
                    body = {
                        "ts": ts.isoformat(),
                        "seq": seq0 + n,
                        "smoke_obscuration": 0.01 * n,
                        "temperature": 20 + n % 7 + i,
                        "battery": 90 - n,
                        "signal": -70 - n,
                    }
                    pub.publish(f"{topic_prefix}/{device}/telemetry", orjson.dumps(body))

    with (
        running_ingest(settings),
        psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn,
    ):
        publish(first, 0)
        wait_until(lambda: _rows(conn) == len(first) * len(devices))
        if storage_mode == "timescaledb":
            run_policy(conn, "policy_refresh_continuous_aggregate")
        publish(late, 100)
        wait_until(lambda: _rows(conn) == (len(first) + len(late)) * len(devices))
        if storage_mode == "timescaledb":
            run_policy(conn, "policy_refresh_continuous_aggregate")
            # Late buckets lie below the watermark: they come from the materialization.
            mat = cagg_hypertable(conn)
            old = conn.execute(
                f"SELECT count(*) AS n FROM _timescaledb_internal.{mat} "
                "WHERE bucket < now() - INTERVAL '398 days'"
            ).fetchone()
            assert old is not None and old["n"] >= len(devices)
        direct = conn.execute(DIRECT_HOURLY).fetchall()
        aggregate = conn.execute(AGGREGATE_HOURLY).fetchall()
    assert aggregate == direct
    assert any(r["bucket"] > now - timedelta(hours=1) for r in aggregate)  # the current hour


def test_hourly_aggregate_has_no_hole_while_a_refresh_is_half_done(
    db: psycopg.Connection[DictRow], storage_mode: str
) -> None:
    if storage_mode != "timescaledb":
        pytest.skip("the plain view is computed at query time")
    db.execute(
        "INSERT INTO readings (device_id, ts, received_at, msg_key, temperature_c) "
        "SELECT 'NZ-B' || (n % 2), now() - make_interval(hours => n / 2), now(), n, n % 30 "
        "FROM generate_series(1, 2 * 24 * 100) n"
    )
    # One batch (30 days) of the 400-day window, as a run that failed half-way would leave it.
    db.execute(
        "SELECT alter_job(job_id, config => jsonb_set(config, '{max_batches_per_execution}', '1'))"
        " FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate'"
    )
    run_policy(db, "policy_refresh_continuous_aggregate")

    assert db.execute(AGGREGATE_HOURLY).fetchall() == db.execute(DIRECT_HOURLY).fetchall()


def _rows(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) AS n FROM readings").fetchone()
    return int(row["n"]) if row else 0


# -- issue 16.6: maintenance judged by its effects -------------------------------------------


def test_storage_health_reports_effects_in_both_modes(
    db: psycopg.Connection[DictRow], storage_mode: str
) -> None:
    db.execute(
        "INSERT INTO dead_letters (received_at, source, reason_code, reason, payload, "
        "payload_size) VALUES (now() - INTERVAL '200 days', 't', 'bad', 'bad', '\\x00', 1)"
    )
    db.execute(
        "INSERT INTO events (device_id, ts, received_at, msg_key, type, priority) "
        "VALUES ('NZ-H1', now() - INTERVAL '10 days', now(), 1, 'test', 3)"
    )

    rows = db.execute("SELECT metric, tbl, value FROM sw_storage_health()").fetchall()
    health = {(r["metric"], r["tbl"]): r["value"] for r in rows}

    assert health[("rows_past_retention", "dead_letters")] == 1
    assert health[("rows_past_retention", "readings")] == 0
    # A hypertable reports the start of its oldest chunk (events: 90-day chunks).
    slack = 90 * 86400 if storage_mode == "timescaledb" else 0.1 * 86400
    assert 9.9 * 86400 < health[("oldest_row_age_s", "events")] <= 10 * 86400 + slack
    if storage_mode == "plain":
        assert health[("aggregate_lag_s", "readings_hourly")] == 0
    db.execute("SELECT sw_apply_retention()")
    after = db.execute(
        "SELECT value FROM sw_storage_health() "
        "WHERE metric = 'rows_past_retention' AND tbl = 'dead_letters'"
    ).fetchone()
    assert after == {"value": 0}


def test_storage_health_sees_the_aggregate_and_compression_policies_work(
    db: psycopg.Connection[DictRow], storage_mode: str
) -> None:
    if storage_mode != "timescaledb":
        pytest.skip("TimescaleDB policies")
    db.execute(
        "INSERT INTO readings (device_id, ts, received_at, msg_key, temperature_c) "
        "SELECT 'NZ-C1', now() - make_interval(days => d), now(), d, 20 "
        "FROM generate_series(1, 120) d"
    )
    before = _health(db)
    assert before[("chunks_awaiting_compression", "readings")] >= 2
    assert before[("aggregate_lag_s", "readings_hourly")] > 86400

    run_policy(db, "policy_compression", "readings")
    run_policy(db, "policy_refresh_continuous_aggregate")

    after = _health(db)
    assert after[("chunks_awaiting_compression", "readings")] == 0
    assert after[("aggregate_lag_s", "readings_hourly")] < 3 * 3600
    assert db.execute("SELECT count(*) AS n FROM readings").fetchone() == {"n": 120}


def _health(db: psycopg.Connection[Any]) -> dict[tuple[str, str], float]:
    rows = db.execute("SELECT metric, tbl, value FROM sw_storage_health()").fetchall()
    return {(r["metric"], r["tbl"]): r["value"] for r in rows}


# -- issue 16.2: converting a database that was migrated on plain PostgreSQL ------------------


@pytest.fixture
def plain_then_timescale(pg_server: LocalPostgres, tmp_path: Path) -> Iterator[LocalPostgres]:
    """A server of the same binaries that starts without the preload and gets it later."""
    if not has_timescaledb(pg_server.bindir):
        pytest.skip(f"{pg_server.bindir} has no TimescaleDB")
    # Not under tmp_path's 0700 tree when we are root: see the servers_dir fixture.
    folder = pg_server.folder.parent / f"convert-{tmp_path.name}"
    with LocalPostgres(folder, fsync=False, bindir=pg_server.bindir, timescaledb=False) as server:
        yield server


class Interrupted(Exception):
    """Stands for a conversion killed half-way."""


def test_convert_turns_a_plain_database_into_the_timescale_layout(
    plain_then_timescale: LocalPostgres,
) -> None:
    server = plain_then_timescale
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE sw_convert")
    url = server.url_for("sw_convert")
    migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO readings (device_id, ts, received_at, msg_key, temperature_c) "
            "SELECT 'NZ-' || (n % 7), now() - make_interval(hours => n), now(), n, n % 30 "
            "FROM generate_series(1, 24 * 420) n"
        )
        conn.execute(
            "INSERT INTO events (device_id, ts, received_at, msg_key, type, priority) "
            "SELECT 'NZ-' || (n % 7), now() - make_interval(days => n), now(), n, 'test', 3 "
            "FROM generate_series(1, 1200) n"
        )
    with pytest.raises(ConversionError, match="not preloaded"):
        convert(url, report=lambda _line: None)

    server.timescaledb = True  # the operator adds the preload and restarts
    server.restart()
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("CREATE EXTENSION timescaledb")  # as the TimescaleDB image's init does
        assert storage_mode(conn).name == "plain, conversion pending"
        # Until converted, plain retention keeps running (old rows past 400 / 1100 days).
        deleted = conn.execute("SELECT sw_apply_retention() AS n").fetchone()
        assert deleted is not None and deleted["n"] > 20 * 24 + 99
        assert _health(conn)[("rows_past_retention", "readings")] == 0
        assert _health(conn)[("rows_past_retention", "events")] == 0
        readings = conn.execute("SELECT count(*) AS n FROM readings").fetchone()
        events = conn.execute("SELECT count(*) AS n FROM events").fetchone()
        max_event = conn.execute("SELECT max(id) AS id FROM events").fetchone()

    lines: list[str] = []

    def interrupt_after_three(line: str) -> None:
        lines.append(line)
        if sum(1 for seen in lines if seen.startswith("readings: copied")) == 3:
            with psycopg.connect(url, autocommit=True) as conn:  # ingest goes on meanwhile
                conn.execute(
                    "INSERT INTO readings (device_id, ts, received_at, msg_key) "
                    "VALUES ('NZ-NEW', now() - INTERVAL '399 days', now(), 1), "
                    "('NZ-NEW', now(), now(), 2)"
                )
            raise Interrupted

    with pytest.raises(Interrupted):
        convert(url, batch_rows=1000, report=interrupt_after_three)
    assert any("s per million rows" in line and "left" in line for line in lines)

    resumed: list[str] = []
    convert(url, batch_rows=1000, report=resumed.append)

    assert any(line.startswith("readings: resuming at") for line in resumed)
    assert resumed[-1].startswith("storage mode: timescaledb")
    reference = REFERENCES["timescaledb"]
    difference = diff(reference.read_text(encoding="utf-8"), describe_url(url), reference=reference)
    assert not difference, difference
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        assert conn.execute("SELECT count(*) AS n FROM readings").fetchone() == {
            "n": readings["n"] + 2  # type: ignore[index]
        }
        assert conn.execute("SELECT count(*) AS n FROM events").fetchone() == events
        new = conn.execute(
            "INSERT INTO events (device_id, ts, received_at, msg_key, type, priority) "
            "VALUES ('NZ-1', now(), now(), 1, 'test', 3) RETURNING id"
        ).fetchone()
        assert new["id"] > max_event["id"]  # type: ignore[index]
        jobs = conn.execute(
            "SELECT proc_name, hypertable_name FROM timescaledb_information.jobs "
            "WHERE hypertable_name IN ('readings', 'events') OR proc_name LIKE '%continuous%'"
        ).fetchall()
        assert sorted(
            (j["proc_name"], j["hypertable_name"])
            for j in jobs
            if j["proc_name"] != "policy_refresh_continuous_aggregate"
        ) == [
            ("policy_compression", "events"),
            ("policy_compression", "readings"),
            ("policy_retention", "events"),
            ("policy_retention", "readings"),
        ]
        assert len(jobs) == 5  # and the aggregate's refresh
        assert conn.execute(AGGREGATE_HOURLY).fetchall() == conn.execute(DIRECT_HOURLY).fetchall()
        assert conn.execute("SELECT count(*) AS n FROM timescale_conversion").fetchone() == {"n": 0}


def test_alerting_exports_storage_health_as_metrics(
    database_url: str, db: psycopg.Connection[DictRow]
) -> None:
    db.execute(
        "INSERT INTO dead_letters (received_at, source, reason_code, reason, payload, "
        "payload_size) VALUES (now() - INTERVAL '120 days', 't', 'bad', 'bad', '\\x00', 1)"
    )
    runner = HealthRunner(alerting_settings(database_url), lambda: datetime.now(UTC), Event())

    runner.run_jobs(db)

    def sample(metric: str, table: str) -> float | None:
        return REGISTRY.get_sample_value("smokewatch_storage", {"metric": metric, "table": table})

    assert sample("rows_past_retention", "dead_letters") == 1
    assert sample("rows_past_retention", "readings") == 0
    assert sample("chunks_awaiting_compression", "events") == 0
    assert sample("aggregate_lag_s", "readings_hourly") is not None
