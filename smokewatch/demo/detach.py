"""Keep a terminal's Ctrl-C away from the servers: the demo runs in its own session.

Ctrl-C signals the terminal's whole foreground process group. The private PostgreSQL and
Mosquitto are children of the orchestrator, in its group, and would stop at once, before the
services that use them (which then log lost connections on every Ctrl-C). So ``smokewatch
demo`` starts the orchestrator in a new session and forwards SIGINT and SIGTERM to it as
SIGTERM; the orchestrator stops services first and servers last. The orchestrator gets a
parent-death signal, so killing this thin parent still stops everything.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Sequence

from smokewatch.demo.supervisor import die_with_parent

DETACHED_ENV = "SMOKEWATCH_DEMO_DETACHED"


def run_detached(argv: Sequence[str], env: dict[str, str]) -> int:
    """Run ``smokewatch <argv>`` in a new session; return its exit code."""
    proc = subprocess.Popen(  # noqa: S603 - our interpreter and our own arguments
        [sys.executable, "-m", "smokewatch", *argv],
        env=env | {DETACHED_ENV: "1"},
        start_new_session=True,
        preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,  # noqa: PLW1509
    )

    def forward(signum: int, frame: object) -> None:
        proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    return proc.wait()  # the orchestrator's own shutdown is bounded
