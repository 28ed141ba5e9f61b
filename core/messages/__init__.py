"""The one message catalogue: the words people read in alerts, digests and on the pages.

``catalogue.json`` holds one flat dictionary per language, Simplified Chinese first, keyed
``group.value`` like the pages' own strings: event types (``kind`` as a list shows it,
``event`` as a message says it), incident states and outcomes, false-alarm causes, delivery
outcomes, contact roles, channel classes, work orders, and the few pieces of grammar a message
is built with (``message.*``). The alerting templates and digests read it through :func:`word`
and :func:`phrase`; the pages read the same file (api/pages serves it as a module for i18n.js).

English entries are written as labels ("False alarm"); inside a sentence, ``inline=True``
gives "false alarm". Placeholders are ``{name}``, as on the pages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources

LOCALES = ("zh-CN", "en")


@cache
def catalogue() -> Mapping[str, Mapping[str, str]]:
    """The catalogue, read once: ``{locale: {"group.value": text}}``."""
    text = resources.files(__package__).joinpath("catalogue.json").read_text(encoding="utf-8")
    loaded: dict[str, dict[str, str]] = json.loads(text)
    return loaded


def word(group: str, value: str, locale: str, *, inline: bool = False) -> str:
    """How people say ``value`` of ``group``; an unknown value as itself, ``_`` as spaces."""
    text = catalogue().get(locale, {}).get(f"{group}.{value}")
    if text is None:
        return value.replace("_", " ")
    # A label starts with a capital in English; mid-sentence it does not (but "SMS" stays).
    if inline and locale != "zh-CN" and not text[1:2].isupper():
        return text[:1].lower() + text[1:]
    return text


def phrase(key: str, locale: str, **values: object) -> str:
    """A catalogue text with its ``{name}`` placeholders filled: ``phrase("message.people",
    "en", n=3)`` is "3 people"."""
    text = catalogue().get(locale, {}).get(key) or catalogue()[LOCALES[0]][key]
    return text.format_map(values)
