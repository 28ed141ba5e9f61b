"""Issue 18: reach, keypress and reply, through the real plugins, the provider emulators and the
API's callback endpoints served by a real uvicorn; alerting runs as a real worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from api.settings import ApiSettings
from core.notify.channels import send_once
from devtools.localservers import LocalMosquitto
from devtools.localservers.providers import ProviderEmulator
from tests.support import wait_until
from tests.support.alerting import (
    alerting_settings,
    raise_event,
    running_alerting,
    scalar,
    seed_household,
)
from tests.support.api import make_api_settings

TOKEN = "callback-token-" + "z" * 24
KEY_ID, SECRET = "emu-key-id", "emu-secret-Δ/+="
NUMBERS = {
    "resident": "13800000001",
    "family": "13800000002",
    "grid_worker": "13800000003",
    "village_cadre": "13800000004",
    "neighbour": "13800000005",
    "key_holder": "13800000006",
    "duty_desk": "13800000007",
    "supervisor": "13800000008",
}


@pytest.fixture
def api_settings(database_url: str, mqtt_broker: LocalMosquitto) -> ApiSettings:
    return make_api_settings(database_url, mqtt_broker.url, callback_token=TOKEN)


def url_for(kind: str, endpoint: str, number: str, *, secret: str = SECRET) -> str:
    auth = f"{KEY_ID}:{requests.utils.quote(secret, safe='')}"
    if kind == "aliyun_voice":
        return f"alivoice://{auth}@TTS_1/{number}?endpoint={endpoint}&ack=TTS_2"
    if kind == "aliyun_sms":
        return f"aliyunsms://{auth}@SMS_1/{number}?endpoint={endpoint}&sign=SW"
    if kind == "tencent_sms":
        return f"tencentsms://{auth}@1400000001/100/+86{number}?endpoint={endpoint}&sign=SW"
    return f"tencentvoice://{auth}@1400000002/200/+86{number}?endpoint={endpoint}"


@pytest.fixture
def world(request: pytest.FixtureRequest, api_server: str, db: Any) -> Iterator[Any]:
    """An emulator of ``request.param`` calling back our API, and a household paged by it."""
    kind = request.param
    with ProviderEmulator(
        kind, key_id=KEY_ID, secret=SECRET, callbacks=api_server, token=TOKEN
    ) as emu:
        house = seed_household(
            db, lambda name: [url_for(kind, emu.url, NUMBERS[name.split("-", 1)[1]])]
        )
        for role, contact_id in house.contacts.items():
            db.execute("UPDATE contacts SET phone = %s WHERE id = %s", (NUMBERS[role], contact_id))
        yield emu, house


def numbers_called(emu: ProviderEmulator) -> set[str]:
    return {m.number[-11:] for m in emu.inbox}


@pytest.mark.parametrize("world", ["aliyun_voice", "tencent_voice"], indirect=True)
def test_advance_unanswered_call_to_next_contact_without_waiting(
    world: Any, database_url: str, db: Any
) -> None:
    emu, house = world
    for role in ("resident", "family", "grid_worker"):
        emu.behave(NUMBERS[role], handset="no_answer")
    # Wave 2 is ten minutes away: only "not reached" can bring it forward within the test.
    with running_alerting(alerting_settings(database_url, alerting_wave2_after_s=600.0)):
        raise_event(db, house.device_id, "alarm")
        wait_until(lambda: {NUMBERS["village_cadre"], NUMBERS["neighbour"]} <= numbers_called(emu))
    reach = db.execute(
        "SELECT a.reach, a.reach_detail FROM notification_attempts a"
        " JOIN notifications n ON n.id = a.notification_id WHERE n.wave = 1"
    ).fetchall()
    assert reach and all(r["reach"] == "not_reached" for r in reach)
    assert scalar(db, "SELECT count(*) FROM incident_log WHERE action = 'not_reached'") == 3
    assert scalar(db, "SELECT status FROM incidents") == "triggered"


@pytest.mark.parametrize("world", ["aliyun_voice", "tencent_voice"], indirect=True)
def test_acknowledge_incident_by_pressing_1_as_that_contact(
    world: Any, database_url: str, db: Any
) -> None:
    emu, house = world
    emu.behave(NUMBERS["family"], press="1")
    with running_alerting(alerting_settings(database_url)):
        raise_event(db, house.device_id, "alarm")
        incident = wait_until(
            lambda: db.execute(
                "SELECT * FROM incidents WHERE field_acknowledged_at IS NOT NULL"
            ).fetchone()
        )
    assert incident["status"] == "acknowledged"
    assert incident["field_contact_id"] == house.contacts["family"]
    assert incident["centre_acknowledged_at"] is None  # the board still shows it to the centre
    assert "pressed 1" in incident["field_acknowledged_by"]
    pressed = db.execute(
        "SELECT reach, acknowledged_at FROM notification_attempts WHERE acknowledged_at IS NOT NULL"
    ).fetchall()
    assert len(pressed) == 1 and pressed[0]["reach"] == "reached"


@pytest.mark.parametrize("world", ["aliyun_sms", "tencent_sms"], indirect=True)
def test_sms_reply_keeps_note_then_1_acknowledges(world: Any, database_url: str, db: Any) -> None:
    emu, house = world
    with running_alerting(alerting_settings(database_url)):
        raise_event(db, house.device_id, "alarm")
        wait_until(lambda: NUMBERS["grid_worker"] in numbers_called(emu))
        wait_until(lambda: scalar(db, "SELECT count(*) FROM notification_attempts"
                                      " WHERE reach = 'reached'") >= 3)  # fmt: skip
        assert emu.reply(NUMBERS["grid_worker"], "我在外地，让邻居去看看") == 200
        note = db.execute("SELECT * FROM incident_log WHERE action = 'note'").fetchone()
        assert note["contact_id"] == house.contacts["grid_worker"]
        assert note["detail"]["note"] == "我在外地，让邻居去看看"
        assert scalar(db, "SELECT status FROM incidents") == "triggered"
        assert emu.reply(NUMBERS["grid_worker"], " 1 ") == 200
    incident = db.execute("SELECT * FROM incidents").fetchone()
    assert incident["status"] == "acknowledged"
    assert incident["field_contact_id"] == house.contacts["grid_worker"]


@pytest.mark.parametrize("world", ["aliyun_sms"], indirect=True)
def test_sms_failed_at_handset_moves_on_and_receipt_retry_changes_nothing(
    world: Any, database_url: str, db: Any, api_server: str, api: Any
) -> None:
    emu, house = world
    emu.behave(NUMBERS["resident"], handset="fail")
    with running_alerting(alerting_settings(database_url, alerting_wave2_after_s=600.0)):
        raise_event(db, house.device_id, "alarm")
        wait_until(lambda: NUMBERS["village_cadre"] in numbers_called(emu))
    failed = next(m for m in emu.inbox if m.number == NUMBERS["resident"])
    logged = scalar(db, "SELECT count(*) FROM incident_log WHERE action = 'not_reached'")
    # The provider retries the same report: accepted, nothing changes.
    item = [{"biz_id": failed.ref, "phone_number": failed.number, "success": False,
             "err_code": "MK:0001", "err_msg": "x", "report_time": ""}]  # fmt: skip
    answer = requests.post(
        f"{api_server}/callbacks/aliyun/sms-report", params={"token": TOKEN}, json=item, timeout=5
    )
    assert answer.status_code == 200 and answer.json() == {"code": 0, "msg": "成功"}
    assert scalar(db, "SELECT count(*) FROM incident_log WHERE action = 'not_reached'") == logged
    # The API (and the board) show reach per person with the channel class, not a scheme.
    wait_until(lambda: scalar(db, "SELECT count(*) FROM notification_attempts"
                                  " WHERE reach = 'reached'") >= 2)  # fmt: skip
    incident_id = scalar(db, "SELECT id FROM incidents")
    detail = api.client.get(f"/api/v1/incidents/{incident_id}", headers=api.admin_headers()).json()
    reach = {p["contact_id"]: (p["channel"], p["reach"]) for p in detail["paged"]}
    assert reach[house.contacts["resident"]] == ("sms", "not_reached")
    assert reach[house.contacts["family"]] == ("sms", "reached")
    resident = [a for a in detail["attempts"] if a["reach"] == "not_reached"]
    assert resident and resident[0]["channel"] == "sms" and resident[0]["scheme"] == "aliyunsms"
    assert "MK:0001" in resident[0]["reach_detail"]


CALLBACKS = [
    ("/callbacks/aliyun/sms-report", [{"biz_id": "1", "phone_number": "1", "success": True}]),
    ("/callbacks/aliyun/sms-up", [{"phone_number": "13800000001", "content": "1"}]),
    ("/callbacks/aliyun/voice-report", [{"call_id": "1", "status_code": "300000", "dtmf": "1"}]),
    ("/callbacks/tencent/sms-status", [{"sid": "1", "mobile": "1", "report_status": "SUCCESS"}]),
    ("/callbacks/tencent/sms-reply", {"mobile": "13800000001", "text": "1", "time": 1}),
    ("/callbacks/tencent/voice", {"voicekey_callback": {"callid": "1", "keypress": "1"}}),
]


@pytest.mark.parametrize(("path", "body"), CALLBACKS)
@pytest.mark.parametrize("token", [None, "wrong-token", TOKEN[:-1]])
def test_reject_callback_without_token_nothing_stored(
    api_client: Any, db: Any, path: str, body: Any, token: str | None
) -> None:
    answer = api_client.post(path, params={"token": token} if token else {}, json=body)
    assert answer.status_code == 401
    assert "token" in answer.text
    assert scalar(db, "SELECT count(*) FROM callback_receipts") == 0


@pytest.mark.parametrize("kind", ["aliyun_sms", "aliyun_voice", "tencent_sms", "tencent_voice"])
def test_emulator_refuses_request_signed_with_another_secret(kind: str) -> None:
    with ProviderEmulator(kind, key_id=KEY_ID, secret=SECRET) as emu:
        good = send_once(url_for(kind, emu.url, "13800000001"), title="", body="测试", timeout_s=3)
        bad = send_once(
            url_for(kind, emu.url, "13800000001", secret="other"),
            title="",
            body="测试",
            timeout_s=3,
        )
    assert good.ok and good.ref
    assert not bad.ok and emu.refused == ["signature"]
    assert len(emu.inbox) == 1 and emu.inbox[0].text == "测试"


def test_wecom_bot_reaches_emulator_with_its_key_only() -> None:
    key = "3f8e2a6c-1b7d-4e0a-9c55-0d2b7e6f4a11"
    with ProviderEmulator("wecom", secret=key) as emu:
        good = send_once(f"wecombot://{key}?endpoint={emu.url}", title="", body="火警", timeout_s=3)
        wrong = "0" * 8 + key[8:]
        bad = send_once(
            f"wecombot://{wrong}?endpoint={emu.url}", title="", body="火警", timeout_s=3
        )
    assert good.ok
    assert not bad.ok and "93000" in bad.response  # HTTP 200 with an error body: not delivered
    assert [m.text for m in emu.inbox] == ["火警"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/callbacks/aliyun/sms-report", [{"phone_number": "13800000001", "success": True}]),
        ("/callbacks/tencent/voice", {"something_else": {}}),
        ("/callbacks/tencent/sms-status", ["not an object"]),
    ],
)
def test_reject_callback_not_in_provider_shape_nothing_stored(
    api_client: Any, db: Any, path: str, body: Any
) -> None:
    answer = api_client.post(path, params={"token": TOKEN}, json=body)
    assert answer.status_code == 400 and "callback" in answer.text
    assert scalar(db, "SELECT count(*) FROM callback_receipts") == 0


def test_reply_from_number_never_paged_changes_nothing(api_client: Any, db: Any) -> None:
    body = {"mobile": "13912345678", "nationcode": "86", "text": "1", "time": 1, "sign": ""}
    for _ in range(2):  # the provider retries: one stored item
        answer = api_client.post("/callbacks/tencent/sms-reply", params={"token": TOKEN}, json=body)
        assert answer.status_code == 200 and answer.json() == {"result": 0, "errmsg": "OK"}
    assert scalar(db, "SELECT count(*) FROM callback_receipts") == 1
    assert scalar(db, "SELECT count(*) FROM incident_log") == 0


def test_receipt_for_unknown_request_is_retried_not_kept(api_client: Any, db: Any) -> None:
    item = [{"call_id": "no-such-call", "status_code": "200005", "start_time": "", "duration": "0"}]
    answer = api_client.post("/callbacks/aliyun/voice-report", params={"token": TOKEN}, json=item)
    assert answer.status_code == 503  # the provider retries; our attempt may not be recorded yet
    assert scalar(db, "SELECT count(*) FROM callback_receipts") == 0


def test_advance_unanswered_call_to_same_persons_sms_at_once(
    api_server: str, database_url: str, db: Any
) -> None:
    with (
        ProviderEmulator("aliyun_voice", key_id=KEY_ID, secret=SECRET, callbacks=api_server,
                         token=TOKEN) as voice,
        ProviderEmulator("aliyun_sms", key_id=KEY_ID, secret=SECRET, callbacks=api_server,
                         token=TOKEN) as sms,
    ):  # fmt: skip

        def channels(name: str) -> list[str]:
            number = NUMBERS[name.split("-", 1)[1]]
            return [
                url_for("aliyun_voice", voice.url, number),
                url_for("aliyun_sms", sms.url, number),
            ]

        house = seed_household(db, channels)
        voice.behave(NUMBERS["resident"], handset="off")
        with running_alerting(alerting_settings(database_url)):
            raise_event(db, house.device_id, "alarm")
            wait_until(lambda: NUMBERS["resident"] in numbers_called(sms))
            # Those who answered their call get no SMS: the call reached them.
            wait_until(lambda: scalar(db, "SELECT count(*) FROM notification_attempts"
                                          " WHERE reach = 'reached'") >= 3)  # fmt: skip
        assert numbers_called(sms) == {NUMBERS["resident"]}
    row = db.execute(
        "SELECT n.status, n.delivered_via FROM notifications n WHERE n.contact_id = %s",
        (house.contacts["resident"],),
    ).fetchone()
    assert (row["status"], row["delivered_via"]) == ("delivered", 1)  # the SMS, after the call


def test_refuse_provider_callbacks_when_no_token_configured(
    database_url: str, mqtt_broker: LocalMosquitto, db: Any
) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings = make_api_settings(database_url, mqtt_broker.url)  # no callback_token
    with TestClient(create_app(settings)) as client:
        answer = client.post(
            "/callbacks/tencent/sms-reply", params={"token": "anything"},
            json={"mobile": "13800000000", "text": "1", "time": 1},
        )  # fmt: skip
    assert answer.status_code == 401 and "not configured" in answer.text
    assert db.execute("SELECT count(*) AS n FROM callback_receipts").fetchone()["n"] == 0
