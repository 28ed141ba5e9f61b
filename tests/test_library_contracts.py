"""Contracts with the private parts of libraries we lean on, so an upgrade breaks a test first.

ingest/mqtt_client.py subclasses paho's client through private hooks (``_create_socket``,
``_packet_read``, ``_loop_rc_handle``, ``_packet_queue``, ``_sock``) and ingest/lane.py reads
``MQTTMessage._topic``; core/notify/plugins/capture.py swaps the ``requests`` name inside three
Apprise plugin modules. Each test below checks one of those against the installed library, with
a real Mosquitto or a real loopback HTTP receiver where behaviour matters, and fails when the
private name disappears or stops doing what we use it for.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import apprise
import paho.mqtt.client as mqtt
import pytest
import requests
from apprise.plugins import custom_json, dingtalk, wecombot
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from core.notify import register_plugins
from core.notify.channels import plugin_for
from core.notify.plugins.capture import PROXY, capturing
from core.notify.plugins.capture import _send as capture_send
from devtools.http import LoopbackHTTPServer
from devtools.localservers import LocalMosquitto
from ingest import mqtt_client
from ingest.mqtt_client import ReadAheadClient, ReadAheadSocket
from tests.support import Publisher, unique_prefix, wait_until
from tests.support.alerting import receiver

# --- paho-mqtt ------------------------------------------------------------------------------


class Subscriber:
    """A :class:`ReadAheadClient` as the ingest lanes build it, recording what it receives."""

    def __init__(
        self, broker: LocalMosquitto, client_id: str, *, session_s: int = 0, v5: bool = True
    ) -> None:
        self.client = ReadAheadClient(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            manual_ack=True,
        )
        self.received: list[mqtt.MQTTMessage] = []
        self.subscribed = False
        self.client.on_message = lambda _c, _u, message: self.received.append(message)
        self.client.on_subscribe = self._on_subscribe
        if not v5:
            self.client.connect(broker.host, broker.port)
            return
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = session_s
        self.client.connect(broker.host, broker.port, clean_start=False, properties=properties)

    def _on_subscribe(self, *_args: Any) -> None:
        self.subscribed = True

    def subscribe(self, topic: str, qos: int) -> None:
        self.client.subscribe(topic, options=SubscribeOptions(qos=qos))

    def payloads(self) -> list[bytes]:
        return [bytes(m.payload) for m in self.received]


@pytest.fixture
def threaded(mqtt_broker: LocalMosquitto) -> Iterator[tuple[Subscriber, str]]:
    """A subscriber on paho's own loop thread (as in the lanes), and its topic prefix."""
    prefix = unique_prefix()
    sub = Subscriber(mqtt_broker, f"contract-{uuid.uuid4().hex[:8]}")
    sub.client.loop_start()
    sub.subscribe(f"{prefix}/#", qos=1)
    wait_until(lambda: sub.subscribed, timeout=10)
    try:
        yield sub, prefix
    finally:
        sub.client.disconnect()
        sub.client.loop_stop()


def test_create_socket_is_the_hook_that_wraps_paho_reads(
    mqtt_broker: LocalMosquitto, threaded: tuple[Subscriber, str]
) -> None:
    """``_create_socket`` makes the socket paho keeps in ``_sock`` and reads with ``recv``."""
    sub, prefix = threaded
    assert isinstance(sub.client._sock, ReadAheadSocket)
    # Sizes around the read-ahead chunk: a packet may start in one chunk and end in the next.
    sizes = [0, 1, 127, 128, 16_383, 16_384, 200_000, 262_144, 300_000, 5, 70_000]
    payloads = [bytes([i % 251]) * n for i, n in enumerate(sizes)]
    with Publisher(mqtt_broker.url) as pub:
        for payload in payloads:
            pub.publish(f"{prefix}/d/telemetry", payload)
    wait_until(lambda: len(sub.received) >= len(payloads), timeout=20)
    assert sub.payloads() == payloads
    assert isinstance(sub.client._sock, ReadAheadSocket)  # still ours after a busy stream


