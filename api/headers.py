"""Security headers on every response, unless a route already set its own.

- ``Referrer-Policy: no-referrer``: relatives' pages carry their token in the URL; a map tile or
  any other third-party request must never receive that URL in a Referer header.
- ``X-Content-Type-Options: nosniff`` and ``X-Frame-Options: DENY``: no content sniffing, no
  framing of the acknowledge buttons by another site (clickjacking).
- ``Cache-Control: no-store`` on ``/api/``: answers carry names, addresses and phone numbers;
  neither a shared proxy nor the browser's disk keeps them.
- ``Strict-Transport-Security`` (one year, subdomains) in production on HTTPS: on a request that
  came over HTTPS (uvicorn takes the scheme from a trusted proxy's ``X-Forwarded-Proto``), or
  on every answer when the public URL is ``https://`` (a TLS proxy in front). A browser keeps
  to HTTPS afterwards, so a relative's token never travels in clear on a hostile network.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULTS = (
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
)


HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeadersMiddleware:
    """Adds the headers above to HTTP responses."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False, public_https: bool = False) -> None:
        self.app = app
        self.hsts = hsts
        self.public_https = public_https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = str(scope.get("path", "")).startswith("/api/")
        https = self.hsts and (self.public_https or scope.get("scheme") == "https")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in DEFAULTS:
                    headers.setdefault(name, value)
                if private:
                    headers.setdefault("cache-control", "no-store")
                if https:
                    headers.setdefault("strict-transport-security", HSTS)
            await send(message)

        await self.app(scope, receive, send_wrapper)
