"""Load mode for benchmarks: N processes, each with its own connection and a disjoint slice of
a large fleet, publishing realistic telemetry at a target rate or as fast as possible.

Always bounded by ``count`` and/or ``duration``. Every ``alarm_every``-th message of a process
is an ``alarm`` event that carries its publish time in ``sent_at`` (epoch seconds, µs); the
report lists those *marked* messages, so a benchmark can join them to the stored events on
(device_id, seq) and compute publish -> commit latency. Payloads are formatted from per-device
templates (two integers per message), so generating costs far less than publishing.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from core.config import parse_mqtt_url
from device_sim.detector import FIRMWARE, battery_mv, numbered_ids
from device_sim.errors import PublishTimeout, SimConfigError, SimError
from device_sim.mqtt import Link, PahoLink, Pump
from device_sim.rawmqtt import RawLink

log = logging.getLogger(__name__)

Engine = Literal["paho", "raw"]
_VARIANTS: Final = 4  # telemetry templates per device, so values move a little


@dataclass(frozen=True)
class LoadOptions:
    """One load run; ``count`` or ``duration`` (or both) bound it."""

    devices: int = 10_000
    id_prefix: str = "LOAD"
    processes: int = 2
    rate: float | None = None  # messages/s over all processes; None: as fast as possible
    count: int | None = 100_000  # messages over all processes
    duration: float | None = 60.0  # seconds of publishing
    alarm_every: int = 0  # 0: telemetry only
    # Measured on this box, one process: paho ~30,000 msg/s, raw ~120,000 msg/s (QoS 1, acked).
    engine: Engine = "raw"
    window: int = 1000
    ack_timeout: float = 60.0
    connect_timeout: float = 15.0
    seed: int = 0

    def validate(self) -> None:
        if self.count is None and self.duration is None:
            raise SimConfigError("a load run needs a count or a duration")
        if self.processes < 1 or self.devices < self.processes:
            raise SimConfigError("need at least one process and one device per process")
        if self.rate is not None and self.rate <= 0:
            raise SimConfigError("rate must be positive (omit it for as fast as possible)")

    def device_ids(self) -> list[str]:
        """Every device of the run (register these before ingesting)."""
        return numbered_ids(self.id_prefix, self.devices)


@dataclass(frozen=True)
class Marked:
    """A marked alarm: join on (device_id, seq); ``sent_at`` is also in its payload."""

    device_id: str
    seq: int
    ts_ms: int
    sent_at: float


@dataclass
class ProcessReport:
    """What one publishing process did."""

    index: int
    devices: int
    published: int = 0
    acked: int = 0
    rejected: int = 0
    reconnects: int = 0
    started_at: float = 0.0  # epoch seconds, after every process connected
    publish_seconds: float = 0.0  # first publish to last publish
    ack_seconds: float = 0.0  # first publish to last ack
    cpu_seconds: float = 0.0  # CPU this process used publishing and reading acks
    error: str | None = None
    marked: list[Marked] = field(default_factory=list)


@dataclass
class LoadReport:
    """Every process's report and the totals."""

    options: LoadOptions
    processes: list[ProcessReport]

    @property
    def published(self) -> int:
        return sum(p.published for p in self.processes)

    @property
    def acked(self) -> int:
        return sum(p.acked for p in self.processes)

    @property
    def rejected(self) -> int:
        return sum(p.rejected for p in self.processes)

    @property
    def marked(self) -> list[Marked]:
        return [m for p in self.processes for m in p.marked]

    @property
    def errors(self) -> list[str]:
        return [f"process {p.index}: {p.error}" for p in self.processes if p.error]

    @property
    def publish_rate(self) -> float:
        """Messages/s from the common start to the last process's last publish."""
        if not self.processes:
            return 0.0
        start = min(p.started_at for p in self.processes)
        end = max(p.started_at + p.publish_seconds for p in self.processes)
        return self.published / (end - start) if end > start else 0.0


_ALARM: Final = (
    b'{"ts":%d,"seq":%d,"type":"alarm","smoke_obscuration":11.5,"temperature":36.5,"sent_at":%.6f}'
)


def _templates(ids: list[str], seed: int) -> list[list[bytes]]:
    """Per device, telemetry templates to fill with ``% (ts_ms, seq)``."""
    out = []
    for device_id in ids:
        rng = random.Random(f"{seed}:{device_id}")
        battery = rng.uniform(40.0, 100.0)
        signal = rng.randint(-105, -55)
        temperature = rng.uniform(14.0, 27.0)
        variants = []
        for n in range(_VARIANTS):
            smoke = round(rng.uniform(0.0, 0.08), 3)
            temp = round(temperature + rng.uniform(-0.5, 0.5), 1)
            pct = round(battery - 0.1 * n, 1)
            variants.append(
                b'{"ts":%%d,"seq":%%d,"smoke_obscuration":%s,"temperature":%s,"battery":%s,'
                b'"battery_mv":%d,"signal":%d,"firmware":"%s"}'
                % (str(smoke).encode(), str(temp).encode(), str(pct).encode(), battery_mv(pct),
                   signal + rng.randint(-2, 2), FIRMWARE.encode())
            )  # fmt: skip
        out.append(variants)
    return out


@dataclass(frozen=True)
class _Job:
    index: int
    options: LoadOptions
    mqtt_url: str
    topic_prefix: str


