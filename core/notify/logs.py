"""Apprise's own log: redacted, at WARNING or above, and kept per thread while a send runs.

Apprise's DEBUG lines carry message bodies (names and addresses), and its warnings may echo a
URL's keys or a phone number: :class:`core.redact.RedactingFilter` hides those. Its INFO lines
only say "Sent ... notification." for each page, which the attempt's record already holds; in a
storm, passing 20,000 of them through the filter and the log handlers was a twentieth of
alerting's CPU (docs/benchmarks.md), so the floor is WARNING: failures and refusals still log.
The lines a send produced are kept for the attempt's record
(:func:`core.notify.channels.send_once`).
"""

from __future__ import annotations

import logging
import threading

from core.redact import RedactingFilter

MAX_LINES = 10


class ThreadLogs(logging.Handler):
    """Keeps Apprise's log lines of the current thread while a send is running."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        lines: list[str] | None = getattr(self.local, "lines", None)
        if lines is not None and len(lines) < MAX_LINES:
            lines.append(f"{record.levelname}: {record.getMessage()}"[:300])


thread_logs = ThreadLogs()


def guard_apprise_log() -> None:
    """Redact the ``apprise`` logger, keep it at WARNING or above, attach :data:`thread_logs`."""
    apprise_log = logging.getLogger("apprise")
    if not any(isinstance(f, RedactingFilter) for f in apprise_log.filters):
        apprise_log.addFilter(RedactingFilter())
    if thread_logs not in apprise_log.handlers:
        apprise_log.addHandler(thread_logs)
    if apprise_log.level == logging.NOTSET or apprise_log.level < logging.WARNING:
        apprise_log.setLevel(logging.WARNING)
