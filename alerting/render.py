"""Messages from template files: ``templates/<kind>.<channel>.<locale>.txt``.

Channel classes: ``sms`` (short, one message where it fits), ``voice`` (read aloud, no link)
and ``chat`` (WeCom, DingTalk, webhooks: a title line ``# ...`` then the body). Missing
values render as "-" so a half-filled household file still produces a usable message.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from string import Template
from urllib.parse import urlsplit

from alerting.errors import TemplateMissing

SMS_SCHEMES = frozenset({"aliyunsms", "tencentsms", "sms"})
VOICE_SCHEMES = frozenset({"alivoice", "tencentvoice", "ttscall"})
CHANNELS = ("chat", "sms", "voice")
# One SMS segment carries 70 Chinese characters; with an address and a link we allow a
# two-segment long SMS and shorten optional parts before that.
SMS_MAX_CHARS = 134

ROLE_LABELS = {
    "zh-CN": {
        "resident": "住户",
        "guardian": "监护人",
        "family": "家属",
        "grid_worker": "网格员",
        "village_cadre": "村干部",
        "neighbour": "邻居",
        "key_holder": "钥匙保管人",
        "duty_desk": "值班室",
        "supervisor": "值班长",
        "maintainer": "维护员",
        "installer": "安装员",
    },
    "en": {},
}
EVENT_LABELS = {
    "zh-CN": {"fire": "烟感报警", "heat": "高温报警", "tamper": "烟感被拆"},
    "en": {"fire": "smoke alarm", "heat": "heat alarm", "tamper": "detector removed"},
}


# How an incident ended, for the "closed" message to everyone paged.
OUTCOME_LABELS = {
    "zh-CN": {"real_fire": "真实火情", "false_alarm": "误报", "test": "测试",
              "device_fault": "设备故障"},
    "en": {"real_fire": "real fire", "false_alarm": "false alarm", "test": "test",
           "device_fault": "device fault"},
}  # fmt: skip
CAUSE_LABELS = {
    "zh-CN": {"cooking": "做饭", "smoking": "吸烟", "steam": "水蒸气", "dust": "灰尘",
              "insects": "虫子", "other": "其他"},
    "en": {},
}  # fmt: skip


def outcome_label(outcome: str, cause: str | None, locale: str) -> str:
    """The outcome as people say it: "误报（做饭）", "false alarm (cooking)"."""
    text = OUTCOME_LABELS.get(locale, {}).get(outcome, outcome.replace("_", " "))
    if cause:
        said = CAUSE_LABELS.get(locale, {}).get(cause, cause)
        text += f"（{said}）" if locale == "zh-CN" else f" ({said})"
    return text


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


def role_label(role: str, locale: str) -> str:
    """A role as people say it."""
    return ROLE_LABELS.get(locale, {}).get(role, role.replace("_", " "))
