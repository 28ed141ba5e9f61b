"""Messages from template files: ``templates/<kind>.<channel>.<locale>.txt``.

Channel classes: ``sms`` (short, one message where it fits), ``voice`` (read aloud, no link)
and ``chat`` (WeCom, DingTalk, webhooks: a title line ``# ...`` then the body). Missing
values render as "-" so a half-filled household file still produces a usable message. The
words filled in (events, outcomes, roles) come from the message catalogue (core/messages).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template
from urllib.parse import urlsplit

from alerting.errors import TemplateMissing
from core.messages import phrase, word

SMS_SCHEMES = frozenset({"aliyunsms", "tencentsms", "sms"})
VOICE_SCHEMES = frozenset({"alivoice", "tencentvoice", "ttscall"})
CHANNELS = ("chat", "sms", "voice")
# One SMS segment carries 70 Chinese characters; with an address and a link we allow a
# two-segment long SMS and shorten optional parts before that.
SMS_MAX_CHARS = 134


def outcome_label(outcome: str, cause: str | None, locale: str) -> str:
    """The outcome as people say it: "误报（做饭）", "false alarm (cooking)"."""
    text = word("outcome", outcome, locale, inline=True)
    if cause:
        return phrase("message.with_cause", locale, outcome=text,
                      cause=word("cause", cause, locale, inline=True))  # fmt: skip
    return text


def event_label(kind: str, locale: str) -> str:
    """The alarm as a message says it: "烟感报警", "smoke alarm"."""
    return word("event", kind, locale, inline=True)


def person_label(name: str, role: str, locale: str) -> str:
    """A person with their role, as messages name them: "王小明(家属)"."""
    return phrase("message.person", locale, name=name, role=word("role", role, locale, inline=True))


def channel_of(url: str) -> str:
    """Which message shape an Apprise URL receives."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in SMS_SCHEMES:
        return "sms"
    if scheme in VOICE_SCHEMES:
        return "voice"
    return "chat"


@cache
def _template(kind: str, channel: str, locale: str) -> Template:
    name = f"{kind}.{channel}.{locale}.txt"
    folder = resources.files("alerting").joinpath("templates")
    entry = folder.joinpath(name)
    if not entry.is_file():
        if channel != "chat":
            return _template(kind, "chat", locale)
        raise TemplateMissing(f"no template {name}")
    return Template(entry.read_text(encoding="utf-8").strip())


@dataclass(frozen=True, slots=True)
class Message:
    """One rendered message."""

    title: str
    body: str


def render(kind: str, channel: str, locale: str, values: dict[str, str]) -> Message:
    """Fill the template; SMS is shortened step by step (see :data:`SMS_STEPS`) to fit."""
    filled = {k: (v if v not in (None, "") else "-") for k, v in values.items()}
    template = _template(kind, channel, locale)
    text = template.substitute(filled)
    if channel == "sms":
        for step in SMS_STEPS:
            if len(text) <= SMS_MAX_CHARS:
                break
            filled |= step(filled, values)
            text = template.substitute(filled)
    title = ""
    if text.startswith("# "):
        first, _, rest = text.partition("\n")
        title, text = first[2:].strip(), rest.strip()
    return Message(title=title, body=text)


def _clip(text: str, size: int) -> str:
    return text[:size] + "…" if len(text) > size else text


# Ways to shorten an SMS, least loss first: who else was told by name only, then as a
# count, then the situation, the room, and finally a clipped address. The link always stays.
SMS_STEPS = (
    lambda f, v: {"others": v.get("others_names") or f.get("others", "")},
    lambda f, v: {"others": v.get("others_count") or "…"},
    lambda f, v: {"situation": "…"},
    lambda f, v: {"room": ""},
    lambda f, v: {"address": _clip(f.get("address", ""), 24)},
)


def render_all(
    kind: str, locale: str, values: dict[str, str], channels: list[str]
) -> dict[str, dict[str, str]]:
    """Render once per channel class used by ``channels`` (Apprise URLs)."""
    out: dict[str, dict[str, str]] = {}
    for shape in sorted({channel_of(url) for url in channels}):
        message = render(kind, shape, locale, values)
        out[shape] = {"title": message.title, "body": message.body}
    return out
