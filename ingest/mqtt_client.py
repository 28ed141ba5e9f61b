"""paho's client with read-ahead, so a busy lane pays one recv() per many messages.

paho 2.x reads every packet with three or more tiny recv() calls (command byte, length
bytes, body) and handles one packet per select(). Profiling the telemetry lane showed the
network loop spending most of its time there. Wrapping the socket in a read-ahead buffer
and letting one loop pass drain what is buffered keeps paho's protocol handling intact
while cutting the system calls. It relies on two private paho hooks (``_create_socket`` and
``_packet_read``), which is why the dependency is pinned below paho 3.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

_PUBACK = struct.Struct("!BBH")
_CHUNK = 256 * 1024
_MAX_PACKETS_PER_PASS = 2000


class ReadAheadSocket:
    """A socket proxy that reads large chunks and serves paho's small reads from them."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._data = b""
        self._pos = 0

    def recv(self, size: int) -> bytes:
        if self._pos >= len(self._data):
            self._data = self._sock.recv(max(size, _CHUNK))  # may raise BlockingIOError
            self._pos = 0
            if not self._data:
                return b""
        out = self._data[self._pos : self._pos + size]
        self._pos += len(out)
        return out

    def pending(self) -> int:
        """Bytes already read but not yet handed out (paho then skips waiting in select)."""
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return len(self._data) - self._pos + inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class ReadAheadClient(mqtt.Client):
    """``paho.mqtt.client.Client`` with buffered reads and batched acks; same protocol."""

    def ack_many(self, mids: list[int]) -> None:
        """Send the PUBACKs of a committed batch as one write instead of one per message.

        A bare PUBACK (0x40, length 2, packet id) means success in MQTT 3.1.1 and 5 alike.
        """
        if mids:
            packet = b"".join([_PUBACK.pack(0x40, 2, mid) for mid in mids])
            self._packet_queue(0x40, packet, 0, 0)

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        if isinstance(sock, socket.socket) or hasattr(sock, "recv"):
            return ReadAheadSocket(sock)
        return sock

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """Handle every packet already buffered, up to a bound, in one pass."""
        for _ in range(_MAX_PACKETS_PER_PASS):
            if self._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                return MQTTErrorCode.MQTT_ERR_SUCCESS
            pending = getattr(self._sock, "pending", None)
            if pending is None or not pending():
                return MQTTErrorCode.MQTT_ERR_SUCCESS
        return MQTTErrorCode.MQTT_ERR_SUCCESS
