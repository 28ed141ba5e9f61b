"""A minimal MQTT 3.1.1 QoS 1 publisher over a raw socket, for load generation only.

paho spends most of a publish in Python bookkeeping; a benchmark whose publisher is the
bottleneck measures the publisher. Here PUBLISH packets are encoded up front and written in
large buffers, while a reader thread counts PUBACKs; a window bounds what is in flight.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Sequence

from core.config import parse_mqtt_url


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(value: bytes) -> bytes:
    return struct.pack("!H", len(value)) + value


def connect_packet(client_id: str) -> bytes:
    variable = _string(b"MQTT") + bytes([4, 0x02]) + struct.pack("!H", 0)
    payload = _string(client_id.encode())
    body = variable + payload
    return b"\x10" + _remaining_length(len(body)) + body


def publish_packet(topic: bytes, payload: bytes, packet_id: int) -> bytes:
    body = _string(topic) + struct.pack("!H", packet_id) + payload
    return b"\x32" + _remaining_length(len(body)) + body


class RawPublisher:
    """Publishes pre-built messages at QoS 1 and counts the broker's PUBACKs."""

    def __init__(self, mqtt_url: str, client_id: str, window: int = 20_000) -> None:
        endpoint = parse_mqtt_url(mqtt_url)
        self._sock = socket.create_connection((endpoint.host, endpoint.port), timeout=10)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.sendall(connect_packet(client_id))
        connack = self._recv_exact(4)
        if connack[0] != 0x20 or connack[3] != 0:
            raise ConnectionError(f"broker refused the connection: {connack!r}")
        self.acked = 0
        self._window = window
        self._progress = threading.Condition()
        self._reader = threading.Thread(target=self._read_acks, daemon=True)
        self._reader.start()

    def _recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self._sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            data += chunk
        return data

    def _read_acks(self) -> None:
        pending = b""
        while True:
            try:
                chunk = self._sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            pending += chunk
            whole = len(pending) // 4 * 4  # PUBACK is always 4 bytes: 0x40 0x02 id id
            if whole:
                with self._progress:
                    self.acked += whole // 4
                    self._progress.notify_all()
                pending = pending[whole:]

    def publish_all(
        self,
        messages: Sequence[tuple[bytes, bytes]],
        *,
        rate: float | None = None,
        chunk: int = 256,
    ) -> float:
        """Send every (topic, payload); return seconds until the last PUBACK."""
        began = time.monotonic()
        sent = 0
        for start in range(0, len(messages), chunk):
            part = messages[start : start + chunk]
            with self._progress:
                while sent - self.acked > self._window:
                    self._progress.wait(1.0)
            buf = b"".join(
                publish_packet(topic, payload, (sent + i) % 65535 + 1)
                for i, (topic, payload) in enumerate(part)
            )
            self._sock.sendall(buf)
            sent += len(part)
            if rate:
                ahead = began + sent / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        with self._progress:
            deadline = time.monotonic() + 120
            while self.acked < sent and time.monotonic() < deadline:
                self._progress.wait(1.0)
        return time.monotonic() - began

    def close(self) -> None:
        try:
            self._sock.sendall(b"\xe0\x00")
        finally:
            self._sock.close()
