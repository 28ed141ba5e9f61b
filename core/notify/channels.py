"""One send through Apprise to one URL, with a timeout, and what the provider answered.

Runs in a sender thread, never on an event loop. The plugin's ``notify`` is called in the
caller's thread: ``Apprise.notify`` would hand every send to Apprise's one shared pool
(``cpu_count + 4`` threads), where a few hanging providers queue every other household's
page behind them. The request's connect and read timeouts bound a send instead.

Apprise's own log records are redacted and never go below WARNING (:mod:`core.notify.logs`); both
functions below make sure our plugins and that guard are in place (:func:`register_plugins`).
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import apprise
from apprise.manager_plugins import NotificationManager
from apprise.plugins.base import NotifyBase

from core.notify import register_plugins
from core.notify.logs import thread_logs
from core.notify.plugins.capture import scrub


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """Outcome of one request: delivered, failed, timeout or unsupported."""

    outcome: str
    response: str
    elapsed_ms: int
    # The provider's id for this request (BizId, CallId, SerialNo), for its receipts.
    ref: str | None = None

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
    register_plugins()
    plugin = plugin_for(url)
    return plugin.url(privacy=True) if plugin else f"{scheme_of(url)}://…"


_SCHEME = re.compile(r"\s*(?P<scheme>[a-z0-9]{1,32})://", re.IGNORECASE)


def plugin_for(url: str) -> NotifyBase | None:
    """Apprise's plugin for ``url``, built as ``Apprise.instantiate`` builds it.

    ``Apprise.instantiate`` formats a secret-masked copy of the URL for a DEBUG line and
    another for a TRACE line on every call, whether or not those levels are on: about three
    quarters of its cost, and a tenth of a page's CPU in a storm (docs/benchmarks.md). For
    a URL whose scheme has a plugin, the plugin's own ``parse_url`` and constructor (the
    steps ``instantiate`` takes) build the same object; anything else (a provider's native
    URL, a URL the plugin cannot parse, a disabled plugin) goes through ``instantiate``,
    which also logs why it failed. ``tests/test_library_contracts.py`` checks both paths
    give the same plugin for every scheme we use.
    """
    match = _SCHEME.match(url)
    manager = NotificationManager()
    scheme = match.group("scheme").lower() if match else ""
    plugin_class = manager[scheme] if scheme in manager else None  # noqa: SIM401 - not a dict
    results = None
    if plugin_class is not None and plugin_class.enabled:
        results = plugin_class.parse_url(url.replace("/#", "/%23"))
    if plugin_class is None or not results:
        return apprise.Apprise.instantiate(url, suppress_exceptions=True)
    results["tag"] = set()
    results["asset"] = apprise.AppriseAsset()
    try:
        plugin: NotifyBase = plugin_class(**results)
    except Exception:  # Apprise's instantiate suppresses these too
        return apprise.Apprise.instantiate(url, suppress_exceptions=True)
    return plugin if plugin.enabled else None


def send_once(url: str, *, title: str, body: str, timeout_s: float) -> AttemptResult:
    """Send one message to one Apprise URL; never raises for a provider problem."""
    register_plugins()  # normally done at start-up; cheap once done
    started = time.monotonic()
    plugin = plugin_for(url)
    if plugin is None:
        return AttemptResult("unsupported", "Apprise does not understand this URL", 0)
    plugin.socket_connect_timeout = min(timeout_s, 3.0)
    plugin.socket_read_timeout = timeout_s
    plugin.request_rate_per_sec = 0  # never sleep in a sender: rate limits are ours (outbox)
    logs: list[str] = []
    thread_logs.local.lines = logs
    try:
        ok = bool(plugin.notify(body=body, title=title))
    except Exception as exc:  # a plugin bug must not take the sender down
        ok = False
        logs.append(f"ERROR: {type(exc).__name__}")
    finally:
        thread_logs.local.lines = None
    elapsed = int((time.monotonic() - started) * 1000)
    answer = getattr(plugin, "last_response", None) or ""
    response = scrub(" | ".join(filter(None, [answer, *logs])))[:1000]
    if ok:
        return AttemptResult("delivered", response, elapsed, getattr(plugin, "last_ref", None))
    if "Timeout" in answer or "timed out" in response.lower() or "timeout" in response.lower():
        return AttemptResult("timeout", response, elapsed)
    return AttemptResult("failed", response, elapsed)
