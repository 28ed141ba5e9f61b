"""Where a simulation's messages go: one shared connection, one connection per device, or memory.

*Shared* is how a gateway (or a load test) talks: one MQTT connection publishes for many
devices, so there is no per-device Last Will. *Per device* is how a detector with its own modem
talks: its client id is its device id, its Last Will is a retained ``offline`` on its status
topic, and it announces a retained ``online`` on every connect.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Protocol

from core.config import MqttEndpoint
from device_sim.detector import Detector
from device_sim.mqtt import PahoLink, Pump
from device_sim.protocol import OutMessage


class Sink(Protocol):
    """What the simulation runner publishes into."""

    def send(self, message: OutMessage) -> None: ...
    def service(self, timeout: float) -> None: ...
    def flush(self, timeout: float) -> None: ...
    def totals(self) -> tuple[int, int, int]: ...
    def drop(self, device_id: str) -> bool: ...
    def close(self) -> None: ...


class SharedSink:
    """Every device's messages on one connection (a gateway, or a test publisher)."""

    def __init__(
        self,
        endpoint: MqttEndpoint,
        *,
        client_id: str | None = None,
        window: int = 1000,
        ack_timeout: float = 30.0,
        connect_timeout: float = 10.0,
    ) -> None:
        name = client_id or f"smokewatch-sim-{uuid.uuid4().hex[:8]}"
        self.link = PahoLink(endpoint, client_id=name, window=window)
        self.pump = Pump([self.link])
        self._ack_timeout = ack_timeout
        self.pump.connect(connect_timeout)

    def send(self, message: OutMessage) -> None:
        self.pump.wait_for_room(self.link, timeout=self._ack_timeout)
        self.link.publish(message.topic, message.payload, retain=message.retain)

    def service(self, timeout: float) -> None:
        self.pump.run(timeout)

    def flush(self, timeout: float) -> None:
        self.pump.flush(timeout)

    def totals(self) -> tuple[int, int, int]:
        return self.pump.totals()

    def drop(self, device_id: str) -> bool:
        return False  # a gateway's connection is not the device's

    def close(self) -> None:
        self.pump.close()


class PerDeviceSink:
    """One connection per device, with a retained ``online`` and a Last Will ``offline``.

    Messages naming no known device (malformed topics) go out on the first device's connection.
    """

    def __init__(
        self,
        endpoint: MqttEndpoint,
        detectors: Sequence[Detector],
        *,
        client_id_prefix: str = "smokewatch-sim",
        window: int = 100,
        ack_timeout: float = 30.0,
        connect_timeout: float = 30.0,
        retain_status: bool = True,
    ) -> None:
        if not detectors:
            raise ValueError("a per-device sink needs at least one detector")
        self.links: dict[str, PahoLink] = {}
        for det in detectors:
            self.links[det.device_id] = PahoLink(
                endpoint,
                client_id=f"{client_id_prefix}-{det.device_id}",
                window=window,
                will=det.status("offline", retain=retain_status),
                on_connect=[det.status("online", retain=retain_status)],
            )
            det.last_message = None  # the status messages above are not something it "sent"
        self._default = next(iter(self.links.values()))
        self.pump = Pump(self.links.values())
        self._ack_timeout = ack_timeout
        self.wills = 0
        self.pump.connect(connect_timeout)

    def send(self, message: OutMessage) -> None:
        link = self.links.get(message.device_id or "", self._default)
        self.pump.wait_for_room(link, timeout=self._ack_timeout)
        link.publish(message.topic, message.payload, retain=message.retain)

    def service(self, timeout: float) -> None:
        self.pump.run(timeout)

    def flush(self, timeout: float) -> None:
        self.pump.flush(timeout)

    def totals(self) -> tuple[int, int, int]:
        return self.pump.totals()

    def drop(self, device_id: str) -> bool:
        """Cut the device's connection without DISCONNECT; the broker publishes its Will."""
        link = self.links.get(device_id)
        if link is None:
            return False
        # Its last words must reach the broker before the line goes dead.
        self.pump.wait_for_room(link, timeout=self._ack_timeout, limit=1)
        link.drop()
        self.wills += 1
        return True

    def close(self) -> None:
        self.pump.close()


class MemorySink:
    """Keeps what would be published; for ``--dry-run`` and for building fixtures offline."""

    def __init__(self) -> None:
        self.messages: list[OutMessage] = []

    def send(self, message: OutMessage) -> None:
        self.messages.append(message)

    def service(self, timeout: float) -> None:
        time.sleep(timeout)  # no network: waiting is all there is to do

    def flush(self, timeout: float) -> None:
        return None

    def totals(self) -> tuple[int, int, int]:
        return len(self.messages), len(self.messages), 0

    def drop(self, device_id: str) -> bool:
        return False

    def close(self) -> None:
        return None