def test_packet_read_serves_many_packets_in_one_loop_pass(mqtt_broker: LocalMosquitto) -> None:
    """paho's ``_loop`` calls our ``loop_read``, ``_packet_read`` reads through the buffer and
    says MQTT_ERR_AGAIN when it is empty, and ``_loop`` skips select() while ``pending()``."""
    prefix = unique_prefix()
    sub = Subscriber(mqtt_broker, f"contract-{uuid.uuid4().hex[:8]}")
    try:
        wait_until(lambda: sub.client.loop(timeout=0.2) == 0 and sub.client.is_connected())
        sub.subscribe(f"{prefix}/#", qos=0)
        wait_until(lambda: sub.client.loop(timeout=0.2) == 0 and sub.subscribed)
        total = mqtt_client._MAX_PACKETS_PER_PASS + 200
        topic = f"{prefix}/d"
        inner: socket.socket = sub.client._sock._sock  # type: ignore[union-attr]
        inner.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        with Publisher(mqtt_broker.url) as pub:
            for i in range(total):
                pub.publish(topic, b"%04d" % i)
        # Every packet waits in the kernel before the first pass reads, so one recv() takes
        # them all into the buffer. An MQTT 5 QoS 0 PUBLISH without properties is 5 bytes of
        # header (type, length, topic length, properties length) + topic + payload.
        wanted = total * (5 + len(topic) + 4)
        wait_until(lambda: len(_peek(inner, 2 * wanted)) >= wanted, timeout=20)

        assert sub.client.loop(timeout=5.0) == mqtt.MQTT_ERR_SUCCESS
        assert len(sub.received) == mqtt_client._MAX_PACKETS_PER_PASS  # paho alone reads one
        assert sub.client._sock.pending() > 0  # type: ignore[union-attr]
        started = time.monotonic()
        assert sub.client.loop(timeout=5.0) == mqtt.MQTT_ERR_SUCCESS
        # Nothing left in the kernel: only pending() kept select() from waiting 5 s.
        assert time.monotonic() - started < 2.5
        assert sub.payloads() == [b"%04d" % i for i in range(total)]
    finally:
        sub.client.disconnect()


