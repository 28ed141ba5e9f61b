"""Notification channels: one send through Apprise, and the Apprise plugins smokewatch adds.

Both the alert engine (which sends) and the API (which checks a contact's channel when it is
written) need Apprise to know our plugins. Nothing is registered on import: each calls
:func:`register_plugins` before using Apprise (alerting at start-up, the API when it checks a
channel); :mod:`core.notify.channels` calls it too, so a send never misses a plugin.
"""

from __future__ import annotations

import threading
from typing import Any

from apprise.manager_plugins import NotificationManager
from apprise.plugins import custom_json, dingtalk, wecombot

from core.notify.logs import guard_apprise_log
from core.notify.plugins.capture import install
from core.notify.plugins.checked import CheckedDingTalk, CheckedJSON, CheckedWeComBot
from core.notify.plugins.cloud import (
    NotifyAliyunSMS,
    NotifyAliyunVoice,
    NotifyTencentSMS,
    NotifyTencentVoice,
)

_lock = threading.Lock()
_registered = False


def register_plugins() -> None:
    """Make Apprise use our plugins and keep its log redacted (idempotent, thread-safe)."""
    global _registered  # noqa: PLW0603 - a process-wide registry is what Apprise offers
    if _registered:
        return
    with _lock:
        if _registered:
            return
        # Redaction first: Apprise logs while it parses a URL, before any send.
        guard_apprise_log()
        # The checked plugins read the provider's answer through these modules' ``requests``.
        for module in (custom_json, wecombot, dingtalk):
            install(module)
        manager = NotificationManager()
        plugins: tuple[type[Any], ...] = (
            CheckedJSON,
            CheckedWeComBot,
            CheckedDingTalk,
            NotifyAliyunSMS,
            NotifyAliyunVoice,
            NotifyTencentSMS,
            NotifyTencentVoice,
        )
        for plugin in plugins:
            manager.add(plugin, force=True)
        _registered = True


__all__ = ["register_plugins"]
