"""Scenario timelines and the runner, in virtual time and without a broker."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from core.codecs import native
from core.errors import DecodeError
from device_sim import scenarios
from device_sim.cli_entry import ScenarioSpec, SimOptions, make_fleet, run
from device_sim.detector import Detector, build_fleet, programme_ids
from device_sim.errors import SimConfigError
from device_sim.protocol import OutMessage, TsFormat
from device_sim.runner import Simulation
from device_sim.settings import SimSettings
from device_sim.sinks import MemorySink

PREFIX = "smokewatch/v1"
START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def detector(device_id: str = "NZ-H0001") -> Detector:
    return Detector(device_id, PREFIX)


def body(message: OutMessage) -> dict[str, Any]:
    return orjson.loads(message.payload)


def events(messages: list[OutMessage]) -> list[str | None]:
    return [m.event_type for m in messages]


def seqs(messages: list[OutMessage]) -> list[int | None]:
    return [m.seq for m in messages]


def test_play_fire_alarm_silenced_cleared_in_order() -> None:
    out = scenarios.play(scenarios.fire(), detector(), START)
    assert events(out) == ["alarm", "silenced", "alarm_cleared"]
    assert seqs(out) == [0, 1, 2]
    assert body(out[0])["smoke_obscuration"] > 8  # a real fire, well above alarm threshold
    assert body(out[2])["smoke_obscuration"] < 1
    assert all(m.topic == f"{PREFIX}/NZ-H0001/event" for m in out)


def test_play_fire_with_heat_sensor_reports_high_temperature() -> None:
    out = scenarios.play(scenarios.fire(heat=True), detector(), START)
    assert events(out) == ["alarm", "high_temperature", "silenced", "alarm_cleared"]


def test_play_nuisance_clears_within_seconds() -> None:
    det = Detector("NZ-H0002", PREFIX, ts_format=TsFormat.EPOCH_MS)
    out = scenarios.play(scenarios.nuisance(), det, START)
    assert events(out) == ["alarm", "alarm_cleared"]
    gap_ms = body(out[1])["ts"] - body(out[0])["ts"]
    assert 0 < gap_ms <= 10_000


def test_play_battery_drains_to_one_low_battery() -> None:
    out = scenarios.play(scenarios.battery(), detector(), START)
    telemetry = [body(m)["battery"] for m in out if m.kind == "telemetry"]
    assert telemetry == sorted(telemetry, reverse=True) and telemetry[-1] < 20 <= telemetry[0]
    assert events(out).count("low_battery") == 1 and out[-1].event_type == "low_battery"
    assert body(out[-1])["battery"] < 20 and 2600 <= body(out[-1])["battery_mv"] < 2680
    assert seqs(out) == list(range(len(out)))


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (scenarios.tamper(), ["tamper", "tamper_cleared"]),
        (scenarios.tamper(restore_after=None), ["tamper"]),
        (scenarios.fault(), ["fault"]),
        (scenarios.fault(clear_after=60), ["fault", "fault_cleared"]),
        (scenarios.self_test(), ["test"]),
    ],
)
def test_play_simple_events(steps: list[scenarios.Step], expected: list[str]) -> None:
    assert events(scenarios.play(steps, detector(), START)) == expected


def test_play_reboot_resets_seq_and_reports_status() -> None:
    det = detector()
    before = scenarios.play([scenarios.telemetry(), scenarios.telemetry()], det, START)
    out = scenarios.play(scenarios.reboot(), det, START + timedelta(minutes=1))
    assert seqs(before) == [0, 1]
    assert [(m.kind, m.event_type, m.seq) for m in out] == [
        ("status", "offline", None), ("status", "online", None), ("telemetry", None, 0),
    ]  # fmt: skip
    assert [m.payload for m in out[:2]] == [b"offline", b"online"] and out[0].retain
    assert det.boot == 2


def test_play_duplicate_repeats_identical_bytes() -> None:
    out = scenarios.play(scenarios.duplicate(), detector(), START)
    assert [m.expect for m in out] == ["store", "duplicate", "store", "duplicate"]
    assert out[0].payload == out[1].payload and out[0].topic == out[1].topic
    assert out[2].payload == out[3].payload and out[2].event_type == "test"
    assert seqs(out) == [0, 0, 1, 1]


def test_run_duplicate_repeats_its_own_messages_between_periodic_reports() -> None:
    sink = MemorySink()
    fleet = build_fleet(["A-1"], topic_prefix=PREFIX)
    sim = Simulation(fleet, sink, heartbeat_seconds=1, realtime=False, stagger=False)
    sim.schedule("A-1", scenarios.duplicate(gap=2.5), at=0.5)
    sim.run(sim_seconds=10)
    duplicates = [m for m in sink.messages if m.expect == "duplicate"]
    assert [m.kind for m in duplicates] == ["telemetry", "event"]
    for dup in duplicates:
        assert [m.payload for m in sink.messages].count(dup.payload) == 2
    assert len(sink.messages) > 8  # periodic reports came in between


def test_play_duplicate_without_ts_is_not_recognisable() -> None:
    det = Detector("NZ-H0005", PREFIX, ts_format=TsFormat.NONE)
    out = scenarios.play(scenarios.duplicate(), det, START)
    # The receiver stamps a ts-less message with its receive time: a redelivery is a new row.
    assert [m.expect for m in out] == ["store"] * 4


def test_play_malformed_sends_whole_catalogue_rejected() -> None:
    out = scenarios.play(scenarios.malformed(), detector(), START)
    assert len(out) >= 20 and {m.expect for m in out} == {"dead_letter", "unrouted"}
    for message in out:
        with pytest.raises(DecodeError):
            native.decode(
                native.parse_topic(message.topic, PREFIX), message.payload, START, max_bytes=1 << 20
            )


def test_run_silent_device_stops_reporting() -> None:
    fleet = build_fleet(["A-1", "A-2"], topic_prefix=PREFIX)
    sink = MemorySink()
    sim = Simulation(fleet, sink, heartbeat_seconds=600, realtime=False, start=START, stagger=False)
    sim.schedule("A-2", scenarios.silent(), at=1500)
    report = sim.run(sim_seconds=6000)
    per_device = {d: [m for m in sink.messages if m.device_id == d] for d in ("A-1", "A-2")}
    assert len(per_device["A-1"]) == 11  # at 0, 600, ..., 6000
    assert len(per_device["A-2"]) == 4  # at 0, 600, 1200 and its last words at 1500
    assert report.stopped_by == "sim_seconds" and report.sent == len(sink.messages) == 15


def test_run_interleaves_periodic_reports_and_scenarios_with_monotonic_seq() -> None:
    fleet = build_fleet(programme_ids("NZ", 4, 2), topic_prefix=PREFIX, seed=3)
    sink = MemorySink()
    sim = Simulation(fleet, sink, heartbeat_seconds=60, realtime=False, start=START)
    for det, name in zip(
        fleet, ["fire", "nuisance", "battery", "tamper", "duplicate", "reboot"], strict=True
    ):
        sim.schedule(det, scenarios.SCENARIOS[name](), at=30)
    report = sim.run(sim_seconds=4 * 3600)
    for det in fleet:
        sent = [
            m
            for m in sink.messages
            if m.device_id == det.device_id and m.expect == "store" and m.seq is not None
        ]
        boots = [sent]
        if any(m.event_type == "online" for m in sink.messages if m.device_id == det.device_id):
            cut = next(i for i in range(1, len(sent)) if sent[i].seq == 0)
            boots = [sent[:cut], sent[cut:]]
        for part in boots:
            assert [m.seq for m in part] == list(range(len(part)))
    assert report.by_event["alarm"] == 2 and report.by_event["low_battery"] == 1
    assert report.expected["duplicate"] == 2


def test_run_with_heartbeats_needs_a_bound() -> None:
    sim = Simulation(build_fleet(["A-1"], topic_prefix=PREFIX), MemorySink(), realtime=False)
    with pytest.raises(SimConfigError):
        sim.run()


def test_run_stops_at_max_messages() -> None:
    fleet = build_fleet(programme_ids("NZ", 10, 0), topic_prefix=PREFIX)
    sim = Simulation(fleet, MemorySink(), heartbeat_seconds=60, realtime=False)
    report = sim.run(max_messages=25)
    assert (report.sent, report.published, report.stopped_by) == (25, 25, "max_messages")


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("fire", ScenarioSpec("fire", 1, None)),
        ("nuisance:3", ScenarioSpec("nuisance", 3, None)),
        ("battery:2@120.5", ScenarioSpec("battery", 2, 120.5)),
        ("malformed@5", ScenarioSpec("malformed", 1, 5.0)),
    ],
)
def test_parse_scenario_spec(text: str, spec: ScenarioSpec) -> None:
    assert ScenarioSpec.parse(text) == spec


@pytest.mark.parametrize("text", ["", "arson", "fire:x", "fire@", "fire:2:3"])
def test_parse_scenario_spec_refuses(text: str) -> None:
    with pytest.raises(SimConfigError):
        ScenarioSpec.parse(text)


def test_run_entry_dry_run_writes_json_lines() -> None:
    settings = SimSettings(topic_prefix="dry/v1")
    options = SimOptions(
        households=5, venues=2, heartbeat_seconds=0, duration=None, dry_run=True,
        scenarios=("fire", "nuisance:2"), record=True,
    )  # fmt: skip
    out = io.StringIO()
    report = run(settings, options, out=out)
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == report.sent == 7
    assert {line["topic"].split("/")[0] for line in lines} == {"dry"}
    assert [m.event_type for m in report.messages or []].count("alarm") == 3
    assert len(make_fleet(settings, options)) == 7
