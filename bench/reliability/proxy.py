"""A loopback TCP proxy that can cut, refuse or black-hole connections on command.

Put it between a service and PostgreSQL or Mosquitto to make a network fault without root
or network namespaces: ``cut()`` resets every open connection (a cable pulled), ``refuse()``
closes new connections at once (a firewall RST), ``blackhole()`` accepts and swallows bytes
without answering (a silent drop, the worst case for keepalives), ``heal()`` forwards again.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from typing import Literal

Mode = Literal["forward", "refuse", "blackhole"]
_CHUNK = 65_536


class FaultProxy:
    """Forward 127.0.0.1:<port> to ``target``; one thread per connection pair, all daemons."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.mode: Mode = "forward"
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket | None]] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._closed = threading.Event()
        self.accepted = 0
        self.cuts = 0

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def start(self) -> FaultProxy:
        threading.Thread(target=self._accept_loop, name="faultproxy", daemon=True).start()
        return self

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        self.cut()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def heal(self) -> None:
        self.mode = "forward"

    def refuse(self) -> None:
        """New connections are closed at once; open ones are reset."""
        self.mode = "refuse"
        self.cut()

    def blackhole(self) -> None:
        """New connections are accepted and never answered; open ones go silent too."""
        self.mode = "blackhole"

    def cut(self) -> int:
        """Reset every open connection (RST, not FIN); return how many pairs were cut."""
        with self._lock:
            pairs = list(self._pairs)
            self._pairs.clear()
        for pair in pairs:
            for sock in pair:
                if sock is not None:
                    _reset(sock)
        self.cuts += len(pairs)
        return len(pairs)

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # listener closed
            self.accepted += 1
            if self.mode == "refuse":
                _reset(client)
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        if self.mode == "forward":
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                return
            upstream.settimeout(None)
        pair = (client, upstream)
        with self._lock:
            self._pairs.add(pair)
        try:
            self._pump(client, upstream)
        finally:
            with self._lock:
                self._pairs.discard(pair)
            for sock in pair:
                if sock is not None:
                    sock.close()

    def _pump(self, client: socket.socket, upstream: socket.socket | None) -> None:
        sel = selectors.DefaultSelector()
        sel.register(client, selectors.EVENT_READ, upstream)
        if upstream is not None:
            sel.register(upstream, selectors.EVENT_READ, client)
        try:
            while not self._closed.is_set():
                for key, _ in sel.select(timeout=0.5):
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    try:
                        data = src.recv(_CHUNK)
                    except OSError:
                        return
                    if not data:
                        return
                    if self.mode == "blackhole" or key.data is None:
                        continue  # swallowed: the sender sees an open, silent peer
                    try:
                        key.data.sendall(data)
                    except OSError:
                        return
        finally:
            sel.close()


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a dropped route or a firewall reject looks."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()
