"""The demo inbox serves the emulated Aliyun SMS and voice APIs: pages arrive as SMS and calls
through the real plugins, and "press 1" / a reply in the inbox reach the API's callbacks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.settings import ApiSettings
from devtools.localservers import LocalMosquitto
from smokewatch.demo.inbox.server import InboxApp, InboxServer
from smokewatch.demo.seed.plan import DEMO_KEY_ID, DEMO_KEY_SECRET
from smokewatch.demo.settings import DemoSettings
from tests.support import wait_until
from tests.support.alerting import alerting_settings, raise_event, running_alerting, seed_household
from tests.support.api import make_api_settings

TOKEN = "demo-callback-token-" + "q" * 20


@pytest.fixture
def api_settings(database_url: str, mqtt_broker: LocalMosquitto) -> ApiSettings:
    return make_api_settings(database_url, mqtt_broker.url, callback_token=TOKEN)


@pytest.fixture
def inbox(database_url: str, api_server: str, tmp_path: Path) -> Iterator[tuple[str, InboxApp]]:
    settings = DemoSettings(
        database_url=database_url, demo_dir=tmp_path, demo_api_url=api_server,
        callback_token=TOKEN, demo_inbox_port=0,
    )  # fmt: skip
    app = InboxApp(settings)
    server = InboxServer(app, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", app
    finally:
        server.shutdown()
        server.server_close()


def test_press_1_in_inbox_acknowledges_as_the_person_called(
    inbox: tuple[str, InboxApp], database_url: str, db: Any
) -> None:
    base, app = inbox
    auth = f"{DEMO_KEY_ID}:{DEMO_KEY_SECRET}"

    def channels(name: str) -> list[str]:
        number = "1000000" + str(abs(hash(name)) % 10000).zfill(4)
        if name.endswith("-family"):
            return [f"alivoice://{auth}@TTS_DEMO/{number}?endpoint={base}/emu/aliyun-voice"]
        return [f"aliyunsms://{auth}@SMS_DEMO/{number}?endpoint={base}/emu/aliyun-sms"]

    house = seed_household(db, channels)
    with running_alerting(alerting_settings(database_url)):
        raise_event(db, house.device_id, "alarm")
        call = wait_until(lambda: next((m for m in app.store.all() if m.channel == "voice"), None))
        assert call.ref and "烟感报警" in call.body and "按1" in call.body
        sms = wait_until(lambda: next((m for m in app.store.all() if m.channel == "sms"), None))
        assert "回复1确认" in sms.body
        page = httpx.get(base + "/", timeout=5).text
        assert f"/press/{call.ref}" in page and f"/reply/{sms.ref}" in page
        token = sms.ack_url.rsplit("/", 1)[-1]
        assert f'href="{app.settings.demo_api_url}/a/{token}"' in page  # the product's page
        pressed = httpx.post(f"{base}/press/{call.ref}", timeout=10)
        assert pressed.status_code == 303
    incident = db.execute("SELECT * FROM incidents").fetchone()
    assert incident["status"] == "acknowledged"
    assert incident["field_contact_id"] == house.contacts["family"]
