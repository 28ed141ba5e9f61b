"""Sends keep their connection to a provider alive (issue 22: a storm's thousands of pages
to one SMS gateway), while each page stays on its own: no cookie carried from one to the
next, and the environment's proxy settings still apply."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.notify.channels import send_once
from core.notify.plugins import capture


class Seen:
    """What a keep-alive HTTP/1.1 server saw: (client port, path, Cookie header) per request."""

    def __init__(self) -> None:
        self.requests: list[tuple[int, str, str | None]] = []
        self.lock = threading.Lock()


@contextmanager
def http11_server() -> Iterator[tuple[int, Seen]]:
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with seen.lock:
                seen.requests.append((self.client_address[1], self.path, self.headers["Cookie"]))
            body = b'{"errcode": 0, "errmsg": "ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Set-Cookie", "session=from-the-provider; Path=/")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


def send_three(port: int) -> list[str]:
    outcomes = []
    for n in range(3):
        result = send_once(
            f"json://127.0.0.1:{port}/page/{n}", title="火警", body="测试", timeout_s=5.0
        )
        outcomes.append(result.outcome)
    return outcomes


def test_send_keeps_the_connection_and_drops_cookies() -> None:
    with http11_server() as (port, seen):
        outcomes: list[str] = []
        # A fresh thread: its session is new, so the first page opens the one connection.
        worker = threading.Thread(target=lambda: outcomes.extend(send_three(port)))
        worker.start()
        worker.join(timeout=30)
    assert outcomes == ["delivered"] * 3
    ports = {client_port for client_port, _, _ in seen.requests}
    assert [path for _, path, _ in seen.requests] == ["/page/0", "/page/1", "/page/2"]
    assert len(ports) == 1, "every page of one sender thread reuses its connection"
    assert [cookie for _, _, cookie in seen.requests] == [None, None, None]


def test_send_still_goes_through_the_environments_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    with http11_server() as (proxy_port, proxied), http11_server() as (port, direct):
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_port}")
        monkeypatch.setenv("NO_PROXY", "")
        monkeypatch.delenv("http_proxy", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        capture._environment.cache_clear()
        try:
            result = send_once(
                f"json://127.0.0.1:{port}/via-proxy", title="火警", body="测试", timeout_s=5.0
            )
        finally:
            capture._environment.cache_clear()
    assert result.outcome == "delivered"
    assert direct.requests == []
    # A proxy receives the absolute URL of the destination.
    assert [path for _, path, _ in proxied.requests] == [f"http://127.0.0.1:{port}/via-proxy"]
