"""Providers that answer HTTP 200 with an error in the body (issue 14, item 4).

Each body below is what the provider documents (or was seen to send) for that case; a real
loopback server answers it to a real ``json://`` send, and the attempt must come out as the
body says, whatever the spelling of the error field.
"""

from __future__ import annotations

import logging

import orjson
import pytest

from core.notify.channels import send_once
from tests.support import wait_until
from tests.support.alerting import (
    Received,
    alerting_settings,
    raise_event,
    receiver,
    running_alerting,
    scalar,
    seed_household,
)

OK, FAIL = "delivered", "failed"

ANSWERS: list[tuple[str, object, str]] = [
    # Aliyun SMS / voice (Dysmsapi SendSms, Dyvmsapi SingleCallByTts)
    ("aliyun sms ok", {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0",
                       "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990"}, OK),
    ("aliyun minute flow control", {"Code": "isv.BUSINESS_LIMIT_CONTROL",
                                    "Message": "触发分钟级流控Permits:1",
                                    "RequestId": "5A1B1E2A-6D52-4F5E-9A8B-1C2D3E4F5A6B"}, FAIL),
    ("aliyun illegal number", {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号",
                               "RequestId": "B3E0C5A2-0A1E-4B5C-8D7E-9F0A1B2C3D4E"}, FAIL),
    ("aliyun voice ok", {"Code": "OK", "Message": "OK", "CallId": "116012354148^102813789",
                         "RequestId": "D9CB3933-9FE3-4870-BA8E-2BEE91B69D23"}, OK),
    # Tencent Cloud SMS API 3.0
    ("tencent sms ok", {"Response": {"SendStatusSet": [
        {"SerialNo": "5000:1045710669157053657849499619", "PhoneNumber": "+8618511122233",
         "Fee": 1, "SessionContext": "", "Code": "Ok", "Message": "send success",
         "IsoCode": "CN"}], "RequestId": "a0aabda6-cf91-4f3e-a81f-9198114a2279"}}, OK),
    ("tencent daily limit per number", {"Response": {"SendStatusSet": [
        {"SerialNo": "", "PhoneNumber": "+8618511122233", "Fee": 0, "SessionContext": "",
         "Code": "LimitExceeded.PhoneNumberDailyLimit",
         "Message": "the number of SMS messages sent from a single mobile number every day "
                    "exceeds the upper limit", "IsoCode": "CN"}],
        "RequestId": "b1f0c5a2-0a1e-4b5c-8d7e-9f0a1b2c3d4e"}}, FAIL),
    ("tencent api error", {"Response": {"Error": {
        "Code": "AuthFailure.SignatureFailure",
        "Message": "The provided credentials could not be validated."},
        "RequestId": "c2e1d6b3-1b2f-4c6d-9e8f-0a1b2c3d4e5f"}}, FAIL),
    # WeCom group bot, DingTalk robot
    ("wecom ok", {"errcode": 0, "errmsg": "ok"}, OK),
    ("wecom frequency limit", {"errcode": 45009, "errmsg": "api freq out of limit"}, FAIL),
    ("wecom bad webhook", {"errcode": 93000, "errmsg": "invalid webhook url"}, FAIL),
    ("dingtalk ok", {"errcode": 0, "errmsg": "ok"}, OK),
    ("dingtalk keyword", {"errcode": 310000, "errmsg": "keywords not in content"}, FAIL),
    ("dingtalk too fast", {"errcode": 130101, "errmsg": "send too fast"}, FAIL),
    # Feishu (Lark) custom bot
    ("feishu ok", {"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {},
                   "msg": "success"}, OK),
    ("feishu bad signature", {"code": 19021, "data": {},
                              "msg": "sign match fail or timestamp is not within one hour"}, FAIL),
    ("feishu old shape", {"StatusCode": 9499, "StatusMessage": "Bad Request"}, FAIL),
    # PushPlus
    ("pushplus ok", {"code": 200, "msg": "请求成功", "data": "b8a3c5d2e1f0", "count": None}, OK),
    ("pushplus restricted", {"code": 900, "msg": "用户账号使用受限", "data": None}, FAIL),
    # ServerChan (Turbo and the old API)
    ("serverchan ok", {"code": 0, "message": "", "data": {"pushid": "123456", "readkey": "abc",
                                                         "error": "SUCCESS", "errno": 0}}, OK),
    ("serverchan bad key", {"code": 40001, "message": "bad pushtoken", "data": None}, FAIL),
    ("serverchan data errno", {"code": 0, "message": "", "data": {"errno": 1024,
                                                              "error": "不要重复发送同样的内容"}},
     FAIL),
    ("serverchan old errno", {"errno": 1024, "errmsg": "不要重复发送同样的内容"}, FAIL),
    # Generic webhook shapes
    ("ret non-zero", {"ret": -1, "msg": "fail"}, FAIL),
    ("status error word", {"status": "error", "message": "quota exceeded"}, FAIL),
    ("status ok word", {"status": "ok"}, OK),
    ("success false", {"success": False, "message": "invalid"}, FAIL),
    ("ok false with error", {"ok": False, "error": "channel_not_found"}, FAIL),
    ("error text", {"error": "invalid token"}, FAIL),
    ("error object", {"error": {"code": 401, "message": "unauthorised"}}, FAIL),
    ("upper-case Code ok", {"Code": "OK"}, OK),
    ("plain text", "OK", OK),
    ("empty object", {}, OK),
]  # fmt: skip


