"""A server process we own: start, readiness, stop, a guard against orphans, clean-up at exit."""

from __future__ import annotations

import atexit
import logging
import os
import pwd
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Self

from core.errors import SmokewatchError

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"

# The guard waits for EOF on stdin (we died or closed the pipe), then signals the server. It
# ignores SIGINT so a Ctrl-C in a terminal cannot disarm it; stop() disarms it with SIGKILL.
_GUARD = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
while os.read(0, 64):
    pass
try:
    os.kill(int(sys.argv[1]), int(sys.argv[2]))
except ProcessLookupError:
    pass
"""


class LocalServerError(SmokewatchError):
    """A private server could not be found, started or stopped."""


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_accepts(port: int) -> bool:
    """True when something accepts TCP connections on ``127.0.0.1:port``."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5):
            return True
    except OSError:
        return False


def child_environment() -> dict[str, str]:
    """Our environment without libpq variables, which must not redirect a server or its tools."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")} | {"LC_ALL": "C"}


def run_as(user: str | None) -> dict[str, Any]:
    """``subprocess`` arguments that run a child as ``user`` with its group and no others."""
    if user is None:
        return {}
    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []}


class ChildServer:
    """Base of the private servers: one process, its log file, its guard."""

    name = "server"
    stop_signal = signal.SIGTERM

    def __init__(self, folder: Path | str, *, port: int | None, startup_timeout: float) -> None:
        self.folder = Path(folder).resolve()
        self.host = LOOPBACK
        self.startup_timeout = startup_timeout
        self.log_path = self.folder / f"{self.name}.log"
        self._port = port
        self._port_pinned = port is not None
        self._proc: subprocess.Popen[bytes] | None = None
        self._guard: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._log_offset = 0
        self._lock = threading.RLock()

    @property
    def port(self) -> int:
        """The TCP port; chosen on first use and kept across restarts so URLs stay valid."""
        if self._port is None:
            self._port = free_port()
        return self._port

    @property
    def pid(self) -> int | None:
        """Process id of the running server, None when stopped."""
        return self._proc.pid if self._proc is not None and self.is_running else None

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> Self:
        """Start the server (a no-op when it runs) and wait until it accepts connections."""
        with self._lock:
            if self.is_running:
                return self
            self.folder.mkdir(parents=True, exist_ok=True)
            for attempt in range(3):
                self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
                self._prepare()
                self._spawn(self._command())
                if self._wait_ready():
                    _LIVE.add(self)
                    self._port_pinned = True  # restarts keep the URL clients already hold
                    return self
                self._reap()
                tail = self.log_tail(self._log_offset)
                if "already in use" in tail and not self._port_pinned and attempt < 2:
                    self._port = free_port()  # lost a race for the port: take another one
                    continue
                raise LocalServerError(f"{self.name} did not start; {self.log_path}:\n{tail}")
            raise AssertionError("unreachable")

    def kill(self) -> None:
        """SIGKILL the server, as a crash would (for fault tests)."""
        self._stop(signal.SIGKILL, timeout=30)

    def log_tail(self, offset: int = 0, lines: int = 30) -> str:
        """The last ``lines`` lines of the server's log written after byte ``offset``."""
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(offset)
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self._stop(self.stop_signal, timeout=60)

    # -- what each server defines
    def _prepare(self) -> None:
        """Write configuration (and initialise data) before each start."""

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _is_ready(self) -> bool:
        """True once this very process serves; another one on our port must not fool us."""
        raise NotImplementedError

    def _user(self) -> str | None:
        """The system user to run as (None: as ourselves)."""
        return None

    # -- process handling
    def _stop(self, sig: signal.Signals, timeout: float) -> None:
        with self._lock:
            proc = self._proc
            self._disarm()
            if proc is not None and proc.poll() is None:
                proc.send_signal(sig)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    log.warning("%s did not stop within %.0fs; killing it", self.name, timeout)
            self._reap()

    def _spawn(self, command: list[str]) -> None:
        self._log_file = self.log_path.open("ab")
        self._proc = subprocess.Popen(  # noqa: S603 - fixed argument list, no shell
            command,
            cwd=self.folder,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=child_environment(),
            **run_as(self._user()),
        )
        self._guard = subprocess.Popen(  # noqa: S603 - our interpreter and a fixed script
            [sys.executable, "-I", "-S", "-c", _GUARD, str(self._proc.pid),
             str(int(self.stop_signal))],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        delay = 0.02
        while time.monotonic() < deadline:  # bounded by startup_timeout
            if not self.is_running:
                return False
            if self._is_ready():
                return True
            time.sleep(delay)
            delay = min(delay * 1.5, 0.25)
        log.error("%s not ready after %.0fs", self.name, self.startup_timeout)
        return False

    def _disarm(self) -> None:
        if self._guard is not None:
            self._guard.kill()  # a killed guard never signals the server
            self._guard.wait(timeout=10)
            if self._guard.stdin:
                self._guard.stdin.close()
            self._guard = None

    def _reap(self) -> None:
        self._disarm()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=30)
        self._proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        _LIVE.discard(self)


_LIVE: set[ChildServer] = set()


@atexit.register
def _stop_all() -> None:
    for server in list(_LIVE):
        try:
            server._stop(server.stop_signal, timeout=30)
        except Exception:
            log.exception("could not stop %s", server.name)
