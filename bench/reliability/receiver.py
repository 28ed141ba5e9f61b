"""A loopback HTTP receiver standing in for notification providers, with switchable faults.

Paths ``/ok/<who>`` always answer 200 ``{"errcode": 0}``. Paths ``/flaky/<who>`` obey
``fault``: ``None`` (healthy), ``"hang"`` (never answers while the fault lasts), ``"500"``,
``"err"`` (200 with an error code in the body, as WeCom/DingTalk do, echoing the path) or
``"slow"`` (answers after ``slow_s``). Every request is recorded with its arrival time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Literal

from devtools.http import LoopbackHTTPServer

Fault = Literal["hang", "500", "err", "slow"] | None


@dataclass(frozen=True)
class Hit:
    """One request: path, arrival (monotonic), body, and the status we answered."""

    path: str
    at: float
    body: bytes
    status: int
    ok: bool


class Receiver:
    """A threaded HTTP server on 127.0.0.1 recording every request."""

    def __init__(self, *, slow_s: float = 3.0, hang_limit_s: float = 600.0) -> None:
        self.fault: Fault = None
        self.slow_s = slow_s
        self.hang_limit_s = hang_limit_s  # every wait is bounded, even a hang
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        self._healed = threading.Event()
        self._healed.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as providers' gateways offer it (HTTP/1.0 closed every connection).
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 1_000_000))
                status, answer = receiver._answer(self.path)
                with receiver._lock:
                    ok = status == 200 and b"93000" not in answer
                    receiver.hits.append(Hit(self.path, time.monotonic(), body, status, ok))
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the client gave up: that is what a timeout test expects

            def log_message(self, *args: object) -> None:
                pass

        self._server = LoopbackHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str, *, key: str | None = None) -> str:
        """An Apprise ``json://`` URL; ``key`` puts a provider key in it (masking checks)."""
        auth = f"apikey:{key}@" if key else ""
        return f"json://{auth}127.0.0.1:{self.port}/{path.lstrip('/')}"

    def set_fault(self, fault: Fault) -> None:
        self.fault = fault
        if fault == "hang":
            self._healed.clear()
        else:
            self._healed.set()

    def _answer(self, path: str) -> tuple[int, bytes]:
        fault = self.fault if path.startswith("/flaky/") else None
        if fault == "hang":
            self._healed.wait(self.hang_limit_s)
            return 200, b'{"errcode": 0}'
        if fault == "500":
            return 500, b"internal error"
        if fault == "err":  # echoes the path, as providers echo the number they refused
            return (
                200,
                b'{"errcode": 93000, "errmsg": "invalid webhook url ' + path.encode() + b'"}',
            )
        if fault == "slow":
            time.sleep(self.slow_s)
        return 200, b'{"errcode": 0, "errmsg": "ok"}'

    def delivered(self, who: str) -> list[Hit]:
        """Successful requests for person ``who`` on any channel."""
        with self._lock:
            return [h for h in self.hits if h.ok and h.path.rstrip("/").endswith("/" + who)]

    def start(self) -> Receiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._healed.set()
        self._server.shutdown()
        self._server.server_close()