def _answer(request: Received) -> tuple[int, bytes]:
    index = int(request.path.strip("/").split("/")[1])
    body = ANSWERS[index][1]
    return 200, body.encode() if isinstance(body, str) else orjson.dumps(body)


@pytest.mark.parametrize(("index", "case"), list(enumerate(ANSWERS)), ids=[c[0] for c in ANSWERS])
def test_send_reads_provider_answer_in_200_body(index: int, case: tuple[str, object, str]) -> None:
    _name, _body, expected = case
    with receiver(case=_answer) as rx:
        result = send_once(rx.url(f"case/{index}"), title="火警", body="测试", timeout_s=2.0)
    assert len(rx.seen("/case/")) == 1
    assert result.outcome == expected, result.response
    assert result.response.startswith("HTTP 200"), "the provider's answer is kept"


def test_send_logs_provider_error_without_phone_number(caplog: pytest.LogCaptureFixture) -> None:
    body = {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "PhoneNumbers=13812345678 非法"}

    def answer(_request: Received) -> tuple[int, bytes]:
        return 200, orjson.dumps(body)

    caplog.set_level(logging.INFO)
    with receiver(case=answer) as rx:
        result = send_once(rx.url("case/13812345678"), title="火警", body="测试", timeout_s=2.0)
    assert result.outcome == "failed"
    assert "isv.MOBILE_NUMBER_ILLEGAL" in caplog.text, "the error is logged"
    assert "13812345678" not in caplog.text


def test_failed_page_stores_and_logs_provider_answer_redacted(
    database_url: str, db, caplog: pytest.LogCaptureFixture
) -> None:
    phone = "13912345678"
    body = {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": f"PhoneNumbers={phone} 非法"}

    def answer(_request: Received) -> tuple[int, bytes]:
        return 200, orjson.dumps(body)

    caplog.set_level(logging.INFO)
    with receiver(case=answer) as rx:
        house = seed_household(db, lambda name: [rx.url(f"case/{phone}/{name}")], tag="p1")
        with running_alerting(alerting_settings(database_url, alerting_attempts_per_channel=1)):
            raise_event(db, house.device_id, "alarm")
            wait_until(
                lambda: (
                    scalar(db, "SELECT count(*) FROM notifications WHERE status = 'failed'") == 3
                ),
                timeout=30,
            )
    stored = db.execute(
        "SELECT l.detail->>'error' AS error, n.last_error FROM incident_log l"
        " JOIN notifications n ON n.contact_id = l.contact_id AND n.incident_id = l.incident_id"
        " WHERE l.action = 'delivery_failed'"
    ).fetchall()
    assert len(stored) == 3
    for row in stored:
        assert "isv.MOBILE_NUMBER_ILLEGAL" in row["error"]
        assert phone not in row["error"] and phone not in row["last_error"]
    assert "failed on every channel" in caplog.text
    assert phone not in caplog.text, "no phone number in any log line"
