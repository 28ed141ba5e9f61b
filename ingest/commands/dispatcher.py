"""Send due commands and record the devices' answers.

One thread claims due commands (``FOR UPDATE SKIP LOCKED``: several ingest workers share),
marks them sent in the claiming transaction, commits, then publishes each at QoS 1. It wakes
on ``NOTIFY smokewatch_commands`` (a new request) or every ``poll_s`` (retries, expiry). Its
own MQTT session receives the answers; each answer is committed before it is acknowledged to
the broker, and a repeated answer changes nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from core.commands import (
    Kind,
    claim_due,
    expire_due,
    finish_command,
    finish_oldest_sent,
    note_external_id,
)
from core.commands.errors import CommandUnsupported
from core.config import MqttEndpoint
from core.db import connect, translated_errors
from core.domain import DEVICE_ID_PATTERN
from core.errors import DatabaseUnavailable
from core.pg_channels import COMMANDS_CHANNEL, listen_sql
from ingest import metrics
from ingest.commands import ctwing, onenet
from ingest.commands.transports import Outbound, Topics, encode, z2m_shows

log = logging.getLogger(__name__)
RESULTS = frozenset({"ok", "rejected", "unsupported", "busy"})


class CommandDispatcher:
    """The command path inside ingest: dispatch loop plus the answers' MQTT session."""

    def __init__(
        self,
        *,
        database_url: str,
        endpoint: MqttEndpoint,
        client_id: str,
        topics: Topics,
        share: str = "",
        poll_s: float = 1.0,
        publish_timeout_s: float = 10.0,
        session_expiry_s: int = 7 * 24 * 3600,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        ctwing_config: ctwing.CtwingConfig | None = None,
        onenet_config: onenet.OnenetConfig | None = None,
    ) -> None:
        self._clock = clock
        self._ctwing = ctwing_config
        self._onenet = onenet_config
        self._url = database_url
        self._topics = topics
        self._poll_s = poll_s
        self._publish_timeout_s = publish_timeout_s
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._db_lock = threading.Lock()
        self._answers_db: psycopg.Connection[Any] | None = None
        self._watched: set[str] = set()
        self._subscriptions = [
            f"{share}{topics.prefix}/+/ack",
            f"{share}{topics.chirpstack_prefix}/+/device/+/event/ack",
        ]
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,  # acknowledged to the broker after the answer is committed
        )
        if endpoint.username:
            client.username_pw_set(endpoint.username, endpoint.password)
        if endpoint.tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._client = client
        self._endpoint = endpoint
        self._session_expiry_s = session_expiry_s
        self._thread = threading.Thread(target=self._run, name="commands", daemon=True)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect (the session keeps answers that arrive while ingest restarts) and run."""
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self._session_expiry_s
        self._client.connect_async(
            self._endpoint.host, self._endpoint.port, clean_start=False, properties=props
        )
        self._client.loop_start()
        self._thread.start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def stop(self) -> None:
        """Finish the current round, then disconnect."""
        self._stopping.set()
        self._thread.join(timeout=30)
        self._client.disconnect()
        self._client.loop_stop()
        with self._db_lock:
            if self._answers_db is not None:
                self._answers_db.close()

    # -- sending --------------------------------------------------------------------------------

    def _run(self) -> None:
        listener: psycopg.Connection[Any] | None = None
        while not self._stopping.is_set():
            try:
                if listener is None or listener.closed:
                    with translated_errors():
                        listener = connect(self._url, autocommit=True)
                        listener.execute(listen_sql(COMMANDS_CHANNEL))
                if self._connected.is_set():
                    self.dispatch_once()
                for _ in listener.notifies(timeout=self._poll_s, stop_after=1):
                    pass
            except (DatabaseUnavailable, psycopg.OperationalError) as exc:
                log.warning("commands: database unavailable (%s); retrying", exc)
                if listener is not None:
                    listener.close()
                listener = None
                self._stopping.wait(min(self._poll_s, 2.0))
            except Exception:
                log.exception("commands: dispatch round failed")
                self._stopping.wait(self._poll_s)
        if listener is not None:
            listener.close()

    def dispatch_once(self) -> int:
        """Expire what is overdue, claim what is due (marked sent, committed), publish it."""
        with translated_errors(), connect(self._url) as conn:
            with conn.transaction():
                now = self._clock()
                for row in expire_due(conn, now=now):
                    _count_finished(row)
                    log.info("command %s (%s to %s) expired", row["id"], row["kind"],
                             row["device_id"])  # fmt: skip
                rows = claim_due(conn, now=now)
            for row in rows:
                self._send(conn, row)
        return len(rows)

    def _send(self, conn: psycopg.Connection[Any], row: dict[str, Any]) -> None:
        if row["transport"] == "ctwing":
            self._send_ctwing(conn, row)
            return
        if row["transport"] == "onenet":
            self._send_onenet(conn, row)
            return
        try:
            out = encode(row, self._topics)
        except CommandUnsupported as exc:
            with conn.transaction():
                _undeliverable(conn, row, str(exc))
            log.warning("command %s cannot be sent: %s", row["id"], exc)
            return
        if out.watch:
            self._watch(out.watch)
        self._publish(row, out)

    def _send_ctwing(self, conn: psycopg.Connection[Any], row: dict[str, Any]) -> None:
        """Once accepted, CTWing keeps and retries the command itself (until its ttl): a second
        request would be a second platform command the device cannot tell apart, so a command
        with a platform id is only waited for (receipt or expiry)."""
        if row["external_id"]:
            return
        if self._ctwing is None:
            sent = ctwing.Sent(error="CTWing command delivery is not configured")
        else:
            sent = ctwing.send(self._ctwing, row, now=self._clock())
        with conn.transaction():
            if sent.command_id:
                note_external_id(conn, command_id=row["id"], external_id=sent.command_id)
                metrics.COMMANDS_SENT.labels(row["transport"], row["kind"]).inc()
            elif not sent.retry:
                _undeliverable(conn, row, sent.error)
        log.info("command %s to ctwing: %s", row["id"], sent.command_id or sent.error)

    def _send_onenet(self, conn: psycopg.Connection[Any], row: dict[str, Any]) -> None:
        """OneNET's property set is synchronous: the answer is the device's."""
        if self._onenet is None:
            sent = ctwing.Sent(error="OneNET command delivery is not configured")
        else:
            sent = onenet.send(self._onenet, row)
        with conn.transaction():
            if sent.command_id:
                metrics.COMMANDS_SENT.labels(row["transport"], row["kind"]).inc()
                _count_finished(finish_command(conn, command_id=row["id"],
                    device_id=row["device_id"], result="ok",
                    detail={"onenet_reply": sent.command_id}))  # fmt: skip
            elif not sent.retry:
                _undeliverable(conn, row, sent.error)
        log.info("command %s to onenet: %s", row["id"], sent.command_id or sent.error)

    def _publish(self, row: dict[str, Any], out: Outbound) -> None:
        info = self._client.publish(out.topic, out.payload, qos=1)
        try:
            info.wait_for_publish(timeout=self._publish_timeout_s)
        except (RuntimeError, ValueError) as exc:
            # Not on the wire now: the row stays "sent" and is resent at next_attempt_at.
            log.warning("command %s not published (%s); will retry", row["id"], exc)
            return
        metrics.COMMANDS_SENT.labels(row["transport"], row["kind"]).inc()
        log.info("command %s (%s) sent to %s, attempt %s", row["id"], row["kind"],
                 row["device_id"], row["attempts"])  # fmt: skip

    def _watch(self, topic: str) -> None:
        if topic not in self._watched:
            self._watched.add(topic)
            self._client.subscribe(topic, qos=1)

    # -- answers --------------------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.warning("commands: broker refused the connection: %s", rc)
            return
        for topic in [*self._subscriptions, *self._watched]:
            client.subscribe(topic, qos=1)
        self._connected.set()
        log.info("commands: connected")

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self._connected.clear()
        if not self._stopping.is_set():
            log.warning("commands: disconnected (%s); paho reconnects", rc)

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            self._answer(msg.topic, bytes(msg.payload), retained=bool(msg.retain))
        except (DatabaseUnavailable, psycopg.OperationalError) as exc:
            # Not acknowledged: the broker redelivers after the reconnect.
            log.warning("commands: answer on %s not stored (%s)", msg.topic, exc)
            with self._db_lock:
                if self._answers_db is not None:
                    self._answers_db.close()
                self._answers_db = None
            client.disconnect()
            return
        except Exception:
            log.exception("commands: answer on %s dropped: %r", msg.topic, msg.payload[:120])
        if msg.qos > 0:
            client.ack(msg.mid, msg.qos)

    def _answer(self, topic: str, payload: bytes, *, retained: bool) -> None:
        parts = topic.split("/")
        prefix = self._topics.prefix.split("/")
        if parts[: len(prefix)] == prefix and len(parts) == len(prefix) + 2 and parts[-1] == "ack":
            self._native_ack(parts[len(prefix)], payload)
            return
        chirp = self._topics.chirpstack_prefix.split("/")
        if parts[: len(chirp)] == chirp and parts[-2:] == ["event", "ack"]:
            self._chirpstack_ack(parts[len(chirp) + 2], payload)
            return
        base = self._topics.zigbee2mqtt_base + "/"
        if topic.startswith(base) and not retained:  # a retained state is old news
            self._z2m_state(topic[len(base) :], payload)

    def _native_ack(self, device_id: str, payload: bytes) -> None:
        """``{"id": <command id>, "result": "ok"|"rejected"|"unsupported"|"busy", ...}``."""
        body = _json_object(payload)
        command_id, result = body.get("id"), body.get("result")
        if not DEVICE_ID_PATTERN.match(device_id) or isinstance(command_id, bool):
            raise ValueError("bad ack")
        if not isinstance(command_id, int) or result not in RESULTS:
            raise ValueError(f"bad ack from {device_id}")
        detail = {"device_detail": str(body["detail"])[:200]} if "detail" in body else None
        row = self._with_db(
            finish_command,
            command_id=command_id,
            device_id=device_id,
            result=result,
            detail=detail,
        )
        log.info("command %s answered %s by %s%s", command_id, result, device_id,
                 "" if row else " (repeat or unknown: ignored)")  # fmt: skip

    def _chirpstack_ack(self, dev_eui: str, payload: bytes) -> None:
        """ChirpStack v4 ``ack`` event: ``acknowledged`` true when the device confirmed the
        downlink (chirpstack-docs src/chirpstack/integrations/events.md, "ack")."""
        body = _json_object(payload)
        if body.get("acknowledged") is not True:
            log.info("chirpstack: downlink to %s not acknowledged; it will be resent", dev_eui)
            return
        detail = {"queue_item_id": body.get("queueItemId"), "f_cnt_down": body.get("fCntDown")}
        self._with_db(
            finish_oldest_sent,
            codec="chirpstack",
            external_id=dev_eui.lower(),
            result="ok",
            detail=detail,
        )

    def _z2m_state(self, friendly_name: str, payload: bytes) -> None:
        if not payload or friendly_name.endswith(("/set", "/get", "/availability")):
            return
        state = _json_object(payload)
        for kind in (Kind.SILENCE, Kind.SELF_TEST):
            if z2m_shows(kind, state):
                self._with_db(
                    finish_oldest_sent,
                    codec="zigbee2mqtt",
                    external_id=friendly_name,
                    result="ok",
                    kind=kind,
                )

    def _with_db(self, work: Callable[..., Any], **kwargs: Any) -> Any:
        """Run ``work(conn, **kwargs)`` (a finishing function) in one committed transaction on
        the answers' connection; the command it finished, counted, or None."""
        with self._db_lock, translated_errors():
            if self._answers_db is None or self._answers_db.closed:
                self._answers_db = connect(self._url)
            with self._answers_db.transaction():
                row = work(self._answers_db, **kwargs)
        _count_finished(row)
        return row


def _undeliverable(conn: psycopg.Connection[Any], row: dict[str, Any], error: str | None) -> None:
    """The transport refused the command for good: it ends here, counted."""
    _count_finished(
        finish_command(
            conn,
            command_id=row["id"],
            device_id=row["device_id"],
            result="undeliverable",
            detail={"error": error},
        )
    )


def _count_finished(row: dict[str, Any] | None) -> None:
    """Count a command this dispatcher ended (None: a repeat or late answer, ended before)."""
    if row is None:
        return
    result = row["result"] or row["state"]  # an expired command has no result
    metrics.COMMANDS_FINISHED.labels(row["kind"], result).inc()
    if row["acknowledged_at"] is not None:
        waited = (row["acknowledged_at"] - row["requested_at"]).total_seconds()
        metrics.COMMAND_ANSWER.labels(row["kind"]).observe(max(waited, 0.0))


def _json_object(payload: bytes) -> dict[str, Any]:
    body = orjson.loads(payload)
    if not isinstance(body, dict):
        raise ValueError("not a JSON object")
    return body
