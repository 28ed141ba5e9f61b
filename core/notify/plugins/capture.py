"""Read what a provider answered, for plugins that only look at the HTTP status.

Apprise's JSON, WeCom-bot and DingTalk plugins count any HTTP 200 as delivered, while these
providers (and many webhook receivers) answer 200 with ``{"errcode": 93000, ...}``. Apprise
has no response hook, so the modules' ``requests`` name is given a thin proxy that, only
inside :func:`capturing` on the current thread, keeps each response for the caller to judge.
It sends through one ``requests.Session`` per thread (connections kept alive between pages,
the environment's proxy settings read once per host); other threads are never affected.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests

from core.redact import hide_secrets

_local = threading.local()


@functools.lru_cache(maxsize=4096)
def _environment(scheme: str, netloc: str) -> dict[str, Any]:
    """Proxies and CA bundle for one destination, as ``requests`` reads them from the
    environment (``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``...), once per host.

    ``requests`` reads them again for every request (a scan of the environment each time,
    about a tenth of a send's CPU in a storm); the environment does not change while the
    service runs.
    """
    probe = requests.Session()
    try:
        return probe.merge_environment_settings(f"{scheme}://{netloc}/", {}, None, None, None)
    finally:
        probe.close()


def _session() -> requests.Session:
    """This thread's session: connections to a provider are kept alive between pages.

    A sender thread sends one request at a time, so one session per thread never shares a
    connection. A storm of pages to one SMS gateway then pays one TCP (and TLS) handshake
    per thread instead of one per page. Cookies are dropped after every request: pages to
    different people never carry state from one to the next.
    """
    session: requests.Session | None = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # read once per host instead (_environment)
        _local.session = session
    return session


# What a plain provider request may carry to go the short way (see _send): anything else
# (files, cookies, hooks, a client certificate, streaming, auth other than none) goes through
# Session.request with all of requests' behaviour.
_SHORT_WAY = frozenset(
    {"data", "json", "params", "headers", "timeout", "verify", "proxies", "allow_redirects", "auth"}
)


def _send(
    session: requests.Session, method: str, url: str, kwargs: dict[str, Any]
) -> requests.Response:
    """One request to a provider, through the session's adapter when it is a plain one.

    ``Session.request`` merges the session's settings, cookies and hooks into every request:
    about a tenth of a page's CPU (1,236 -> 1,108 us per ``send_once`` to a loopback server,
    three alternating runs), in a storm where the alerting process is bound by the GIL
    (docs/benchmarks.md). A provider's API call carries none of them: it is prepared with the
    session's default headers and sent on the same adapter (the same pooled, kept-alive
    connections, proxies, TLS checks, timeouts and exceptions). A redirect is followed as
    ``Session.send`` follows it. ``tests/test_library_contracts.py`` checks that a server sees
    the same requests both ways.
    """
    if kwargs.keys() - _SHORT_WAY or kwargs.get("auth") is not None:
        return session.request(method, url, **kwargs)
    headers = dict(session.headers)
    headers.update(kwargs.get("headers") or {})
    headers = {name: value for name, value in headers.items() if value is not None}  # as merged
    prepared = requests.Request(
        method,
        url,
        headers=headers,
        data=kwargs.get("data"),
        json=kwargs.get("json"),
        params=kwargs.get("params"),
    ).prepare()
    settings = {
        "timeout": kwargs.get("timeout"),
        "verify": kwargs.get("verify", True),
        "proxies": kwargs.get("proxies") or {},
    }
    response = session.get_adapter(url).send(prepared, **settings)
    response.content  # noqa: B018 - read now: the connection goes back to the pool
    if response.is_redirect and kwargs.get("allow_redirects", True):
        followed = list(session.resolve_redirects(response, prepared, **settings))
        if followed:
            followed[-1].history = [response, *followed[:-1]]
            return followed[-1]
    return response


class _RequestsProxy(ModuleType):
    """Delegates to ``requests`` through this thread's session; records the responses while
    a capture is active."""

    def __init__(self) -> None:
        super().__init__("requests")

    def __getattr__(self, name: str) -> Any:
        return getattr(requests, name)

    @staticmethod
    def _call(method: str, url: str, **kwargs: Any) -> requests.Response:
        seen = getattr(_local, "seen", None)
        parts = urlsplit(url)
        environment = _environment(parts.scheme.lower(), parts.netloc.lower())
        if kwargs.get("proxies") is None:
            kwargs["proxies"] = environment["proxies"]
        if kwargs.get("verify", True) is True:
            kwargs["verify"] = environment["verify"]
        session = _session()
        try:
            response = _send(session, method, url, kwargs)
        except requests.RequestException as exc:
            if seen is not None:
                seen.append(exc)
            raise
        finally:
            session.cookies.clear()
        if seen is not None:
            seen.append(response)
        return response

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        return self._call(method.upper(), url, **kwargs)

    def post(
        self, url: str, data: Any = None, json: Any = None, **kwargs: Any
    ) -> requests.Response:
        return self._call("POST", url, data=data, json=json, **kwargs)

    def get(self, url: str, params: Any = None, **kwargs: Any) -> requests.Response:
        return self._call("GET", url, params=params, **kwargs)


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


_OK_CODES = frozenset({"0", "ok", "200", "success", "succeed", "succeeded"})
_CODE_KEYS = ("errcode", "errno", "code", "statuscode", "status_code", "ret", "result_code")
_MESSAGE_KEYS = ("errmsg", "message", "msg", "statusmessage", "error_description")
_FAIL_WORDS = frozenset({"error", "fail", "failed", "failure", "false"})
_NO_ERROR = frozenset({"", "0", "ok", "success", "none", "null", "false"})


def _folded(body: dict[str, Any]) -> dict[str, Any]:
    """The body's keys in lower case (providers spell them Code, code, StatusCode...)."""
    return {str(k).lower(): v for k, v in body.items()}


