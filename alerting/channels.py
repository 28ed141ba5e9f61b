"""One send through Apprise to one URL, with a timeout, and what the provider answered.

Runs in a sender thread, never on an event loop. Apprise 2.x returns an ``AppriseResult``
whose status tells success, failure, timeout and "no service matched" apart (``bool()`` of
it is the old True/False); we map each to an attempt outcome.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import apprise
from apprise.logger import NotifyLogEntry
from apprise.plugins.base import NotifyBase
from apprise.result import AppriseResultStatus

from alerting.plugins import register
from alerting.plugins.capture import scrub

register()


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """Outcome of one request: delivered, failed, timeout or unsupported."""

    outcome: str
    response: str
    elapsed_ms: int

    @property
    def ok(self) -> bool:
        return self.outcome == "delivered"


def scheme_of(url: str) -> str:
    """The URL's scheme, lower case."""
    return urlsplit(url).scheme.lower()


def destination_of(url: str) -> str:
    """A stable, secret-free name for a destination: scheme + hash of the URL."""
    return f"{scheme_of(url)}:{hashlib.sha256(url.encode()).hexdigest()[:16]}"


def masked(url: str) -> str:
    """The URL with secrets hidden, for logs and the attempt table."""
    plugin = apprise.Apprise.instantiate(url)
    return plugin.url(privacy=True) if plugin else f"{scheme_of(url)}://…"


def send_once(url: str, *, title: str, body: str, timeout_s: float) -> AttemptResult:
    """Send one message to one Apprise URL; never raises for a provider problem."""
    started = time.monotonic()
    plugin: NotifyBase | None = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        return AttemptResult("unsupported", "Apprise does not understand this URL", 0)
    plugin.socket_connect_timeout = min(timeout_s, 3.0)
    plugin.socket_read_timeout = timeout_s
    logs: list[str] = []

    def keep(entry: NotifyLogEntry, _service: object) -> None:
        if len(logs) < 10:
            logs.append(f"{entry.level}: {entry.message}"[:300])

    sender = apprise.Apprise()
    sender.add(plugin)
    result = sender.notify(
        body=body, title=title, timeout=timeout_s * 2 + 1, log_callback=keep, log_level=logging.INFO
    )
    elapsed = int((time.monotonic() - started) * 1000)
    answer = getattr(plugin, "last_response", None) or ""
    response = scrub(" | ".join(filter(None, [answer, *logs])))[:1000]
    status = result.status
    if status == AppriseResultStatus.SUCCESS:
        return AttemptResult("delivered", response, elapsed)
    if status == AppriseResultStatus.TIMEOUT or "Timeout" in answer or "timed out" in response:
        return AttemptResult("timeout", response, elapsed)
    if status == AppriseResultStatus.NOMATCH:
        return AttemptResult("unsupported", response or "no service matched", elapsed)
    return AttemptResult("failed", response, elapsed)
