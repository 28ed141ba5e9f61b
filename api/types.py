"""Field types whose OpenAPI schema says exactly what the API accepts (issue 15).

Schemathesis found three gaps between the published schema and the validation behind it:

- ``format: time`` promises an RFC 3339 ``full-time`` (with an offset), but quiet hours are a
  local wall-clock time and the answers carry ``22:00:00``: :data:`ClockTime` says so with a
  pattern and accepts only that;
- ``format: date-time`` fields accepted integers and digit strings as Unix times, and dates
  without a time: :data:`Timestamp` accepts an RFC 3339 date-time with its offset, nothing else;
- text fields trimmed then checked for ``minLength: 1`` refused "   " that the schema allowed:
  they carry :data:`NOT_BLANK` (``pattern: \\S``) so that the schema says "not blank" too.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Annotated, Any, Final

from pydantic import AwareDatetime, BeforeValidator, WithJsonSchema

RFC3339: Final = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})"
)
# For StringConstraints(pattern=...) of trimmed text: at least one non-blank character.
NOT_BLANK: Final = r"\S"
CLOCK: Final = re.compile(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?")


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2026-12-03T08:00:00Z")
    return value


def _clock(value: Any) -> Any:
    if isinstance(value, time):
        return value
    if not isinstance(value, str) or not CLOCK.fullmatch(value):
        raise ValueError("must be a local time HH:MM or HH:MM:SS (no offset)")
    return value


Timestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
ClockTime = Annotated[
    time,
    BeforeValidator(_clock),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^{CLOCK.pattern}$",
            "description": "local wall-clock time HH:MM[:SS], no offset",
            "examples": ["22:00"],
        }
    ),
]
