"""Prometheus rules, scrape targets and Grafana dashboards refer to things that exist.

Metric names are read from the code (every ``"smokewatch_..."`` string passed to a
prometheus_client constructor); the dashboards' SQL runs against a migrated database.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg.rows import DictRow

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
METRIC_SOURCES = ["ingest", "alerting", "api", "core"]
METRIC = re.compile(r"\b(smokewatch_[a-z0-9_]+)\b")
DEFINITION = re.compile(r"(?:Counter|Gauge|Histogram|Summary)\(\s*\"(smokewatch_[a-z0-9_]+)\"")
SUFFIXES = ("_bucket", "_sum", "_count")


@cache
def defined_metrics() -> frozenset[str]:
    names = set()
    for folder in METRIC_SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(DEFINITION.findall(path.read_text(encoding="utf-8")))
    return frozenset(names)


def referenced(expr: str) -> set[str]:
    names = set()
    for found in METRIC.findall(expr):
        name = found
        for suffix in SUFFIXES:
            if found.endswith(suffix) and found.removesuffix(suffix) in defined_metrics():
                name = found.removesuffix(suffix)
        names.add(name)
    return names


def rules(folder: str) -> list[dict[str, Any]]:
    found = []
    for path in sorted((PROMETHEUS / folder).glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            assert group["name"] and group["rules"], path
            found.extend(group["rules"])
    return found


def test_read_metric_definitions_from_the_code() -> None:
    assert "smokewatch_ingest_lag_seconds" in defined_metrics()
    assert "smokewatch_alerting_due_unsent" in defined_metrics()


def test_alert_rules_parse_and_name_existing_metrics() -> None:
    active = rules("rules")
    assert len(active) >= 8
    for rule in active:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.fullmatch(r"Smokewatch[A-Za-z]+", rule["alert"])
        assert rule["labels"]["severity"] in {"page", "ticket"}
        assert rule["annotations"]["summary"]
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]
        missing = referenced(rule["expr"]) - defined_metrics()
        assert not missing, f"{rule['alert']} names metrics nobody exports: {missing}"


def test_pending_rules_still_wait_for_their_metric() -> None:
    for rule in rules("rules-pending"):
        exported = referenced(rule["expr"]) & defined_metrics()
        assert not exported, f"{exported} exist now: move {rule['alert']} into rules/"


def test_scrape_targets_match_compose_services_and_ports() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    for job in config["scrape_configs"]:
        for target in job["static_configs"][0]["targets"]:
            host, port = target.split(":")
            environment = compose["services"][host]["environment"]
            ports = {str(v) for k, v in environment.items() if k.endswith("_PORT")}
            assert port in ports, f"{job['job_name']}: {host} does not listen on {port}"


def dashboard_targets() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        assert dashboard["uid"] and dashboard["panels"]
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                found.append((panel["title"], target))
    return found


def test_dashboard_prometheus_queries_name_existing_metrics() -> None:
    exprs = [t["expr"] for _, t in dashboard_targets() if "expr" in t]
    assert exprs
    for expr in exprs:
        assert not referenced(expr) - defined_metrics(), expr


def test_dashboard_sql_runs_on_the_migrated_schema(db: psycopg.Connection[DictRow]) -> None:
    queries = [(title, t["rawSql"]) for title, t in dashboard_targets() if "rawSql" in t]
    assert any("readings_hourly" in sql for _, sql in queries)
    for title, raw in queries:
        # Grafana's macro, expanded the way the PostgreSQL data source does.
        sql = re.sub(
            r"\$__timeFilter\((\w+)\)", r"\1 BETWEEN now() - INTERVAL '1 day' AND now()", raw
        )
        try:
            db.execute(sql).fetchall()
        except psycopg.Error as exc:
            pytest.fail(f"{title}: {exc}")
