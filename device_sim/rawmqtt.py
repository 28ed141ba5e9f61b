"""A publish-only MQTT 5 client for load generation: QoS 1, no TLS, batched writes.

paho spends about 30 µs of Python per QoS 1 message (packet objects, a Properties and a
ReasonCode per PUBACK, one send() per message); on a 2-core box that shared with a broker,
a database and the ingest under test, that CPU is taken from what is measured. This link
speaks just CONNECT, PUBLISH, PUBACK, PINGREQ and DISCONNECT, writes many PUBLISH packets per
send() and costs a few µs a message. It keeps the same promises as :class:`PahoLink`: exact
ack counts, the broker's Receive Maximum honoured, and after a reconnect every unacknowledged
message sent again with the DUP flag. Everything else (subscribing, QoS 2, TLS) is paho's job.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import time
from typing import Any, Final

from core.config import MqttEndpoint
from device_sim.errors import BrokerUnavailable, SimConfigError

log = logging.getLogger(__name__)

_PUBACK: Final = 0x40
_CONNACK: Final = 0x20
_DISCONNECT: Final = 0xE0
_PINGREQ: Final = b"\xc0\x00"
_WRITE_CHUNK: Final = 256 * 1024
_MAX_BACKOFF: Final = 2.0
# Size of each CONNACK property value we may have to skip (-1: UTF-8 string or binary,
# -2: string pair); 0x21 Receive Maximum and 0x13 Server Keep Alive are read.
_PROPERTY_SIZES: Final = {
    0x11: 4, 0x12: -1, 0x13: 2, 0x15: -1, 0x16: -1, 0x1A: -1, 0x1C: -1, 0x1F: -1, 0x21: 2,
    0x22: 2, 0x24: 1, 0x25: 1, 0x26: -2, 0x27: 4, 0x28: 1, 0x29: 1, 0x2A: 1,
}  # fmt: skip


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(value: bytes) -> bytes:
    return struct.pack("!H", len(value)) + value


def connect_packet(
    client_id: str, keepalive: int, username: str | None, password: str | None
) -> bytes:
    """CONNECT, MQTT 5, clean start, no properties."""
    flags = 0x02 | (0x80 if username else 0) | (0x40 if password else 0)
    body = _string(b"MQTT") + bytes([5, flags]) + struct.pack("!H", keepalive) + b"\x00"
    body += _string(client_id.encode())
    if username:
        body += _string(username.encode())
    if password:
        body += _string(password.encode())
    return b"\x10" + _varint(len(body)) + body


def publish_packet(topic: bytes, payload: bytes, mid: int, *, retain: bool = False) -> bytes:
    """PUBLISH, QoS 1, no properties."""
    head = _string(topic) + mid.to_bytes(2, "big") + b"\x00"
    return bytes([0x32 | retain]) + _varint(len(head) + len(payload)) + head + payload


class RawLink:
    """One publish-only MQTT 5 connection, driven by a :class:`device_sim.mqtt.Pump`."""

    def __init__(
        self, endpoint: MqttEndpoint, *, client_id: str, window: int = 1000, keepalive: int = 30
    ) -> None:
        if endpoint.tls:
            raise SimConfigError(
                "the raw publisher speaks plain TCP only; use the paho engine for TLS"
            )
        if not 1 <= window <= 65_000:
            raise SimConfigError("window must be between 1 and 65000")
        self.name = client_id
        self.published = self.acked = self.rejected = 0
        self.reconnects = 0
        self.window = self._asked = window
        self._endpoint = endpoint
        self._keepalive = keepalive
        self._sock: socket.socket | None = None
        self._connected = self._connected_before = False
        self._unacked: dict[int, bytes] = {}  # mid -> PUBLISH packet, until its PUBACK
        self._out = bytearray()
        self._in = bytearray()
        self._next_mid = 0
        self._last_out = 0.0
        self._next_attempt = 0.0
        self._backoff = 0.1
        self._closed = False
        self._unsent = 0  # the newest entries of _unacked never went out

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def in_flight(self) -> int:
        return len(self._unacked)

    def socket(self) -> Any:
        return self._sock

    def want_write(self) -> bool:
        return bool(self._out) and self._sock is not None

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Queue one QoS 1 message; the pump writes it (at once when the buffer is large)."""
        mid = self._next_mid % 65535 + 1
        while mid in self._unacked:
            mid = mid % 65535 + 1
        self._next_mid = mid
        packet = publish_packet(topic.encode(), payload, mid, retain=retain)
        self._unacked[mid] = packet
        self.published += 1
        if not self._connected:
            self._unsent += 1  # goes out after the next CONNACK
            return
        self._out += packet
        if len(self._out) >= _WRITE_CHUNK:
            self.handle_write()

    # -- network events -------------------------------------------------------------------------

    def handle_write(self) -> None:
        if self._sock is None or not self._out:
            return
        try:
            sent = self._sock.send(self._out)
        except BlockingIOError:
            return
        except OSError as exc:
            self._lost(f"send failed: {exc}")
            return
        del self._out[:sent]
        self._last_out = time.monotonic()

    def handle_read(self) -> None:
        if self._sock is None:
            return
        try:
            data = self._sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as exc:
            self._lost(f"receive failed: {exc}")
            return
        if not data:
            self._lost("the broker closed the connection")
            return
        self._in += data
        self._parse()

    def _parse(self) -> None:
        buf, pos, end = self._in, 0, len(self._in)
        while pos + 2 <= end:
            length, shift, at = 0, 0, pos + 1
            while at < end and buf[at] & 0x80:  # remaining length, 1 to 4 bytes
                length |= (buf[at] & 0x7F) << shift
                shift, at = shift + 7, at + 1
            if at >= end:
                break
            length |= buf[at] << shift
            start = at + 1
            if start + length > end:
                break
            self._packet(buf[pos] & 0xF0, bytes(buf[start : start + length]))
            pos = start + length
            if self._sock is None:  # the packet ended the connection
                break
        del self._in[:pos]

    def _packet(self, kind: int, body: bytes) -> None:
        if kind == _PUBACK:
            mid = int.from_bytes(body[:2], "big")
            if self._unacked.pop(mid, None) is None:
                return  # a late answer to a message already answered
            # 0x10 "no matching subscribers" is a success; 0x80 and above are refusals.
            if len(body) > 2 and body[2] >= 0x80:
                self.rejected += 1
                log.warning(
                    "%s: broker refused message %d (reason 0x%02x)", self.name, mid, body[2]
                )
            else:
                self.acked += 1
        elif kind == _CONNACK:
            self._connack(body)
        elif kind == _DISCONNECT:
            reason = body[0] if body else 0
            self._lost(f"the broker sent DISCONNECT (reason 0x{reason:02x})")

    def _connack(self, body: bytes) -> None:
        reason = body[1] if len(body) > 1 else 0
        if reason >= 0x80:
            self._closed = True
            self._close_socket()
            raise BrokerUnavailable(
                f"{self.name}: broker refused the connection (reason 0x{reason:02x})"
            )
        self.window = min(self._asked, self._receive_maximum(body[2:]))
        if self._connected_before:
            self.reconnects += 1
        self._connected = self._connected_before = True
        self._backoff = 0.1
        # Everything not yet acknowledged goes (again), in publishing order; DUP marks the
        # ones the broker may have seen already.
        resend = len(self._unacked) - self._unsent
        for index, packet in enumerate(self._unacked.values()):
            self._out += bytes([packet[0] | 0x08]) + packet[1:] if index < resend else packet
        self._unsent = 0

    def _receive_maximum(self, props: bytes) -> int:
        length, shift, pos = 0, 0, 0
        while pos < len(props):
            length |= (props[pos] & 0x7F) << shift
            pos += 1
            if not props[pos - 1] & 0x80:
                break
            shift += 7
        end, receive_max = pos + length, 65535
        while pos < end:
            prop, pos = props[pos], pos + 1
            size = _PROPERTY_SIZES.get(prop)
            if size is None:
                break  # unknown property: stop reading, keep the default
            if size == -1:
                size = 2 + int.from_bytes(props[pos : pos + 2], "big")
            elif size == -2:
                first = 2 + int.from_bytes(props[pos : pos + 2], "big")
                size = first + 2 + int.from_bytes(props[pos + first : pos + first + 2], "big")
            value = props[pos : pos + size]
            if prop == 0x21:
                receive_max = int.from_bytes(value, "big")
            elif prop == 0x13:
                self._keepalive = int.from_bytes(value, "big")
            pos += size
        return receive_max

    def housekeeping(self, now: float) -> None:
        """Connect or reconnect when due; ping when the line has been quiet."""
        if self._sock is None:
            if not self._closed and now >= self._next_attempt:
                self._attempt(now)
        elif self._keepalive and now - self._last_out >= self._keepalive / 2:
            self._out += _PINGREQ
            self._last_out = now

    def _attempt(self, now: float) -> None:
        try:
            sock = socket.create_connection((self._endpoint.host, self._endpoint.port), timeout=5)
        except OSError as exc:
            self._next_attempt = now + self._backoff
            log.warning(
                "%s: cannot reach the broker (%s); retrying in %.1fs", self.name, exc, self._backoff
            )
            self._backoff = min(self._backoff * 2, _MAX_BACKOFF)
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        self._sock = sock
        self._in.clear()
        self._out[:] = connect_packet(
            self.name, self._keepalive, self._endpoint.username, self._endpoint.password
        )
        self._last_out = now

    def _lost(self, why: str) -> None:
        if not self._closed:
            log.warning("%s: %s; %d messages await an ack", self.name, why, len(self._unacked))
        self._close_socket()
        self._next_attempt = time.monotonic() + self._backoff

    def _close_socket(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._connected = False
        self._out.clear()

    def close(self) -> None:
        """Send DISCONNECT (normal, so no Last Will) and stop reconnecting."""
        self._closed = True
        if self._sock is not None:
            self._out += b"\xe0\x00"
            self._sock.setblocking(True)
            with contextlib.suppress(OSError):  # the broker is gone; nothing left to tell it
                self._sock.sendall(self._out)
            self._close_socket()
