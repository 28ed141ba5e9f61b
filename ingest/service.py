"""Assembles the ingest service: two lanes (events, telemetry), their writers, housekeeping."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from types import FrameType

import prometheus_client
import psycopg

from core.broker_auth import ingest_lane_client_id
from core.codecs.registry import CodecRegistry, default_registry
from core.db import connect, load_queries, wait_for_database
from core.errors import DatabaseUnavailable
from ingest.commands.dispatcher import CommandDispatcher
from ingest.commands.transports import Topics
from ingest.decode import Decode, NativeFormat
from ingest.lane import MqttLane
from ingest.push_inbox import InboxWorker, PushInbox
from ingest.settings import IngestSettings
from ingest.store import Store
from ingest.writer import Acknowledge, LaneWriter

log = logging.getLogger(__name__)
Q = load_queries("ingest", "queries.sql")


class IngestService:
    """Runs until :meth:`stop`; flushes and acknowledges what it holds before leaving."""

    def __init__(self, settings: IngestSettings) -> None:
        self.settings = settings
        self._stopped = threading.Event()
        prefix = settings.topic_prefix
        share = f"$share/{settings.ingest_shared_group}/" if settings.ingest_shared_group else ""
        decode = Decode(native=NativeFormat(prefix, settings.ingest_max_payload_bytes))
        self.lanes: list[MqttLane] = []
        self.writers: list[LaneWriter] = []
        # Events (and connection status) first: small transactions, never behind telemetry.
        for lane_name, topics, wait in (
            ("events", [f"{share}{prefix}/+/event", f"{share}{prefix}/+/status"], False),
            ("telemetry", [f"{share}{prefix}/+/telemetry"], True),
        ):
            writer = LaneWriter(
                lane=lane_name,
                store=Store(settings.database_url),
                decode=decode,
                acknowledge=self._acknowledger(lane_name),
                batch_max=settings.ingest_batch_max if wait else 500,
                window_s=settings.ingest_batch_window_ms / 1000,
                wait_for_batch=wait,
            )
            client_id = ingest_lane_client_id(
                settings.ingest_client_id, lane_name, settings.mqtt_client_suffix
            )
            lane = MqttLane(
                name=lane_name,
                endpoint=settings.mqtt_for(client_id),
                client_id=client_id,
                subscriptions=topics,
                sink=writer.submit,
                receive_maximum=settings.ingest_receive_maximum if wait else 2000,
                session_expiry_s=settings.ingest_session_expiry_s,
            )
            self.writers.append(writer)
            self.lanes.append(lane)
        full = default_registry(settings.codec_config())
        self.registry = CodecRegistry([full.get(name) for name in settings.ingest_codecs])
        self._add_codec_lane(share)
        self.inbox: InboxWorker | None = None
        if any(self.registry.get(n).transport == "http" for n in self.registry.names()):
            self.inbox = InboxWorker(
                database_url=settings.database_url,
                inbox=PushInbox(Store(settings.database_url), Decode(registry=self.registry)),
                poll_s=settings.ingest_push_poll_s,
                batch=settings.ingest_push_batch,
            )
        self.commands: CommandDispatcher | None = None
        if settings.ingest_commands:
            self.commands = _command_dispatcher(settings, share)

    def _add_codec_lane(self, share: str) -> None:
        """Vendor MQTT formats: their own session and writer, so they never slow native lanes."""
        filters = self.registry.mqtt_filters()
        if not filters:
            return
        settings = self.settings
        writer = LaneWriter(
            lane="codecs",
            store=Store(settings.database_url),
            decode=Decode(registry=self.registry),
            acknowledge=self._acknowledger("codecs"),
            batch_max=500,
            window_s=settings.ingest_batch_window_ms / 1000,
            wait_for_batch=False,
        )
        client_id = ingest_lane_client_id(
            settings.ingest_client_id, "codecs", settings.mqtt_client_suffix
        )
        lane = MqttLane(
            name="codecs",
            endpoint=settings.mqtt_for(client_id),
            client_id=client_id,
            subscriptions=[f"{share}{f}" for f in filters],
            sink=writer.submit,
            receive_maximum=2000,
            session_expiry_s=settings.ingest_session_expiry_s,
        )
        self.writers.append(writer)
        self.lanes.append(lane)

    def _acknowledger(self, name: str) -> Acknowledge:
        # Writers are built before their lanes; look the lane up when the first ack happens.
        def acknowledge(batch: list[tuple[int, int]]) -> None:
            next(lane for lane in self.lanes if lane.name == name).ack(batch)

        return acknowledge

    def start(self) -> None:
        """Wait for the database, then start writers before lanes so nothing waits unread."""
        wait_for_database(self.settings.database_url, timeout=120)
        if self.settings.ingest_metrics_port:
            prometheus_client.start_http_server(self.settings.ingest_metrics_port, addr="0.0.0.0")  # noqa: S104
        for writer in self.writers:
            writer.start()
        for lane in self.lanes:
            lane.start()
        if self.inbox is not None:
            self.inbox.start()
        if self.commands is not None:
            self.commands.start()
        threading.Thread(target=self._housekeeping, name="housekeeping", daemon=True).start()
        if self.settings.ingest_heartbeat_s:
            threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True).start()
        log.info("ingest started as %s", self.settings.ingest_client_id)

    def wait_connected(self, timeout: float) -> bool:
        lanes = all(lane.wait_connected(timeout) for lane in self.lanes)
        return lanes and (self.commands is None or self.commands.wait_connected(timeout))

    def stop(self) -> None:
        """Flush: stop taking messages, commit and ack what was received, disconnect."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self.inbox is not None:
            self.inbox.stop()
            self.inbox.join(timeout=30)
        if self.commands is not None:
            self.commands.stop()
        for writer in self.writers:
            writer.stop()
        for writer in self.writers:
            writer.join(timeout=30)
        for lane in self.lanes:
            lane.stop()
        log.info("ingest stopped")

    def run_forever(self) -> None:
        """Start, then block until SIGINT or SIGTERM."""

        def _ask_stop(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s: shutting down", signal.Signals(signum).name)
            self._stopped_by_signal.set()

        self._stopped_by_signal = threading.Event()
        signal.signal(signal.SIGTERM, _ask_stop)
        signal.signal(signal.SIGINT, _ask_stop)
        self.start()
        self._stopped_by_signal.wait()
        self.stop()

    def _heartbeat(self) -> None:
        """Tell the offline watchdog that ingest listens (docs/health.md).

        The row stays when ingest stops: a stopped ingest is one the watchdog must not trust.
        """
        instance = self.settings.ingest_client_id
        started_at = datetime.now(UTC)
        while not self._stopped.is_set():
            try:
                with connect(self.settings.database_url, autocommit=True) as conn:
                    while not self._stopped.is_set():
                        heard = [lane.last_message_at for lane in self.lanes]
                        latest = max((h for h in heard if h), default=None)
                        conn.execute(
                            Q["beat"],
                            {
                                "instance": instance,
                                "started_at": started_at,
                                "connected": all(lane.connected for lane in self.lanes),
                                "last_message_at": latest,
                            },
                        )
                        self._stopped.wait(self.settings.ingest_heartbeat_s)
            except (DatabaseUnavailable, psycopg.OperationalError) as exc:
                log.warning("heartbeat skipped: %s", exc)
                self._stopped.wait(self.settings.ingest_heartbeat_s)

    def _housekeeping(self) -> None:
        """Retention of every table that promises one, in both storage modes.

        sw_apply_retention leaves hypertables to TimescaleDB's policies and deletes from plain
        tables (plain PostgreSQL, or a database not yet converted) and from dead_letters.
        """
        interval = self.settings.ingest_retention_interval_s
        while not self._stopped.wait(interval):
            try:
                with connect(self.settings.database_url, autocommit=True) as conn:
                    conn.execute(Q["expire_dedupe_keys"])
                    # One worker at a time; the others skip this round.
                    got = conn.execute("SELECT pg_try_advisory_lock(5301) AS got").fetchone()
                    if not got or not got["got"]:
                        continue
                    row = conn.execute(
                        Q["apply_retention"],
                        {
                            "readings_keep": f"{self.settings.ingest_readings_keep_days} days",
                            "events_keep": f"{self.settings.ingest_events_keep_days} days",
                        },
                    ).fetchone()
                    log.info("retention removed %s rows", row["deleted"] if row else 0)
            except DatabaseUnavailable as exc:
                log.warning("retention skipped: %s", exc)


def _command_dispatcher(settings: IngestSettings, share: str) -> CommandDispatcher:
    """The command path (ingest/commands/): sends commands, records the devices' answers."""
    client_id = ingest_lane_client_id(
        settings.ingest_client_id, "commands", settings.mqtt_client_suffix
    )
    return CommandDispatcher(
        database_url=settings.database_url,
        endpoint=settings.mqtt_for(client_id),
        client_id=client_id,
        topics=Topics(
            prefix=settings.topic_prefix,
            zigbee2mqtt_base=settings.zigbee2mqtt_base_topic.strip("/"),
            chirpstack_prefix=settings.chirpstack_topic_prefix.strip("/"),
            chirpstack_application_id=settings.chirpstack_application_id,
        ),
        share=share,
        poll_s=settings.ingest_commands_poll_s,
        session_expiry_s=settings.ingest_session_expiry_s,
        ctwing_config=settings.ctwing_command_config(),
        onenet_config=settings.onenet_command_config(),
    )