def _peek(sock: socket.socket, size: int) -> bytes:
    try:
        return sock.recv(size, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return b""


def test_loop_rc_handle_reports_a_lost_connection(mqtt_broker: LocalMosquitto) -> None:
    """``_loop_rc_handle`` closes the socket and calls on_disconnect when a read fails."""
    client_id = f"contract-{uuid.uuid4().hex[:8]}"
    # MQTT 3.1.1: the broker drops a taken-over session by closing the socket (MQTT 5 would
    # send a DISCONNECT packet, which paho handles without a failed read).
    sub = Subscriber(mqtt_broker, client_id, v5=False)
    reasons: list[Any] = []
    sub.client.on_disconnect = lambda _c, _u, _f, reason, _p: reasons.append(reason)
    wait_until(lambda: sub.client.loop(timeout=0.2) == 0 and sub.client.is_connected())
    # The same client id connecting again makes the broker drop the first session's socket.
    thief = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    thief.connect(mqtt_broker.host, mqtt_broker.port)
    try:
        thief.loop_start()
        wait_until(lambda: sub.client.loop(timeout=0.2) != 0 or reasons, timeout=10)
    finally:
        thief.disconnect()
        thief.loop_stop()
    assert reasons and reasons[0].is_failure
    assert sub.client._sock is None


def test_packet_queue_sends_the_batched_pubacks(mqtt_broker: LocalMosquitto) -> None:
    """``ack_many`` hands raw PUBACKs to ``_packet_queue``: the broker forgets exactly those."""
    prefix, client_id = unique_prefix(), f"contract-{uuid.uuid4().hex[:8]}"
    first = Subscriber(mqtt_broker, client_id, session_s=300)
    first.client.loop_start()
    first.subscribe(f"{prefix}/#", qos=1)
    wait_until(lambda: first.subscribed, timeout=10)
    with Publisher(mqtt_broker.url) as pub:
        for i in range(10):
            pub.publish(f"{prefix}/d/event", b"m%d" % i)
    wait_until(lambda: len(first.received) == 10, timeout=10)
    first.client.ack_many([m.mid for m in first.received[:6]])
    # A round trip after the acks: the broker reads one connection in order, so the SUBACK
    # means it has taken them. Without it the next connection may take the session over
    # before the broker has read this one's last bytes.
    first.subscribed = False
    first.subscribe(f"{prefix}/sync", qos=1)
    wait_until(lambda: first.subscribed, timeout=10)
    first.client.disconnect()
    first.client.loop_stop()

    again = Subscriber(mqtt_broker, client_id, session_s=0)  # the session ends with this one
    again.client.loop_start()
    try:
        with Publisher(mqtt_broker.url) as pub:
            pub.publish(f"{prefix}/d/event", b"marker")
        # Queued messages come before the marker: once it is here, redelivery is complete.
        wait_until(lambda: b"marker" in again.payloads(), timeout=10)
        assert again.payloads() == [b"m6", b"m7", b"m8", b"m9", b"marker"]
    finally:
        again.client.disconnect()
        again.client.loop_stop()


def test_message_keeps_raw_topic_for_a_topic_that_is_not_utf8() -> None:
    """ingest/lane.py parks such a message with ``_topic`` decoded leniently."""
    message = mqtt.MQTTMessage(mid=1, topic=b"smokewatch/v1/\xff/event")
    with pytest.raises(UnicodeDecodeError):
        _ = message.topic
    assert message._topic == b"smokewatch/v1/\xff/event"


# --- Apprise and requests -------------------------------------------------------------------

SWAPPED = (custom_json, wecombot, dingtalk)


def test_requests_swap_replaces_the_name_apprise_plugins_call() -> None:
    """The three modules call ``requests`` through a module global, which the swap replaced."""
    register_plugins()
    for module in SWAPPED:
        assert module.requests is PROXY, module.__name__
    # Everything else the plugins use from requests is requests' own.
    assert PROXY.codes is requests.codes and PROXY.RequestException is requests.RequestException


def _stock(kind: str, port: int, path: str) -> Any:
    """Apprise's own plugin of ``kind`` (not our subclass), sending to the loopback receiver."""
    where = f"127.0.0.1:{port}/{path}"
    base = f"http://{where}"
    if kind == "json":
        return custom_json.NotifyJSON(**custom_json.NotifyJSON.parse_url(f"json://{where}"))
    if kind == "wecombot":
        plugin = wecombot.NotifyWeComBot(key="BOTKEY")
        plugin.api_url = f"{base}?key=BOTKEY"
        return plugin
    plugin = dingtalk.NotifyDingTalk(token="TOKEN")
    plugin.notify_url = f"{base}?access_token={{token}}"
    return plugin


@pytest.mark.parametrize("kind", ["json", "wecombot", "dingtalk"])
def test_requests_swap_captures_the_answer_of_each_plugin(kind: str) -> None:
    """Inside ``capturing()`` each plugin's one request is recorded with the provider's body;
    Apprise itself calls that 200 a success, which is why we read it."""
    register_plugins()
    with receiver() as rx:
        plugin = _stock(kind, rx.port, "err/send")
        with capturing() as seen:
            ok = plugin.send(body="smoke in the kitchen", title="alarm")
        assert len(rx.seen("/err/")) == 1
    assert ok is True  # the stock plugin trusts the status code
    assert len(seen) == 1 and isinstance(seen[0], requests.Response)
    assert seen[0].status_code == 200 and b"93000" in seen[0].content


@pytest.mark.parametrize("kind", ["json", "wecombot", "dingtalk"])
def test_requests_swap_captures_a_refused_connection(kind: str) -> None:
    """A request error is recorded too, and Apprise still turns it into a failed send."""
    register_plugins()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: the connection is refused
        plugin = _stock(kind, port, "ok/send")
        with capturing() as seen:
            ok = plugin.send(body="smoke in the kitchen", title="alarm")
    assert ok is False
    assert len(seen) == 1 and isinstance(seen[0], requests.ConnectionError)


@pytest.mark.parametrize(
    "url",
    [
        "json://127.0.0.1:{port}/err/send",
        "wecombot://BOTKEY?endpoint=http://127.0.0.1:{port}/err",
        "dingtalk://TOKEN/",
    ],
)
def test_checked_plugin_fails_on_error_body_through_apprise(url: str) -> None:
    """Apprise's ``notify`` reaches our ``send`` override, which reads the captured answer."""
    register_plugins()
    with receiver() as rx:
        app = apprise.Apprise()
        assert app.add(url.format(port=rx.port))
        plugin = app[0]
        if url.startswith("dingtalk"):
            plugin.notify_url = f"http://127.0.0.1:{rx.port}/err/send?access_token={{token}}"
        ok = app.notify(body="smoke in the kitchen", title="alarm")
        assert len(rx.seen("/err/")) == 1
    assert not ok  # Apprise 2 answers a result object that is false on failure
    assert plugin.last_response is not None and "93000" in plugin.last_response


# --- Apprise: building a plugin without Apprise.instantiate's eager logging ------------------

SAME_PLUGIN_URLS = [
    "json://127.0.0.1:8080/42/guardian",
    "jsons://apikey:s3cret@gw.example:8443/hook?:x-token=abc",
    "json://127.0.0.1:8080/room/#kitchen",
    "wecombot://BOTKEY",
    "wecombot://BOTKEY?endpoint=http://127.0.0.1:9000",
    "dingtalk://token/",
    "aliyunsms://KeyId:KeySecret@SMS_1/13800000000?sign=南张消防",
    "aliyunsms://K:S@SMS_1/13800000000?endpoint=http://127.0.0.1:9000",
    "aliyunvoice://KeyId:KeySecret@TTS_1/13800000000",
    "tencentsms://SecretId:SecretKey@1400000000/123456/13800000000?sign=南张消防",
    "tencentvoice://SecretId:SecretKey@1400000000/123456/13800000000",
    "mailto://user:pass@mail.example",
    "ntfy://ntfy.example/topic",
]


@pytest.mark.parametrize("url", SAME_PLUGIN_URLS)
def test_plugin_for_builds_what_apprise_instantiate_builds(url: str) -> None:
    register_plugins()
    ours, theirs = plugin_for(url), apprise.Apprise.instantiate(url, suppress_exceptions=True)
    assert type(ours) is type(theirs)
    if theirs is not None:
        assert ours is not None
        assert ours.url(privacy=False) == theirs.url(privacy=False)
        assert ours.url(privacy=True) == theirs.url(privacy=True)


@pytest.mark.parametrize("url", ["nosuch://x", "not a url", "json://", "wecombot://"])
def test_plugin_for_refuses_what_apprise_instantiate_refuses(url: str) -> None:
    register_plugins()
    assert plugin_for(url) is None
    assert apprise.Apprise.instantiate(url, suppress_exceptions=True) is None


class _Echo:
    """A loopback server noting each request; ``/start`` redirects (307) to ``/final``."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        echo = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                echo.seen.append((self.command, self.path, dict(self.headers.items()), body))
                if self.path.startswith("/start"):
                    self.send_response(307)
                    self.send_header("Location", "/final")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                answer = b'{"errcode": 0}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = LoopbackHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    "call",
    [
        {"data": b'{"msgtype": "text"}', "headers": {"User-Agent": "Apprise", "X-A": "1"}},
        {"json": {"a": 1}, "params": {"q": "火警"}, "headers": {"Content-Type": "x/y"}},
        {"data": {"k": "v"}, "headers": {"Drop": None}, "allow_redirects": True},
    ],
)
def test_short_way_sends_what_session_request_sends(call: dict[str, Any]) -> None:
    # capture._send prepares plain provider requests itself and sends them on the session's
    # adapter; the server must see the same request as through Session.request.
    echo = _Echo()
    session = requests.Session()
    session.trust_env = False
    try:
        for path in ("/final", "/start"):
            short = capture_send(session, "POST", echo.base + path, dict(call, timeout=5))
            long = session.request("POST", echo.base + path, **dict(call, timeout=5))
            assert (short.status_code, short.url, short.content) == (
                long.status_code,
                long.url,
                long.content,
            )
            assert [r.status_code for r in short.history] == [r.status_code for r in long.history]
        # In order: short /final, long /final, short /start and its redirect, long /start
        # and its redirect.
        assert len(echo.seen) == 6
        short_way = [echo.seen[i] for i in (0, 2, 3)]
        long_way = [echo.seen[i] for i in (1, 4, 5)]
        assert [p.split("?")[0] for _, p, _, _ in short_way] == ["/final", "/start", "/final"]
        assert short_way == long_way  # methods, paths, headers and bodies
    finally:
        session.close()
        echo.close()
