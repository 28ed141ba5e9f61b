"""Read what a provider answered, for plugins that only look at the HTTP status.

Apprise's JSON, WeCom-bot and DingTalk plugins count any HTTP 200 as delivered, while these
providers (and many webhook receivers) answer 200 with ``{"errcode": 93000, ...}``. Apprise
has no response hook, so the modules' ``requests`` name is given a thin proxy that, only
inside :func:`capturing` on the current thread, keeps each response for the caller to judge.
Outside a capture it is exactly ``requests``; other threads are never affected.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import orjson
import requests

_local = threading.local()


class _RequestsProxy(ModuleType):
    """Delegates to ``requests``; records responses while a capture is active."""

    def __init__(self) -> None:
        super().__init__("requests")

    def __getattr__(self, name: str) -> Any:
        return getattr(requests, name)

    @staticmethod
    def _call(method: str, *args: Any, **kwargs: Any) -> requests.Response:
        seen = getattr(_local, "seen", None)
        try:
            response: requests.Response = getattr(requests, method)(*args, **kwargs)
        except requests.RequestException as exc:
            if seen is not None:
                seen.append(exc)
            raise
        if seen is not None:
            seen.append(response)
        return response

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        return self._call("request", *args, **kwargs)

    def post(self, *args: Any, **kwargs: Any) -> requests.Response:
        return self._call("post", *args, **kwargs)

    def get(self, *args: Any, **kwargs: Any) -> requests.Response:
        return self._call("get", *args, **kwargs)


PROXY = _RequestsProxy()


def install(module: ModuleType) -> None:
    """Route ``module``'s use of ``requests`` through the capturing proxy."""
    if getattr(module, "requests", None) is requests:
        module.requests = PROXY  # type: ignore[attr-defined]


@contextmanager
def capturing() -> Iterator[list[requests.Response | requests.RequestException]]:
    """Collect the responses (or request errors) of the current thread inside the block."""
    previous = getattr(_local, "seen", None)
    seen: list[requests.Response | requests.RequestException] = []
    _local.seen = seen
    try:
        yield seen
    finally:
        _local.seen = previous


def body_error(response: requests.Response) -> str | None:  # noqa: PLR0911 - one rule per shape
    """The provider's error when a 2xx body reports one, else None.

    Recognised: ``errcode`` (WeCom, DingTalk), ``code`` (Feishu, many webhooks; 0, "0", "OK",
    200 mean success), ``success``/``ok`` false, or a non-empty ``error``. A body that is not
    JSON carries no error code and counts as the status code says.
    """
    try:
        body = orjson.loads(response.content or b"null")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    if "errcode" in body and body["errcode"] not in (0, "0"):
        return f"errcode={body['errcode']} {body.get('errmsg', '')}".strip()
    if "code" in body and str(body["code"]).upper() not in ("0", "OK", "200", "SUCCESS"):
        return f"code={body['code']} {body.get('msg') or body.get('message') or ''}".strip()
    for flag in ("success", "ok"):
        if body.get(flag) is False:
            return f"{flag}=false {body.get('message') or body.get('msg') or ''}".strip()
    if body.get("error"):
        return f"error={str(body['error'])[:200]}"
    return None


_SECRET_QUERY = re.compile(
    r"((?:access_)?(?:key|token|secret|sign|signature|sendkey)=)[^&\s'\")]+", re.IGNORECASE
)
_BOT_TOKEN = re.compile(r"bot\d+:[\w-]+")


def scrub(text: str) -> str:
    """Hide credentials that providers carry in URLs (WeCom ``key=``, DingTalk tokens...)."""
    return _BOT_TOKEN.sub("bot***", _SECRET_QUERY.sub(r"\1***", text))


def describe(response: requests.Response | requests.RequestException) -> str:
    """``HTTP <status>: <body>`` (or the request error, secrets hidden), truncated."""
    if isinstance(response, requests.RequestException):
        return scrub(f"{type(response).__name__}: {response}")[:500]
    text = (response.content or b"")[:500].decode("utf-8", "replace")
    return f"HTTP {response.status_code}: {text}"
