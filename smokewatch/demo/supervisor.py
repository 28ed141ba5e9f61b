"""Run the demo's services as child processes: restart on crash with backoff, stop cleanly.

Each child gets its own process group (so a terminal's Ctrl-C reaches only the supervisor,
which then stops children in reverse order) and, on Linux, a parent-death signal so a killed
supervisor leaves nothing behind. Output goes to one log file per service.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True, slots=True)
class Service:
    """A long-running child: its name and command line."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


def smokewatch_command(*args: str) -> tuple[str, ...]:
    """``smokewatch <args>`` run by this very interpreter (no PATH lookup)."""
    return (sys.executable, "-m", "smokewatch", *args)


def python_module(module: str) -> tuple[str, ...]:
    """``python -m <module>`` with this very interpreter."""
    return (sys.executable, "-m", module)


def die_with_parent() -> None:
    # Runs in the child between fork and exec: ask the kernel for SIGTERM when we die.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the clean stop path still stops every child


@dataclass
class _Running:
    service: Service
    proc: subprocess.Popen[bytes]
    log_file: IO[bytes]
    started: float
    restarts: int = 0
    next_start: float | None = None


class Supervisor:
    """Starts services, restarts crashed ones, stops all of them (reverse order) on request."""

    def __init__(self, log_dir: Path, base_env: Mapping[str, str]) -> None:
        self.log_dir = log_dir
        self.base_env = dict(base_env)
        self._running: dict[str, _Running] = {}

    def start(self, service: Service) -> None:
        """Start one service now."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_file = (self.log_dir / f"{service.name}.log").open("ab")
        proc = self._spawn(service, log_file)
        self._running[service.name] = _Running(service, proc, log_file, time.monotonic())
        log.info("started %s (pid %d)", service.name, proc.pid)

    def _spawn(self, service: Service, log_file: IO[bytes]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - our interpreter and fixed arguments
            list(service.argv),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=self.base_env | dict(service.env),
            start_new_session=True,
            preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
        )

    def pids(self) -> dict[str, int]:
        """Process ids of the services now running."""
        return {n: r.proc.pid for n, r in self._running.items() if r.proc.poll() is None}

    def poll(self, on_event: Callable[[str], None] | None = None) -> None:
        """Restart services that exited, with exponential backoff; call often."""
        now = time.monotonic()
        for run in self._running.values():
            code = run.proc.poll()
            if code is None:
                continue
            if run.next_start is None:
                uptime = now - run.started
                if uptime > 60:
                    run.restarts = 0  # it ran well for a while: start the backoff afresh
                delay = min(MAX_BACKOFF_S, 0.5 * 2**run.restarts)
                run.next_start = now + delay
                message = f"{run.service.name} exited with {code}; restarting in {delay:.1f}s"
                log.warning(message)
                if on_event:
                    on_event(message)
            elif now >= run.next_start:
                run.proc = self._spawn(run.service, run.log_file)
                run.started, run.next_start = now, None
                run.restarts += 1
                log.info("restarted %s (pid %d)", run.service.name, run.proc.pid)

    def stop_all(self, timeout: float = 15.0) -> None:
        """SIGTERM each process group (last started first), then SIGKILL what is left."""
        for run in reversed(list(self._running.values())):
            _signal_group(run.proc, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            try:
                run.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0fs; killing it", run.service.name, timeout)
            _signal_group(run.proc, signal.SIGKILL)  # also any grandchild it left behind
            if run.proc.poll() is None:
                run.proc.wait(timeout=10)
            run.log_file.close()
        self._running.clear()

    def names(self) -> Sequence[str]:
        return list(self._running)


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)  # the child leads its own group (start_new_session)
