"""Hide personal data and credentials in text that people or logs will see.

One function, :func:`redact`, serves both the log path (``RedactingFilter``) and the API's
presentation of provider answers. Providers echo what they were sent: Aliyun puts
``PhoneNumbers=138...`` in error messages, Tencent returns ``PhoneNumber`` in
``SendStatusSet``, webhook URLs carry keys. Phone numbers keep their last 4 digits, so an
operator can still tell two contacts apart; credentials are replaced entirely.

Names cannot be recognised by a pattern: code must never log message bodies or names.
"""

from __future__ import annotations

import logging
import re

# Mainland mobiles (optionally +86 / 86), landlines with an area code and a dash, and any
# other international number written with '+'. Digit look-arounds keep longer runs (epoch
# milliseconds, ids) intact.
_PHONE = re.compile(
    r"(?<!\d)(?:(?:\+|00)?86[-\s]?)?1[3-9]\d{9}(?!\d)"
    r"|(?<!\d)0\d{2,3}-\d{7,8}(?!\d)"
    r"|\+\d{8,15}(?!\d)"
)
_SECRET_QUERY = re.compile(
    r"((?:access_?)?(?:key|token|secret|sign|signature|sendkey|apikey|password)=)[^&\s'\")]+",
    re.IGNORECASE,
)
_BOT_TOKEN = re.compile(r"bot\d+:[\w-]+")
# scheme://user:password@ -> scheme://***:***@ (cloud APIs put the key id in the user part)
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^:/@\s]*:[^@\s/]+@", re.IGNORECASE)
# Apprise schemes whose host part is the credential itself (a bot key or token).
_TOKEN_HOST = re.compile(
    r"(\b(?:wecombot|dingtalk|feishu|schan|pushplus|wxpusher|lark)://)[^/\s?#'\"]+",
    re.IGNORECASE,
)


def mask_number(match: re.Match[str]) -> str:
    """Keep the last 4 digits of a matched number."""
    text = match.group()
    return "*" * (len(text) - 4) + text[-4:]


def hide_secrets(text: str) -> str:
    """Hide credentials carried in URLs and query strings (keys, tokens, passwords)."""
    text = _URL_PASSWORD.sub(r"\1***:***@", text)
    text = _TOKEN_HOST.sub(r"\1***", text)
    return _BOT_TOKEN.sub("bot***", _SECRET_QUERY.sub(r"\1***", text))


def mask_phones(text: str) -> str:
    """Phone numbers reduced to their last 4 digits."""
    return _PHONE.sub(mask_number, text)


def redact(text: str) -> str:
    """``text`` without phone numbers, keys or tokens: fit for a log line or a viewer."""
    return mask_phones(hide_secrets(text))


class RedactingFilter(logging.Filter):
    """Rewrites a log record's message through :func:`redact` before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: leave it to the handler's own error path
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


__all__ = ["RedactingFilter", "hide_secrets", "mask_phones", "redact"]