def _message(body: dict[str, Any]) -> str:
    for key in _MESSAGE_KEYS:
        if body.get(key):
            return str(body[key])[:200]
    return ""


def _code_error(body: dict[str, Any]) -> str | None:  # noqa: PLR0911 - one rule per shape
    for key in _CODE_KEYS:
        if key in body and body[key] is not None and not isinstance(body[key], (dict, list)):
            value = body[key]
            if isinstance(value, bool):
                if not value:
                    return f"{key}=false {_message(body)}".strip()
                continue
            if str(value).strip().lower() not in _OK_CODES:
                return f"{key}={value} {_message(body)}".strip()
    status = body.get("status")
    if isinstance(status, str) and status.strip().lower() in _FAIL_WORDS:
        return f"status={status} {_message(body)}".strip()
    if isinstance(status, int) and not isinstance(status, bool) and status >= 400:
        return f"status={status} {_message(body)}".strip()
    for flag in ("success", "ok"):
        if body.get(flag) is False or str(body.get(flag)).lower() == "false":
            return f"{flag}=false {_message(body)}".strip()
    error = body.get("error")
    if error and not isinstance(error, bool) and str(error).strip().lower() not in _NO_ERROR:
        detail = _folded(error) if isinstance(error, dict) else None
        if detail is not None:
            return f"error={detail.get('code', '')} {_message(detail)}".strip()
        return f"error={str(error)[:200]}"
    return None


def judge_body(body: Any) -> str | None:
    """The provider's error in a decoded 2xx body, else None (see :func:`body_error`)."""
    if not isinstance(body, dict):
        return None
    folded = _folded(body)
    # Tencent Cloud API 3.0: {"Response": {"Error": {...}}} or a SendStatusSet per number.
    response = folded.get("response")
    if isinstance(response, dict):
        inner = _folded(response)
        error = inner.get("error")
        if isinstance(error, dict):
            detail = _folded(error)
            return f"Error.Code={detail.get('code')} {_message(detail)}".strip()
        for status in inner.get("sendstatusset") or []:
            item = _folded(status) if isinstance(status, dict) else {}
            if str(item.get("code", "")).lower() != "ok":
                return f"SendStatusSet.Code={item.get('code')} {_message(item)}".strip()
    problem = _code_error(folded)
    if problem:
        return problem
    # ServerChan: {"code": 0, "data": {"errno": 0, "error": "SUCCESS"}}.
    data = folded.get("data")
    if isinstance(data, dict):
        inner = _folded(data)
        for key in ("errno", "errcode"):
            if key in inner and str(inner[key]).strip().lower() not in _OK_CODES:
                why = _message(inner) or inner.get("error", "")
                return f"data.{key}={inner[key]} {why}".strip()
    return None


def body_error(response: requests.Response) -> str | None:
    """The provider's error when a 2xx body reports one, else None.

    Keys are read case-insensitively: ``errcode``/``errno`` (WeCom, DingTalk), ``code`` or
    ``Code`` (Aliyun ``OK``, Feishu and ServerChan 0, PushPlus 200), ``StatusCode`` (Feishu),
    ``ret``, ``status`` (a failure word or an HTTP-like number >= 400), ``success``/``ok``
    false, a non-empty ``error``, Tencent's ``Response.Error`` and ``SendStatusSet[].Code``
    other than ``Ok``, ServerChan's ``data.errno``. A body that is not JSON carries no error
    code and counts as the status code says.
    """
    try:
        body = orjson.loads(response.content or b"null")
    except orjson.JSONDecodeError:
        return None
    return judge_body(body)


def scrub(text: str) -> str:
    """Hide credentials that providers carry in URLs (WeCom ``key=``, DingTalk tokens...)."""
    return hide_secrets(text)


def describe(response: requests.Response | requests.RequestException) -> str:
    """``HTTP <status>: <body>`` (or the request error, secrets hidden), truncated."""
    if isinstance(response, requests.RequestException):
        return scrub(f"{type(response).__name__}: {response}")[:500]
    text = (response.content or b"")[:500].decode("utf-8", "replace")
    return f"HTTP {response.status_code}: {text}"
