"""Plays a fleet's periodic reports and scenarios into a sink, bounded in messages or time.

Time runs ``time_scale`` times faster than the wall clock: heartbeats, battery drain and
scenario delays are simulated seconds. In *real time* the runner waits for each message's
moment; in *virtual time* it jumps from one to the next (a discrete-event run), which builds
hours of traffic in seconds. ``stamp="wall"`` writes the publish time into ``ts`` (what a
device with a synced clock does, and what ingest trusts); ``stamp="sim"`` writes the
simulated time, for back-filling history (it must stay within the last 400 days).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from device_sim.detector import Detector
from device_sim.errors import SimConfigError
from device_sim.protocol import OutMessage
from device_sim.scenarios import Step
from device_sim.sinks import Sink

log = logging.getLogger(__name__)

Stamp = Literal["wall", "sim"]


@dataclass
class SimReport:
    """What a run published and what the receiver should make of it."""

    sent: int = 0  # messages the runner built and handed to the sink
    published: int = 0  # messages handed to the broker, including on-connect announcements
    acked: int = 0
    rejected: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)  # telemetry/event/status/malformed
    by_event: Counter[str] = field(default_factory=Counter)  # event and status types
    expected: Counter[str] = field(default_factory=Counter)  # store/duplicate/dead_letter
    dead_letter_codes: Counter[str] = field(default_factory=Counter)
    wills: int = 0  # connections cut on purpose, so the broker published a Last Will
    stopped_by: str = "done"
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    elapsed: float = 0.0
    sim_seconds: float = 0.0
    messages: list[OutMessage] | None = None

    def add(self, message: OutMessage) -> None:
        self.sent += 1
        self.by_kind[message.kind or "malformed"] += 1
        if message.event_type:
            self.by_event[message.event_type] += 1
        self.expected[message.expect] += 1
        if message.reason_code:
            self.dead_letter_codes[message.reason_code] += 1
        if self.messages is not None:
            self.messages.append(message)


@dataclass(order=True)
class _Entry:
    due: float
    order: int
    detector: Detector = field(compare=False)
    step: Step | None = field(compare=False)  # None: the periodic report


class Simulation:
    """A fleet, a sink and a schedule; :meth:`run` plays it."""

    def __init__(
        self,
        detectors: Sequence[Detector],
        sink: Sink,
        *,
        heartbeat_seconds: float = 3600.0,
        time_scale: float = 1.0,
        realtime: bool = True,
        stamp: Stamp = "wall",
        start: datetime | None = None,
        stagger: bool = True,
        announce: bool = False,
        record: bool = False,
    ) -> None:
        if time_scale <= 0:
            raise SimConfigError("time_scale must be positive")
        self.detectors = {det.device_id: det for det in detectors}
        self.sink = sink
        self.heartbeat = heartbeat_seconds
        self.scale = time_scale
        self.realtime = realtime
        self.stamp: Stamp = stamp if realtime else "sim"
        self.start = start or datetime.now(UTC)
        self.announce = announce
        self._record = record
        self._heap: list[_Entry] = []
        self._order = itertools.count()
        if heartbeat_seconds > 0:
            for det in detectors:
                phase = det.rng.uniform(0.0, heartbeat_seconds) if stagger else 0.0
                self._push(phase, det, None)

    def _push(self, due: float, det: Detector, step: Step | None) -> None:
        heapq.heappush(self._heap, _Entry(due, next(self._order), det, step))

    def schedule(self, det: Detector | str, steps: Sequence[Step], *, at: float = 0.0) -> None:
        """Play ``steps`` on a detector, starting ``at`` simulated seconds into the run."""
        detector = self.detectors[det] if isinstance(det, str) else det
        for step in steps:
            self._push(at + step.at, detector, step)

    def run(
        self,
        *,
        max_messages: int | None = None,
        duration: float | None = None,
        sim_seconds: float | None = None,
        ack_timeout: float = 30.0,
    ) -> SimReport:
        """Play until the schedule is empty or a bound is reached, then wait for every ack.

        ``duration`` is wall-clock seconds, ``sim_seconds`` simulated seconds. Periodic reports
        never end by themselves, so with heartbeats on at least one bound is required.
        """
        if self.heartbeat > 0 and self.detectors and not (max_messages or duration or sim_seconds):
            raise SimConfigError(
                "a run with heartbeats needs max_messages, duration or sim_seconds"
            )
        report = SimReport(messages=[] if self._record else None, started_at=self.start)
        t0 = time.monotonic()
        last_due = 0.0
        if self.announce:
            for det in self.detectors.values():
                self._send(det.status("online"), report)
        while self._heap:
            entry = self._heap[0]
            if max_messages is not None and report.sent >= max_messages:
                report.stopped_by = "max_messages"
                break
            if sim_seconds is not None and entry.due > sim_seconds:
                report.stopped_by = "sim_seconds"
                break
            now = time.monotonic()
            if duration is not None and now - t0 >= duration:
                report.stopped_by = "duration"
                break
            if self.realtime:
                wait = t0 + entry.due / self.scale - now
                if wait > 0:
                    if duration is not None:
                        wait = min(wait, t0 + duration - now)
                    self.sink.service(min(wait, 0.25))
                    continue
            heapq.heappop(self._heap)
            last_due = entry.due
            self._play(entry, report)
            if report.sent % 256 == 0:
                self.sink.service(0)
        report.sim_seconds = (time.monotonic() - t0) * self.scale if self.realtime else last_due
        self.sink.flush(ack_timeout)
        report.published, report.acked, report.rejected = self.sink.totals()
        report.elapsed = time.monotonic() - t0
        log.info(
            "simulation done (%s): %d sent, %d published, %d acked, %d rejected in %.1fs",
            report.stopped_by,
            report.sent,
            report.published,
            report.acked,
            report.rejected,
            report.elapsed,
        )
        return report

    def _play(self, entry: _Entry, report: SimReport) -> None:
        det = entry.detector
        sim_now = self.start + timedelta(seconds=entry.due)
        # The device ages in simulated time (battery drain follows the acceleration) ...
        det.tick(sim_now)
        # ... and writes the time its clock shows into ts.
        now = datetime.now(UTC) if self.stamp == "wall" else sim_now
        if entry.step is None:
            if det.silent:
                return  # a silent device stops reporting for good
            messages = [det.telemetry(now)]
            self._push(entry.due + self.heartbeat, det, None)
        else:
            was_silent = det.silent
            messages = entry.step.action(det, now)
            for message in messages:
                self._send(message, report)
            if det.silent and not was_silent and self.sink.drop(det.device_id):
                report.wills += 1
            return
        for message in messages:
            self._send(message, report)

    def _send(self, message: OutMessage, report: SimReport) -> None:
        self.sink.send(message)
        report.add(message)
