"""The pages' static files over real HTTP: odd paths are 404, never 500 (issue 15, item 6)."""

from __future__ import annotations

import logging
import socket
from urllib.parse import urlsplit

import httpx
import pytest

ODD = [
    "/ui/static/a%00",
    "/ui/static/js/board.js%00.png",
    "/ui/static/../routes.py",
    "/ui/static/%2e%2e/routes.py",
    "/ui/static/%2e%2e%2froutes.py",
    "/ui/static/js/nope.js",
    "/ui/static/js",
    "/ui/static/",
    "/ui/static/js/%ff%fe.js",
    "/ui/static/" + "a" * 5000 + ".js",
    "/ui/static/..%5c..%5croutes.py",
    "/ui/static/js/board.js/",
    "/ui/static/html/board.html",
]


def raw_get(base_url: str, target: str) -> int:
    """GET exactly ``target`` (no client normalisation of ``..``); the status code."""
    parts = urlsplit(base_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                     "Connection: close\r\n\r\n".encode())  # fmt: skip
        head = sock.recv(65536)
    return int(head.split(b" ")[1])


@pytest.mark.parametrize("target", ODD)
def test_read_static_odd_path_is_404(
    api_server: str, target: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert raw_get(api_server, target) == 404
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_read_static_file_served_with_its_type(api_server: str) -> None:
    response = httpx.get(api_server + "/ui/static/js/board.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"
    css = httpx.get(api_server + "/ui/static/css/app.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert httpx.head(api_server + "/ui/static/js/board.js").status_code == 200
