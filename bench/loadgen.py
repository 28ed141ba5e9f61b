"""Bounded QoS 1 load from several processes, for benchmarks only (loopback brokers)."""

from __future__ import annotations

import multiprocessing as mp
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from bench.rawpub import RawPublisher


@dataclass(frozen=True)
class LoadPlan:
    """``messages`` telemetry messages over ``devices`` devices, from ``processes`` publishers."""

    mqtt_url: str
    prefix: str
    devices: int
    messages: int
    processes: int = 2
    rate: float | None = None  # messages/s over all processes; None = as fast as possible
    device_prefix: str = "BENCH-"
    seq_base: int = 0


def device_ids(count: int, prefix: str = "BENCH-") -> list[str]:
    return [f"{prefix}{n:07d}" for n in range(count)]


def _payloads(plan: LoadPlan, part: int) -> list[tuple[str, bytes]]:
    ids = device_ids(plan.devices, plan.device_prefix)
    start = datetime.now(UTC) - timedelta(days=1)
    out = []
    for n in range(part, plan.messages, plan.processes):
        device = ids[n % plan.devices]
        seq = plan.seq_base + n // plan.devices
        body = {
            "ts": (start + timedelta(microseconds=n * 10)).isoformat(),
            "seq": seq,
            "smoke_obscuration": round((n % 17) * 0.01, 2),
            "temperature": 18 + (n % 9),
            "battery": 60 + n % 40,
            "battery_mv": 2800 + n % 300,
            "signal": -60 - n % 40,
        }
        out.append((f"{plan.prefix}/{device}/telemetry", orjson.dumps(body)))
    return out


def _publish_part(plan: LoadPlan, part: int, ready: mp.Barrier, results: mp.Queue) -> None:
    messages = [(topic.encode(), payload) for topic, payload in _payloads(plan, part)]
    publisher = RawPublisher(plan.mqtt_url, f"bench-pub-{uuid.uuid4().hex[:8]}")
    ready.wait()
    rate = plan.rate / plan.processes if plan.rate else None
    seconds = publisher.publish_all(messages, rate=rate)
    acked = publisher.acked
    publisher.close()
    results.put({"part": part, "published": len(messages), "acked": acked, "seconds": seconds})


def run_load(plan: LoadPlan) -> dict[str, float]:
    """Publish the plan; return totals and the publishing rate the broker acknowledged."""
    ctx = mp.get_context("spawn")
    ready = ctx.Barrier(plan.processes + 1)
    results: mp.Queue = ctx.Queue()
    procs = [
        ctx.Process(target=_publish_part, args=(plan, p, ready, results))
        for p in range(plan.processes)
    ]
    for proc in procs:
        proc.start()
    ready.wait()
    began = time.monotonic()
    parts = [results.get(timeout=600) for _ in procs]
    elapsed = time.monotonic() - began
    for proc in procs:
        proc.join(timeout=30)
    published = sum(p["published"] for p in parts)
    acked = sum(p["acked"] for p in parts)
    return {"published": published, "acked": acked, "seconds": elapsed, "rate": acked / elapsed}


class LoadInBackground:
    """Start a plan in a separate process and let the caller do other work meanwhile."""

    def __init__(self, plan: LoadPlan) -> None:
        ctx = mp.get_context("spawn")
        self._queue: mp.Queue = ctx.Queue()
        self._proc = ctx.Process(target=_run_into, args=(plan, self._queue))

    def start(self) -> None:
        self._proc.start()

    def result(self, timeout: float = 600) -> dict[str, float]:
        out = self._queue.get(timeout=timeout)
        self._proc.join(timeout=30)
        return out


def _run_into(plan: LoadPlan, queue: mp.Queue) -> None:
    queue.put(run_load(plan))
