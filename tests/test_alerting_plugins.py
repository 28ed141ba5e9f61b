"""Custom Apprise plugins against local servers that check signatures as the providers document.

The verifiers below are written from the providers' documentation, independently of
core.notify.plugins.signing: Aliyun's recipe (URL-encode, then '+' -> %20, '*' -> %2A,
%7E -> '~') and Tencent's TC3 steps rebuilt from the request actually received.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote_plus

import pytest

from core.notify.channels import send_once
from tests.support.alerting import Received, receiver

ALI_ID, ALI_SECRET = "LTAI-test-id", "ali-secret-Δ/+="
TC_ID, TC_KEY = "AKID-test", "tc-secret-key"
BUSY_NUMBER = "13800000001"


def _ali_enc(text: str) -> str:
    return (
        quote_plus(text, encoding="utf-8")
        .replace("+", "%20")
        .replace("*", "%2A")
        .replace("%7E", "~")
    )


def aliyun_check(request: Received) -> tuple[int, bytes]:
    params = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
    signature = params.pop("Signature", "")
    required = {
        "AccessKeyId",
        "Action",
        "Format",
        "SignatureMethod",
        "SignatureNonce",
        "SignatureVersion",
        "Timestamp",
        "Version",
    }
    if not required <= params.keys() or params["SignatureMethod"] != "HMAC-SHA1":
        return 400, b'{"Code": "MissingParameter"}'
    datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ")
    query = "&".join(f"{_ali_enc(k)}={_ali_enc(v)}" for k, v in sorted(params.items()))
    to_sign = "POST&" + _ali_enc("/") + "&" + _ali_enc(query)
    expected = base64.b64encode(
        hmac.new(f"{ALI_SECRET}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    ).decode()
    if not hmac.compare_digest(signature, expected):
        return (
            400,
            b'{"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}',
        )
    number = params.get("PhoneNumbers") or params.get("CalledNumber")
    if number == BUSY_NUMBER:  # the provider's answer for flow control: HTTP 200, error code
        return 200, json.dumps(
            {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"}
        ).encode()
    return 200, b'{"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0"}'


def tencent_check(request: Received) -> tuple[int, bytes]:
    headers = {k.lower(): v for k, v in request.headers.items()}
    auth = headers.get("authorization", "")
    algorithm, _, rest = auth.partition(" ")
    fields = dict(part.strip().split("=", 1) for part in rest.split(","))
    secret_id, date, service, terminator = fields["Credential"].split("/")
    timestamp = int(headers["x-tc-timestamp"])
    if (
        algorithm != "TC3-HMAC-SHA256"
        or secret_id != TC_ID
        or terminator != "tc3_request"
        or abs(time.time() - timestamp) > 300
        or datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d") != date
    ):
        return 200, b'{"Response": {"Error": {"Code": "AuthFailure.SignatureFailure"}}}'
    signed = fields["SignedHeaders"].split(";")
    canonical_headers = "".join(f"{h}:{headers[h].strip().lower()}\n" for h in signed)
    canonical = "\n".join(
        [
            "POST",
            request.path,
            "",
            canonical_headers,
            fields["SignedHeaders"],
            hashlib.sha256(request.body).hexdigest(),
        ]
    )
    to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            f"{date}/{service}/tc3_request",
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = ("TC3" + TC_KEY).encode()
    for part in (date, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(fields["Signature"], expected) or "content-type" not in signed:
        return 200, b'{"Response": {"Error": {"Code": "AuthFailure.SignatureFailure"}}}'
    body = json.loads(request.body)
    code = (
        "LimitExceeded.PhoneNumberThirtySecondLimit"
        if f"+86{BUSY_NUMBER}" in body["PhoneNumberSet"]
        else "Ok"
    )
    return 200, json.dumps(
        {
            "Response": {
                "SendStatusSet": [{"Code": code, "PhoneNumber": body["PhoneNumberSet"][0]}],
                "RequestId": "r",
            }
        }
    ).encode()


@pytest.mark.parametrize(
    ("url", "outcome", "answer"),
    [
        (
            "aliyunsms://{id}:{secret}@SMS_1/13800000000?sign=南张消防&endpoint=http://{host}/aliyun",
            "delivered",
            '"Code": "OK"',
        ),
        (
            "aliyunsms://{id}:{secret}@SMS_1/"
            + BUSY_NUMBER
            + "?sign=x&endpoint=http://{host}/aliyun",
            "failed",
            "BUSINESS_LIMIT_CONTROL",
        ),
        (
            "aliyunsms://{id}:wrong@SMS_1/13800000000?sign=x&endpoint=http://{host}/aliyun",
            "failed",
            "SignatureDoesNotMatch",
        ),
        (
            "alivoice://{id}:{secret}@TTS_1/13800000000?show=05371234567&endpoint=http://{host}/aliyun",
            "delivered",
            '"Code": "OK"',
        ),
        (
            "alivoice://{id}:{secret}@TTS_1/"
            + BUSY_NUMBER
            + "?show=0537&endpoint=http://{host}/aliyun",
            "failed",
            "BUSINESS_LIMIT_CONTROL",
        ),
        (
            "tencentsms://{tid}:{tkey}@1400000001/123456/+8613800000000?sign=南张&endpoint=http://{host}/tencent",
            "delivered",
            '"Code": "Ok"',
        ),
        (
            "tencentsms://{tid}:{tkey}@1400000001/123456/+86"
            + BUSY_NUMBER
            + "?endpoint=http://{host}/tencent",
            "failed",
            "LimitExceeded",
        ),
        (
            "tencentsms://{tid}:bad@1400000001/123456/+8613800000000?endpoint=http://{host}/tencent",
            "failed",
            "SignatureFailure",
        ),
    ],
)
def test_cloud_plugin_signs_and_reads_answer(url: str, outcome: str, answer: str) -> None:
    with receiver(aliyun=aliyun_check, tencent=tencent_check) as rx:
        filled = url.format(
            id=ALI_ID,
            secret=quote_plus(ALI_SECRET),
            tid=TC_ID,
            tkey=TC_KEY,
            host=f"127.0.0.1:{rx.port}",
        )
        result = send_once(filled, title="", body="【烟感火警】南张村三组1号厨房", timeout_s=2)
        assert result.outcome == outcome, result.response
        assert answer in result.response
        assert len(rx.seen()) == 1
        assert "南张村三组1号厨房" in carried_text(rx.seen()[0])


def carried_text(request: Received) -> str:
    """The message as the provider would put it into the approved template."""
    if request.path.startswith("/tencent"):
        return str(json.loads(request.body)["TemplateParamSet"][0])
    params = dict(parse_qsl(request.body.decode()))
    # SMS: TemplateParam; IvrCall (interactive, the default): StartTtsParams; SingleCallByTts.
    tts = params.get("TemplateParam") or params.get("StartTtsParams") or params["TtsParam"]
    return str(json.loads(tts)["content"])


def test_json_webhook_error_body_counts_as_failure() -> None:
    with receiver() as rx:
        ok = send_once(rx.url("ok/a"), title="t", body="b", timeout_s=2)
        bad = send_once(rx.url("err/a"), title="t", body="b", timeout_s=2)
        server_error = send_once(rx.url("500/a"), title="t", body="b", timeout_s=2)
        slow = send_once(rx.url("slow/a"), title="t", body="b", timeout_s=0.3)
        nonsense = send_once("nosuchscheme://x", title="t", body="b", timeout_s=1)
    assert ok.outcome == "delivered"
    assert bad.outcome == "failed" and "93000" in bad.response
    assert server_error.outcome == "failed" and "HTTP 500" in server_error.response
    assert slow.outcome == "timeout"
    assert nonsense.outcome == "unsupported"


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (b'{"errcode": 0, "errmsg": "ok"}', None),  # WeCom / DingTalk success
        (b'{"errcode": 45009, "errmsg": "api freq out of limit"}', "errcode=45009"),
        (b'{"code": 19001, "msg": "param invalid"}', "code=19001"),  # Feishu style
        (b'{"code": 0, "msg": "success"}', None),
        (b'{"success": false, "message": "quota"}', "success=false"),
        (b'{"error": "bad token"}', "error=bad token"),
        (b"OK", None),  # not JSON: the status code decides
    ],
)
def test_body_error_reads_provider_answers(answer: bytes, problem: str | None) -> None:
    import requests

    from core.notify.plugins.capture import body_error

    with receiver(answer=lambda _request: (200, answer)) as rx:
        response = requests.post(f"http://127.0.0.1:{rx.port}/answer", data=b"{}", timeout=2)
    found = body_error(response)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_bot_plugins_are_replaced_by_body_checking_ones() -> None:
    import apprise
    from apprise.plugins import dingtalk, wecombot

    from core.notify import register_plugins
    from core.notify.plugins.capture import PROXY
    from core.notify.plugins.checked import CheckedDingTalk, CheckedWeComBot

    register_plugins()
    assert isinstance(apprise.Apprise.instantiate("wecombot://BOTKEY"), CheckedWeComBot)
    assert isinstance(apprise.Apprise.instantiate("dingtalk://token/"), CheckedDingTalk)
    assert wecombot.requests is PROXY and dingtalk.requests is PROXY


def test_attempt_log_never_keeps_credentials_from_urls() -> None:
    from core.notify.plugins.capture import scrub

    text = ("ConnectionError: HTTPSConnectionPool(host='qyapi.weixin.qq.com', port=443): url:"
            " /cgi-bin/webhook/send?key=693a91f6-7xxx (Caused by ...) access_token=abc&sign=s1")
    cleaned = scrub(text)
    assert "693a91f6" not in cleaned and "abc" not in cleaned and "s1" not in cleaned
    assert "key=***" in cleaned and "qyapi.weixin.qq.com" in cleaned


# Run in a fresh interpreter: this test process has registered the plugins long ago.
_IMPORT_ONLY = """
import logging, apprise
import alerting.service, api.app, core.notify.channels, api.contacts.channels
from apprise.plugins import wecombot
print(apprise.Apprise.instantiate("aliyunsms://id:secret@sign/tpl/13800000000") is None)
print(type(apprise.Apprise.instantiate("wecombot://BOTKEY")).__name__)
print(wecombot.requests.__class__.__name__)
print(len(logging.getLogger("apprise").filters))
"""
_REGISTERED = """
import logging, apprise
from apprise.plugins import wecombot
from core.notify import register_plugins
from core.notify.logs import thread_logs
register_plugins(); register_plugins()
print(type(apprise.Apprise.instantiate("aliyunsms://id:secret@sign/tpl/13800000000")).__name__)
print(type(apprise.Apprise.instantiate("wecombot://BOTKEY")).__name__)
print(wecombot.requests.__class__.__name__)
log = logging.getLogger("apprise")
level = logging.getLevelName(log.getEffectiveLevel())
print(len(log.filters), log.handlers.count(thread_logs), level)
"""


def test_import_registers_nothing_register_plugins_does_it_once() -> None:
    import subprocess
    import sys

    def run(code: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
        )
        return done.stdout.split("\n")[:-1]

    assert run(_IMPORT_ONLY) == ["True", "NotifyWeComBot", "module", "0"]
    assert run(_REGISTERED) == [
        "NotifyAliyunSMS", "CheckedWeComBot", "_RequestsProxy", "1 1 WARNING"
    ]


def test_apprise_log_lines_are_redacted_once_registered(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from core.notify import register_plugins

    register_plugins()
    with caplog.at_level(logging.INFO, logger="apprise"):
        logging.getLogger("apprise").warning(
            "failed: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6 to 13812345678"
        )
    (line,) = [r.getMessage() for r in caplog.records if r.name == "apprise"]
    assert "693a91f6" not in line and "13812345678" not in line
