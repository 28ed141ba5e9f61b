"""Commands through OneNET's property-set API, against a local server that implements the
documented request (the authorization token) and answer (the device's reply inside it)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson
import psycopg

from core.commands import Kind
from devtools.localservers import LocalMosquitto
from ingest.commands.onenet import OnenetConfig
from ingest.commands.transports import Topics
from tests.support import wait_until
from tests.support.alerting import seed_household
from tests.support.commands import Clock, ask, open_incident, running_dispatcher, wait_state

ACCESS_KEY = base64.b64encode(b"onenet-test-access-key-0123456789").decode()
RES = "projectid/ocgzVU/groupid/g1"
PROPERTIES = {"silence": {"params": {"silence": True}},
              "set_heartbeat": {"params": {"heartbeat_s": "{interval_s}"}}}  # fmt: skip


class OnenetServer:
    """OneNET's SetDeviceProperty: checks the token, then answers with the device's reply;
    ``offline`` devices fail the call (success false) until ``online`` is set."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.online = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                url = urlsplit(self.path)
                body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.calls.append({"path": url.path, "query": parse_qs(url.query), "body": body})
                query = parse_qs(url.query)
                if not outer.authorised(self.headers.get("authorization", "")):
                    status, answer = 401, {"success": False, "code": "auth", "msg": "bad token"}
                elif url.path != "/application" or query.get("action") != ["SetDeviceProperty"]:
                    status, answer = 404, {"success": False, "code": "notFound", "msg": "?"}
                elif not outer.online:
                    status, answer = (
                        200,
                        {
                            "requestId": "r",
                            "success": False,
                            "code": "iot.device.offline",
                            "msg": "device offline",
                        },
                    )
                else:
                    status, answer = (
                        200,
                        {
                            "requestId": "r",
                            "success": True,
                            "data": {"id": "155", "code": 200, "msg": "success"},
                        },
                    )
                data = orjson.dumps(answer)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @staticmethod
    def authorised(token: str) -> bool:
        # API鉴权: sign = base64(hmac_sha1(base64decode(accessKey), et\nmethod\nres\nversion))
        parts = dict(item.split("=", 1) for item in token.split("&"))
        text = f"{parts['et']}\n{parts['method']}\n{unquote(parts['res'])}\n{parts['version']}"
        digest = hmac.new(base64.b64decode(ACCESS_KEY), text.encode(), hashlib.sha1).digest()
        return (parts["version"] == "2020-05-29" and unquote(parts["res"]) == RES
                and unquote(parts["sign"]) == base64.b64encode(digest).decode())  # fmt: skip


@contextmanager
def onenet_server() -> Iterator[OnenetServer]:
    server = OnenetServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def _device(db: psycopg.Connection[Any]) -> str:
    home = seed_household(db, lambda name: [], tag=uuid.uuid4().hex[:6])
    db.execute("UPDATE devices SET model_code = 'nbiot-onenet-smoke' WHERE id = %s",
               (home.device_id,))  # fmt: skip
    db.execute("INSERT INTO device_identities (codec, external_id, device_id)"
               " VALUES ('onenet', '9MaNe52pNO/no001', %s)", (home.device_id,))  # fmt: skip
    return home.device_id


def test_silence_onenet_offline_then_answered_by_device(
    database_url: str, db: psycopg.Connection[Any], mqtt_broker: LocalMosquitto,
    topic_prefix: str,
) -> None:  # fmt: skip
    device_id = _device(db)
    incident_id = open_incident(db, device_id, acknowledged_by="operator-1")
    clock = Clock()
    with onenet_server() as onenet:
        config = OnenetConfig(onenet.url, "ocgzVU", RES, ACCESS_KEY, PROPERTIES)
        with running_dispatcher(database_url, mqtt_broker.url, Topics(topic_prefix), clock,
                                onenet_config=config):  # fmt: skip
            command = ask(
                db, device_id, Kind.SILENCE, role="operator", requested_by="operator-1",
                incident_id=incident_id, suspected_cause="cooking", now=clock.now,
            )  # fmt: skip
            wait_until(lambda: onenet.calls)  # offline: the call fails, the command waits
            assert wait_state(database_url, command["id"], "sent")["attempts"] == 1
            onenet.online = True
            clock.advance(seconds=31)
            done = wait_state(database_url, command["id"], "acknowledged")
    assert done["attempts"] == 2
    assert onenet.calls[-1]["body"] == {
        "project_id": "ocgzVU", "product_id": "9MaNe52pNO", "device_name": "no001",
        "params": {"silence": True},
    }  # fmt: skip
    assert onenet.calls[-1]["query"] == {"action": ["SetDeviceProperty"], "version": ["1"]}


def test_onenet_wrong_key_and_missing_property_fail_visibly(
    database_url: str, db: psycopg.Connection[Any], mqtt_broker: LocalMosquitto,
    topic_prefix: str,
) -> None:  # fmt: skip
    device_id = _device(db)
    clock = Clock()
    with onenet_server() as onenet:
        wrong = base64.b64encode(b"not the key").decode()
        config = OnenetConfig(onenet.url, "ocgzVU", RES, wrong, PROPERTIES)
        with running_dispatcher(database_url, mqtt_broker.url, Topics(topic_prefix), clock,
                                onenet_config=config):  # fmt: skip
            refused = ask(
                db, device_id, Kind.SET_HEARTBEAT, requested_by="i",
                parameters={"interval_s": 600}, now=clock.now,
            )  # fmt: skip
            missing = ask(db, device_id, Kind.RESET, requested_by="i", now=clock.now)
            first = wait_state(database_url, refused["id"], "failed")
            second = wait_state(database_url, missing["id"], "failed")
    assert "HTTP 401" in first["detail"]["error"]
    assert "no properties for reset" in second["detail"]["error"]
    assert onenet.calls[0]["body"]["params"] == {"heartbeat_s": 600}
