"""Commands through CTWing's command API, against a local server that implements the documented
request (signed headers, JSON body) and answer, and the platform's commandResponse push back
through the API's push endpoint and ingest's inbox."""

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

import orjson
import psycopg
import requests

from core.commands import Kind
from devtools.localservers import LocalMosquitto
from ingest.commands.ctwing import CtwingConfig
from ingest.commands.transports import Topics
from tests.support import ingest_settings, running_ingest, wait_until
from tests.support.alerting import seed_household
from tests.support.api import running_api
from tests.support.commands import Clock, ask, running_dispatcher, wait_state

APP_KEY, APP_SECRET, MASTER_KEY, PRODUCT = "91Ebv1S0HBb", "FJDq8agNp5", "d2439e54e9a7", 10029901
SERVICES = {
    "silence": {"serviceIdentifier": "cmd", "params": {"muffling": 0}},
    "set_heartbeat": {"serviceIdentifier": "cfg", "params": {"heartbeat": "{interval_s}"}},
}


class AepServer:
    """CTWing AEP's command API as its SDK describes it: checks the signature, saves the
    command, answers {"code": 0, "result": {"commandId"}}; a bad signature is code 1103."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = self.path == "/aep_device_command/command" and outer.signed(self.headers, body)
                outer.requests.append({"headers": dict(self.headers), "body": orjson.loads(body)})
                answer = (
                    {"code": 0, "msg": "ok", "result": {
                        "commandId": f"c{len(outer.requests)}", "commandStatus": "指令已保存"}}
                    if ok else {"code": 1103, "msg": "signature error"}
                )  # fmt: skip
                data = orjson.dumps(answer)
                self.send_response(200)  # the platform answers 200; the body says what happened
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    @staticmethod
    def signed(headers: Any, body: bytes) -> bool:
        # AepSdkCore.sign: "application:..\ntimestamp:..\n" then the sorted parameters (here the
        # MasterKey header) "k:v\n", then the body bytes and "\n"; HMAC-SHA1, base64.
        text = (f"application:{headers['application']}\ntimestamp:{headers['timestamp']}\n"
                f"MasterKey:{headers['MasterKey']}\n").encode() + body + b"\n"  # fmt: skip
        digest = hmac.new(APP_SECRET.encode(), text, hashlib.sha1).digest()
        return (
            headers["version"] == "20190712225145"
            and headers["application"] == APP_KEY
            and hmac.compare_digest(base64.b64encode(digest).decode(), headers["signature"])
        )


@contextmanager
def aep_server() -> Iterator[AepServer]:
    server = AepServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


def _ctwing_device(db: psycopg.Connection[Any], external_id: str) -> str:
    home = seed_household(db, lambda name: [], tag=uuid.uuid4().hex[:6])
    db.execute("UPDATE devices SET model_code = 'nbiot-ctwing-smoke' WHERE id = %s",
               (home.device_id,))  # fmt: skip
    db.execute("INSERT INTO device_identities (codec, external_id, device_id)"
               " VALUES ('ctwing', %s, %s)", (external_id, home.device_id))  # fmt: skip
    return home.device_id


def _settings(url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "ctwing_command_url": url, "ctwing_app_key": APP_KEY, "ctwing_app_secret": APP_SECRET,
        "ctwing_master_key": MASTER_KEY, "ctwing_product_id": PRODUCT,
        "ctwing_commands": SERVICES, **overrides,
    }  # fmt: skip


def test_set_heartbeat_ctwing_acknowledged_by_command_response_push(
    database_url: str, db: psycopg.Connection[Any], mqtt_broker: LocalMosquitto,
    topic_prefix: str, api_settings: Any,
) -> None:  # fmt: skip
    device_id = _ctwing_device(db, "f1241cc8c7164205868fcf00b76bb875")
    with aep_server() as aep:
        settings = ingest_settings(database_url, mqtt_broker.url, topic_prefix,
                                   **_settings(aep.url))  # fmt: skip
        with running_ingest(settings), running_api(api_settings) as api_url:
            command = ask(db, device_id, Kind.SET_HEARTBEAT, parameters={"interval_s": 3600})
            wait_until(lambda: aep.requests)
            wait_until(lambda: wait_state(database_url, command["id"], "sent")["external_id"])
            # The platform delivers it and pushes its receipt (subscription push, 指令响应).
            receipt = {
                "timestamp": 1795694340000, "tenantId": "10461180", "taskId": "c1",
                "result": {"resultDetail": "", "resultCode": "DELIVERED"}, "protocol": "lwm2m",
                "productId": str(PRODUCT), "messageType": "commandResponse",
                "deviceId": "f1241cc8c7164205868fcf00b76bb875",
            }  # fmt: skip
            pushed = requests.post(
                f"{api_url}/ingest/ctwing",
                data=orjson.dumps(receipt),
                headers={"Content-Type": "application/json"},
                timeout=10,
            )
            assert pushed.status_code == 200, pushed.text
            done = wait_state(database_url, command["id"], "acknowledged")
    (sent,) = aep.requests
    assert sent["body"] == {
        "content": {"serviceIdentifier": "cfg", "params": {"heartbeat": 3600}},
        "deviceId": "f1241cc8c7164205868fcf00b76bb875", "operator": "smokewatch",
        "productId": PRODUCT, "ttl": sent["body"]["ttl"], "level": 1,
    }  # fmt: skip
    assert 47 * 3600 < sent["body"]["ttl"] <= 48 * 3600
    assert sent["headers"]["MasterKey"] == MASTER_KEY
    assert done["external_id"] == "c1" and done["detail"]["ctwing_result"] == "DELIVERED"


def test_ctwing_command_without_receipt_is_not_resent_and_expires(
    database_url: str, db: psycopg.Connection[Any], mqtt_broker: LocalMosquitto,
    topic_prefix: str,
) -> None:  # fmt: skip
    device_id = _ctwing_device(db, "dev-never")
    clock = Clock()
    with aep_server() as aep:
        config = CtwingConfig(aep.url, APP_KEY, APP_SECRET, MASTER_KEY, PRODUCT, SERVICES)
        with running_dispatcher(database_url, mqtt_broker.url, Topics(topic_prefix), clock,
                                ctwing_config=config):  # fmt: skip
            command = ask(
                db, device_id, Kind.SET_HEARTBEAT, parameters={"interval_s": 900}, now=clock.now
            )
            wait_until(lambda: wait_state(database_url, command["id"], "sent")["external_id"])
            clock.advance(minutes=5)  # past the retry delay: CTWing keeps it, we do not resend
            wait_until(lambda: wait_state(database_url, command["id"], "sent")["attempts"] >= 2)
            clock.advance(hours=48)
            wait_state(database_url, command["id"], "expired")
    assert len(aep.requests) == 1


def test_ctwing_refusal_and_missing_service_fail_visibly(
    database_url: str, db: psycopg.Connection[Any], mqtt_broker: LocalMosquitto,
    topic_prefix: str,
) -> None:  # fmt: skip
    device_id = _ctwing_device(db, "dev-refused")
    clock = Clock()
    with aep_server() as aep:
        config = CtwingConfig(aep.url, APP_KEY, "wrong secret", MASTER_KEY, PRODUCT, SERVICES)
        with running_dispatcher(database_url, mqtt_broker.url, Topics(topic_prefix), clock,
                                ctwing_config=config):  # fmt: skip
            refused = ask(
                db, device_id, Kind.SET_HEARTBEAT, parameters={"interval_s": 900}, now=clock.now
            )
            no_service = ask(db, device_id, Kind.SELF_TEST, now=clock.now)
            first = wait_state(database_url, refused["id"], "failed")
            second = wait_state(database_url, no_service["id"], "failed")
    assert "code 1103" in first["detail"]["error"]
    assert "no service for self_test" in second["detail"]["error"]
