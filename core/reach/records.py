"""What a provider's callback says, once parsed at the API's edge; and the callback's proof."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Receipt:
    """One delivery report, call result or keypress for one attempt (by the provider's id).

    ``reached`` is True (delivered to the handset, call answered), False (not reached: failed
    at the handset, busy, no answer, powered off...) or None (says nothing about reach, e.g.
    a keypress-only report). ``keypress`` is the key the person pressed, if any.
    """

    provider: str
    ref: str
    reached: bool | None
    detail: str
    at: datetime
    keypress: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """An upstream SMS (a person's reply) from a phone number."""

    provider: str
    phone: str
    text: str
    at: datetime


def phone_key(number: str) -> str:
    """The comparable part of a phone number: its digits without a +86/0086 country code."""
    digits = re.sub(r"\D", "", number or "")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def callback_token_ok(given: str | None, expected: str | None) -> bool:
    """Whether a callback carries the shared token configured in the provider's console."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
