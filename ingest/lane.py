"""One MQTT session feeding one writer: subscribe, record what arrives, ack only after commit.

Each lane is its own paho client with its own persistent session (clean_start=False and a
session expiry), so the broker keeps unacknowledged QoS 1 messages for us across crashes and
redelivers them; the store's natural keys make the redelivery a no-op. Acks are bound to the
connection generation that received the message: a packet id from a dead connection means
nothing on the next one, and the broker will redeliver that message anyway.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from core.config import MqttEndpoint
from ingest import metrics
from ingest.mqtt_client import ReadAheadClient
from ingest.received import Received

log = logging.getLogger(__name__)


class MqttLane:
    """A named MQTT session that hands every message to ``sink`` and acks on request."""

    def __init__(
        self,
        *,
        name: str,
        endpoint: MqttEndpoint,
        client_id: str,
        subscriptions: list[str],
        sink: Callable[[Received], None],
        receive_maximum: int,
        session_expiry_s: int,
    ) -> None:
        self.name = name
        self._endpoint = endpoint
        self._subscriptions = subscriptions
        # The edge only records what arrived: decoding is the writer's one step (ingest/decode.py).
        self._sink = sink
        self._received = metrics.RECEIVED.labels(name)
        self._generation = 0
        self._connected = threading.Event()
        # When this lane last received anything (the ingest heartbeat reports it).
        self.last_message_at: datetime | None = None
        self._client = ReadAheadClient(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if endpoint.username:
            self._client.username_pw_set(endpoint.username, endpoint.password)
        if endpoint.tls:
            self._client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._connect_properties = Properties(PacketTypes.CONNECT)
        self._connect_properties.SessionExpiryInterval = session_expiry_s
        self._connect_properties.ReceiveMaximum = receive_maximum

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        """Connect in the background; paho's loop thread reconnects on its own."""
        self._client.connect_async(
            self._endpoint.host,
            self._endpoint.port,
            keepalive=30,
            clean_start=False,
            properties=self._connect_properties,
        )
        self._client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def ack(self, batch: list[tuple[int, int]]) -> None:
        """Acknowledge committed (mid, generation) pairs from the current connection.

        A packet id from an earlier connection means nothing on this one; the broker
        redelivers that message and the store recognises it.
        """
        current = self._generation
        self._client.ack_many([mid for mid, generation in batch if generation == current])

    def stop(self) -> None:
        """Disconnect cleanly; the persistent session keeps what was not acknowledged."""
        self._client.disconnect()
        self._client.loop_stop()

    # paho callbacks, called on the loop thread -------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("lane %s: broker refused the connection: %s", self.name, reason)
            return
        self._generation += 1
        log.info(
            "lane %s: connected to %r (session present: %s)",
            self.name,
            self._endpoint,
            flags.session_present,
        )
        options = SubscribeOptions(qos=1)
        client.subscribe([(topic, options) for topic in self._subscriptions])

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: Any, _props: Any
    ) -> None:
        # Ready only once the broker granted the subscriptions: before the SUBACK, a message
        # published elsewhere may find no subscriber (and, on a new session, be dropped).
        refused = [str(r) for r in reasons if r.is_failure]
        if refused:
            log.error("lane %s: broker refused subscriptions: %s", self.name, ", ".join(refused))
            return
        self._connected.set()
        metrics.MQTT_CONNECTED.labels(self.name).set(1)

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self._connected.clear()
        metrics.MQTT_CONNECTED.labels(self.name).set(0)
        if reason.is_failure:
            log.warning("lane %s: lost the broker (%s); reconnecting", self.name, reason)
            metrics.MQTT_RECONNECTS.labels(self.name).inc()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        received_at = datetime.now(UTC)
        self.last_message_at = received_at
        try:
            topic, topic_ok = message.topic, True
        except UnicodeDecodeError:
            # MQTT topics must be UTF-8; one that is not is parked as bad_topic. paho keeps the
            # raw bytes in ``_topic`` (tests/test_library_contracts.py holds it to that).
            topic, topic_ok = message._topic.decode("utf-8", "replace"), False
        self._received.inc()
        self._sink(
            Received(
                mid=message.mid,
                generation=self._generation,
                qos=message.qos,
                topic=topic,
                payload=bytes(message.payload),
                received_at=received_at,
                received_mono=time.monotonic(),
                retained=bool(message.retain),
                topic_ok=topic_ok,
            )
        )
