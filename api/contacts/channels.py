"""Contact channels are Apprise URLs: checked when written, masked when read back.

Importing :mod:`alerting.channels` registers smokewatch's own Apprise plugins (Aliyun and
Tencent SMS, Aliyun voice, the checked WeCom/DingTalk/JSON variants), so every URL the alert
engine can send to is accepted here, and nothing else.
"""

from __future__ import annotations

import apprise

from alerting.channels import masked, scheme_of

MAX_URL_LENGTH = 2000


def channel_problem(url: str) -> str | None:
    """Why ``url`` is not a usable Apprise URL, or ``None`` when it is."""
    if not url or len(url) > MAX_URL_LENGTH:
        return f"must be 1 to {MAX_URL_LENGTH} characters"
    if "://" not in url:
        return "not a URL (expected scheme://...)"
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        return f"Apprise cannot use this {scheme_of(url)}:// URL (unknown scheme or bad parts)"
    return None


def mask_channel(url: str) -> str:
    """The URL with passwords, tokens and keys hidden (Apprise's privacy form)."""
    return masked(url)
