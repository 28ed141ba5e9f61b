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
from pydantic_core import PydanticCustomError

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

# A Chinese mobile number (1[3-9] and nine digits, in one block or as 3-4-4 with spaces or
# hyphens), optionally after +86, or a landline (area code 0xx or 0xxx, a hyphen or space or
# nothing, then 7 or 8 digits). The schema's pattern and the check are these expressions.
MOBILE: Final = r"1[3-9][0-9](?:[ -]?[0-9]{4}){2}"
LANDLINE: Final = r"0[0-9]{2,3}[ -]?[0-9]{7,8}"
PHONE: Final = re.compile(rf"(?:\+?86[ -]?)?({MOBILE}|{LANDLINE})")
PHONE_MESSAGE: Final = (
    "请填写手机号（如 13812345678）或座机号（如 0537-1234567）; "
    "not a Chinese mobile (e.g. 13812345678) or landline (e.g. 0537-1234567) number"
)


def normalise_phone(text: str) -> str | None:
    """The number as stored (mobile: 11 digits; landline: area code, hyphen, number), or None
    when ``text`` is neither a Chinese mobile nor a landline number."""
    found = PHONE.fullmatch(text.strip())
    if found is None:
        return None
    number = found[1]
    if number.startswith("1"):
        return re.sub(r"[ -]", "", number)
    return number.replace(" ", "-")


def _phone(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # not text: pydantic's own type error
    number = normalise_phone(value)
    if number is None:
        raise PydanticCustomError("phone_number", PHONE_MESSAGE)
    return number


Phone = Annotated[
    str,
    BeforeValidator(_phone),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": rf"^\s*{PHONE.pattern}\s*$",
            "description": "Chinese mobile (+86 optional) or landline number",
            "examples": ["13812345678", "0537-1234567"],
        }
    ),
]