def _publish_slice(job: _Job, ready: Any, results: Any) -> None:
    """One process: connect, wait for the others, publish its share, wait for every ack."""
    ids = job.options.device_ids()[job.index :: job.options.processes]
    report = ProcessReport(index=job.index, devices=len(ids))
    try:
        link = _connect(job)
        pump = Pump([link])
        pump.connect(job.options.connect_timeout)
        ready.wait(job.options.connect_timeout + 30)
        _publish(job, ids, link, pump, report)
        cpu_flush = time.process_time()
        try:
            pump.flush(job.options.ack_timeout)
        except PublishTimeout as exc:
            report.error = str(exc)
        report.ack_seconds = time.time() - report.started_at
        report.cpu_seconds += time.process_time() - cpu_flush
        report.published, report.acked, report.rejected = link.published, link.acked, link.rejected
        report.reconnects = link.reconnects
        pump.close()
    except (SimError, OSError, threading.BrokenBarrierError) as exc:
        report.error = f"{type(exc).__name__}: {exc}"
        ready.abort()  # the others stop waiting for this one
    results.put(report)


def _connect(job: _Job) -> PahoLink | RawLink:
    endpoint = parse_mqtt_url(job.mqtt_url)
    client_id = f"sim-load-{job.index}-{uuid.uuid4().hex[:8]}"
    if job.options.engine == "raw":
        return RawLink(endpoint, client_id=client_id, window=job.options.window)
    return PahoLink(endpoint, client_id=client_id, window=job.options.window)


def _publish(job: _Job, ids: list[str], link: Link, pump: Pump, report: ProcessReport) -> None:
    options = job.options
    templates = _templates(ids, options.seed)
    topics = [f"{job.topic_prefix}/{device_id}/telemetry" for device_id in ids]
    event_topics = [f"{job.topic_prefix}/{device_id}/event" for device_id in ids]
    quota = _share(options.count, options.processes, job.index)
    rate = options.rate / options.processes if options.rate else None
    seqs = [0] * len(ids)
    sent, devices, alarm_every = 0, len(ids), options.alarm_every

    report.started_at = time.time()
    cpu0 = time.process_time()
    t0 = time.monotonic()
    end = t0 + options.duration if options.duration is not None else float("inf")
    while sent < quota:
        now = time.monotonic()
        if now >= end:
            break
        if rate is not None and sent >= (now - t0) * rate:
            pump.run(min((sent + 1) / rate - (now - t0), 0.01))
            continue
        if link.in_flight >= link.window:
            pump.wait_for_room(link, timeout=options.ack_timeout)
        slot = sent % devices
        seq = seqs[slot]
        seqs[slot] = seq + 1
        sent += 1
        if alarm_every and sent % alarm_every == 0:
            sent_at = round(time.time(), 6)  # as written in the payload (%.6f)
            ts_ms = int(sent_at * 1000)
            link.publish(event_topics[slot], _ALARM % (ts_ms, seq, sent_at))
            report.marked.append(Marked(ids[slot], seq, ts_ms, sent_at))
            pump.run(0)  # an alarm does not wait in a buffer
        else:
            payload = templates[slot][seq % _VARIANTS] % (int(time.time() * 1000), seq)
            link.publish(topics[slot], payload)
            if sent & 63 == 0:
                pump.run(0)
    report.publish_seconds = time.monotonic() - t0
    report.cpu_seconds = time.process_time() - cpu0


def _share(count: int | None, parts: int, index: int) -> float:
    if count is None:
        return float("inf")
    return count // parts + (1 if index < count % parts else 0)


def run_load(options: LoadOptions, *, mqtt_url: str, topic_prefix: str) -> LoadReport:
    """Run the load across ``options.processes`` processes and collect their reports."""
    options.validate()
    ctx = mp.get_context("spawn")  # no inherited threads or sockets from the caller
    ready = ctx.Barrier(options.processes)
    results = ctx.Queue()
    workers = [
        ctx.Process(
            target=_publish_slice,
            args=(_Job(i, options, mqtt_url, topic_prefix), ready, results),
            name=f"sim-load-{i}",
        )
        for i in range(options.processes)
    ]
    for worker in workers:
        worker.start()
    # Bounded: connection, the run, the acks, and slack for spawning interpreters.
    budget = options.connect_timeout + 30 + (options.duration or 3600) + options.ack_timeout + 30
    deadline = time.monotonic() + budget
    reports: list[ProcessReport] = []
    while len(reports) < len(workers) and time.monotonic() < deadline:
        try:
            reports.append(results.get(timeout=0.5))
        except queue.Empty:
            if not any(w.is_alive() for w in workers) and results.empty():
                break
    for worker in workers:
        worker.join(timeout=10)
        if worker.is_alive():
            worker.terminate()
            worker.join(timeout=5)
    done = {r.index for r in reports}
    reports += [
        ProcessReport(index=i, devices=0, error="process ended without a report")
        for i in range(options.processes)
        if i not in done
    ]
    reports.sort(key=lambda r: r.index)
    report = LoadReport(options, reports)
    log.info(
        "load done: %d published, %d acked, %d rejected, %.0f msg/s",
        report.published, report.acked, report.rejected, report.publish_rate,
    )  # fmt: skip
    return report
