"""Contact channels are Apprise URLs: checked when written, masked when read back.

A channel is checked against Apprise with smokewatch's own plugins registered
(:func:`core.notify.register_plugins`: Aliyun and Tencent SMS, Aliyun voice, the checked
WeCom/DingTalk/JSON variants), as the alert engine will send it. Parsing is not enough:
the alert engine posts alarm text (names, addresses) to whatever a contact's channel names, so
only schemes that reach a person are accepted (``SMOKEWATCH_API_CONTACT_CHANNEL_SCHEMES``), and
generic webhooks (``json://``) only in development and test, where tests and the demo inbox use
them on loopback.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

import apprise

from api.types import PHONE_MESSAGE, normalise_phone
from core.notify import register_plugins
from core.notify.channels import masked, scheme_of

MAX_URL_LENGTH = 2000
# Person-facing channels the project ships plugins for (core/notify/plugins): SMS, voice calls
# and the WeCom/DingTalk group bots (their hosts are fixed by the plugin, not taken from the URL).
DEFAULT_CHANNEL_SCHEMES = ("aliyunsms", "alivoice", "tencentsms", "wecombot", "dingtalk")
# Generic webhooks: posting alarm text to any host; allowed in development and test only.
DEVELOPMENT_SCHEMES = frozenset({"json", "jsons"})
LAX_ENVIRONMENTS = frozenset({"development", "test"})
# SMS and voice URLs name the numbers they call after their template (and app) parts:
# aliyunsms://Key:Secret@Template/138..., alivoice://Key:Secret@TtsCode/138...,
# tencentsms://Id:Key@SdkAppId/TemplateId/+86138... (core/notify/plugins/cloud.py).
PHONE_TARGETS_FROM = {"aliyunsms": 1, "alivoice": 1, "tencentsms": 2}


def channel_problem(url: str) -> str | None:
    """Why ``url`` is not a usable Apprise URL, or ``None`` when it is."""
    if not url or len(url) > MAX_URL_LENGTH:
        return f"must be 1 to {MAX_URL_LENGTH} characters"
    if "://" not in url:
        return "not a URL (expected scheme://...)"
    register_plugins()
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        return f"Apprise cannot use this {scheme_of(url)}:// URL (unknown scheme or bad parts)"
    return phone_problem(url)


def phone_problem(url: str) -> str | None:
    """Why a number an SMS or voice URL would call is not a phone number, or ``None``.

    Read from the URL's parts, not through Apprise, so that a masked URL sent back (secret
    hidden, numbers as stored) is checked the same way."""
    first = PHONE_TARGETS_FROM.get(scheme_of(url))
    if first is None:
        return None
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    targets = [unquote(p) for p in [host, *parts.path.split("/")] if p]
    for number in targets[first:]:
        if normalise_phone(number) is None:
            return f"{number!r}: {PHONE_MESSAGE}"
    return None


def policy_problem(url: str, *, schemes: Iterable[str], environment: str) -> str | None:
    """Why ``url`` may not be a contact's channel here (scheme or destination), or ``None``."""
    scheme = scheme_of(url)
    allowed = {s.lower() for s in schemes}
    lax = environment in LAX_ENVIRONMENTS
    if lax:
        allowed |= DEVELOPMENT_SCHEMES
    if scheme not in allowed:
        return f"{scheme}:// is not an allowed channel (allowed: {', '.join(sorted(allowed))})"
    if not lax and _internal_host(url):
        return "the channel points at a private, loopback or link-local address"
    return None


def _internal_host(url: str) -> bool:
    # Literal addresses and 'localhost' only: names are not resolved at request time (a DNS
    # lookup per write is slow and its answer may change before the send anyway).
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return True
    if not host:
        return False
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def mask_channel(url: str) -> str:
    """The URL with passwords, tokens and keys hidden (Apprise's privacy form)."""
    return masked(url)
