"""Apprise plugins smokewatch adds or hardens; :func:`register` makes Apprise use them."""

from __future__ import annotations

from typing import Any

from apprise.manager_plugins import NotificationManager

from alerting.plugins.checked import CheckedDingTalk, CheckedJSON, CheckedWeComBot
from alerting.plugins.cloud import (
    NotifyAliyunSMS,
    NotifyAliyunVoice,
    NotifyTencentSMS,
    NotifyTencentVoice,
)

_registered = False


def register() -> None:
    """Install our plugins in Apprise's registry (once per process)."""
    global _registered  # noqa: PLW0603 - a process-wide registry is what Apprise offers
    if _registered:
        return
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
