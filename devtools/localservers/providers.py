"""Provider emulators: Aliyun SMS and voice, Tencent SMS and voice, a WeCom group bot.

Each is a small HTTP server on loopback that takes the provider's documented request (and
refuses it unless it is signed as documented: Aliyun RPC HMAC-SHA1, Tencent TC3-HMAC-SHA256,
the WeCom bot's ``key``), answers as the provider does, and then plays the handset: it pushes
the provider's documented receipts, keypresses and SMS replies to the callback base URL (our
API's ``/callbacks/...``, with the shared ``?token=``). Per number it can be told to answer,
fail, not pick up, be busy or powered off, press 1, or reply. Tests, the demo and the
benchmark use them through the real plugins; what arrived is kept in ``inbox`` (the demo's
phone). The signature checks are written from the providers' documentation, independently
of the plugins' signing code.

    with ProviderEmulator("aliyun_voice", key_id="id", secret="s", callbacks=api, token=t) as emu:
        emu.behave("13800000001", handset="no_answer")
        url = f"alivoice://id:s@TTS_1/13800000001?endpoint={emu.url}"
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit
from urllib.request import Request, urlopen

from devtools.http import LoopbackHTTPServer
from devtools.localservers.process import LOOPBACK

log = logging.getLogger(__name__)
KINDS = ("aliyun_sms", "aliyun_voice", "tencent_sms", "tencent_voice", "wecom")
# What the handset does: reach (delivered / answered), fail (SMS failed at the handset),
# no_answer, busy, off (powered off).
HANDSET = ("reach", "fail", "no_answer", "busy", "off")
RETRIES, RETRY_S = 6, 0.1


@dataclass
class Behaviour:
    """What the provider and the handset do for one number."""

    answer: str = "ok"  # ok | fail (the provider refuses the request)
    handset: str = "reach"
    press: str | None = None  # a key pressed during the call
    reply: str | None = None  # an SMS reply sent back
    delay_s: float = 0.05  # before the receipts go out (the phone rings)


@dataclass
class Message:
    """What reached the emulated phone: an SMS, a call or a chat message."""

    kind: str
    number: str
    text: str
    ref: str
    at: datetime
    events: list[str] = field(default_factory=list)


def _ali_enc(text: str) -> str:
    return quote(text, safe="-_.~")


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


class ProviderEmulator:
    """One provider on a free loopback port (see the module description)."""

    def __init__(
        self,
        kind: str,
        *,
        key_id: str = "emulator-id",
        secret: str = "emulator-secret",  # noqa: S107 - a test server's own key
        callbacks: str | None = None,
        token: str | None = None,
        on_message: Callable[[Message], None] | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown provider {kind!r}")
        self.kind, self.key_id, self.secret = kind, key_id, secret
        self.callbacks, self.token = callbacks, token
        # Told of every arrival (the demo's inbox shows them as a phone would).
        self.on_message = on_message
        self.default = Behaviour()
        self.behaviours: dict[str, Behaviour] = {}
        self.inbox: list[Message] = []
        self.refused: list[str] = []
        self.callback_answers: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def start(self) -> ProviderEmulator:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                status, body = emulator.handle(self.path, dict(self.headers), self.rfile.read(size))
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return

        self._server = LoopbackHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ProviderEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def behave(self, number: str, **values: Any) -> None:
        """Tell the emulator what happens for ``number`` (see :class:`Behaviour`)."""
        self.behaviours[_digits(number)] = Behaviour(**values)

    def _behaviour(self, number: str) -> Behaviour:
        return self.behaviours.get(_digits(number), self.default)

    # --- requests -----------------------------------------------------------------------

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        """Verify, answer, and schedule the handset's receipts (also callable from another
        server: the demo inbox serves the emulators under its own port)."""
        if self.kind.startswith("aliyun"):
            return self._aliyun(raw)
        if self.kind.startswith("tencent"):
            return self._tencent(headers, raw)
        return self._wecom(path, raw)

    def _refuse(self, why: str) -> None:
        with self._lock:
            self.refused.append(why)

    def _aliyun(self, raw: bytes) -> tuple[int, Any]:
        params = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        signature = params.pop("Signature", "")
        canonical = "&".join(f"{_ali_enc(k)}={_ali_enc(v)}" for k, v in sorted(params.items()))
        to_sign = f"POST&{_ali_enc('/')}&{_ali_enc(canonical)}"
        expected = base64.b64encode(
            hmac.new(f"{self.secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
        ).decode()
        if params.get("AccessKeyId") != self.key_id or not hmac.compare_digest(signature, expected):
            self._refuse("signature")
            return 400, {
                "Code": "SignatureDoesNotMatch",
                "Message": "Specified signature is not matched",
            }
        action = params.get("Action")
        if self.kind == "aliyun_sms" and action == "SendSms":
            number = params.get("PhoneNumbers", "")
            text = next(iter(json.loads(params.get("TemplateParam") or "{}").values()), "")
            ref_key = "BizId"
        elif self.kind == "aliyun_voice" and action in ("IvrCall", "SingleCallByTts"):
            number = params.get("CalledNumber", "")
            tts = params.get("StartTtsParams") or params.get("TtsParam") or "{}"
            text = next(iter(json.loads(tts).values()), "")
            ref_key = "CallId"
        else:
            self._refuse(f"action {action}")
            return 400, {"Code": "InvalidAction.NotFound", "Message": "unknown action"}
        behaviour = self._behaviour(number)
        if behaviour.answer != "ok":
            return 200, {
                "Code": "isv.BUSINESS_LIMIT_CONTROL",
                "Message": "emulated refusal",
                "RequestId": uuid.uuid4().hex,
            }
        ref = f"{uuid.uuid4().int % 10**12}^{uuid.uuid4().int % 10**10}"
        self._arrived(number, text, ref, behaviour)
        return 200, {"Code": "OK", "Message": "OK", ref_key: ref, "RequestId": uuid.uuid4().hex}

    def _tencent(self, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        h = {k.lower(): v for k, v in headers.items()}
        service = "sms" if self.kind == "tencent_sms" else "vms"
        if not self._tc3_ok(h, raw, service):
            self._refuse("signature")
            return 200, {
                "Response": {
                    "Error": {
                        "Code": "AuthFailure.SignatureFailure",
                        "Message": "signature mismatch",
                    },
                    "RequestId": uuid.uuid4().hex,
                }
            }
        body = json.loads(raw or b"{}")
        action = h.get("x-tc-action")
        ref = uuid.uuid4().hex[:20]
        if self.kind == "tencent_sms" and action == "SendSms":
            number = (body.get("PhoneNumberSet") or [""])[0]
            text = (body.get("TemplateParamSet") or [""])[0]
            behaviour = self._behaviour(number)
            code = "Ok" if behaviour.answer == "ok" else "LimitExceeded.PhoneNumberDailyLimit"
            if code == "Ok":
                self._arrived(number, text, ref, behaviour)
            status = {
                "SerialNo": ref,
                "PhoneNumber": number,
                "Fee": 1,
                "SessionContext": "",
                "Code": code,
                "Message": "send success",
                "IsoCode": "CN",
            }
            return 200, {"Response": {"SendStatusSet": [status], "RequestId": uuid.uuid4().hex}}
        if self.kind == "tencent_voice" and action == "SendTtsVoice":
            number = str(body.get("CalledNumber", ""))
            text = (body.get("TemplateParamSet") or [""])[0]
            behaviour = self._behaviour(number)
            if behaviour.answer != "ok":
                return 200, {
                    "Response": {
                        "Error": {"Code": "FailedOperation", "Message": "emulated refusal"},
                        "RequestId": uuid.uuid4().hex,
                    }
                }
            self._arrived(number, text, ref, behaviour)
            return 200, {
                "Response": {
                    "SendStatus": {"CallId": ref, "SessionContext": ""},
                    "RequestId": uuid.uuid4().hex,
                }
            }
        self._refuse(f"action {action}")
        return 200, {"Response": {"Error": {"Code": "InvalidAction", "Message": str(action)}}}

    def _tc3_ok(self, h: dict[str, str], raw: bytes, service: str) -> bool:
        auth = h.get("authorization", "")
        try:
            timestamp = int(h["x-tc-timestamp"])
            credential = auth.split("Credential=")[1].split(",")[0]
            signed = auth.split("SignedHeaders=")[1].split(",")[0]
            given = auth.split("Signature=")[1].strip()
        except (KeyError, IndexError, ValueError):
            return False
        date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        if credential != f"{self.key_id}/{date}/{service}/tc3_request":
            return False
        names = signed.split(";")
        canonical_headers = "".join(
            f"{n}:{h.get(n, '').strip().lower() if n == 'content-type' else h.get(n, '').strip()}\n"
            for n in names
        )
        canonical = "\n".join(
            ["POST", "/", "", canonical_headers, signed, hashlib.sha256(raw).hexdigest()]
        )
        scope = f"{date}/{service}/tc3_request"
        to_sign = "\n".join(
            [
                "TC3-HMAC-SHA256",
                str(timestamp),
                scope,
                hashlib.sha256(canonical.encode()).hexdigest(),
            ]
        )
        key = ("TC3" + self.secret).encode()
        for part in (date, service, "tc3_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(given, expected)

    def _wecom(self, path: str, raw: bytes) -> tuple[int, Any]:
        where = urlsplit(path)
        key = dict(parse_qsl(where.query)).get("key", "")
        if where.path != "/cgi-bin/webhook/send" or not hmac.compare_digest(key, self.secret):
            self._refuse("key")
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        body = json.loads(raw or b"{}")
        text = (body.get("text") or body.get("markdown") or {}).get("content", "")
        if self.default.answer != "ok":
            return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}
        self._arrived("group", text, uuid.uuid4().hex[:12], self.default)
        return 200, {"errcode": 0, "errmsg": "ok"}

    # --- the handset ----------------------------------------------------------------------

    def _arrived(self, number: str, text: str, ref: str, behaviour: Behaviour) -> None:
        message = Message(self.kind, number, text, ref, datetime.now(UTC))
        with self._lock:
            self.inbox.append(message)
        if self.on_message is not None:
            self.on_message(message)
        if self.kind != "wecom" and self.callbacks:
            threading.Thread(
                target=self._play, args=(message, behaviour), daemon=True, name="handset"
            ).start()

    def _play(self, message: Message, behaviour: Behaviour) -> None:
        if behaviour.delay_s:
            time.sleep(behaviour.delay_s)  # the phone rings for a while (emulated)
        reached = behaviour.handset == "reach"
        if self.kind.endswith("voice"):
            if reached and behaviour.press:
                self.press(message, behaviour.press)
            self._call_result(message, behaviour.handset)
        else:
            self._sms_report(message, reached)
            if reached and behaviour.reply:
                self.reply(message.number, behaviour.reply)

    def press(self, message: Message, key: str) -> int:
        """The person presses ``key`` during the call; our callback's HTTP status."""
        message.events.append(f"pressed {key}")
        if self.kind == "aliyun_voice":
            item = {
                "call_id": message.ref,
                "status_code": "300000",
                "dtmf": key,
                "status_time": _now_text(),
                "out_id": "",
            }
            return self._post("/callbacks/aliyun/voice-report", [item])
        body = {
            "voicekey_callback": {
                "call_from": "",
                "callid": message.ref,
                "keypress": key,
                "mobile": message.number[-11:],
                "nationcode": "86",
            }
        }
        return self._post("/callbacks/tencent/voice", body)

    def reply(self, number: str, text: str) -> int:
        """The person replies ``text`` to the SMS; our callback's HTTP status."""
        if self.kind == "aliyun_sms":
            item = {
                "phone_number": number,
                "send_time": _now_text(),
                "content": text,
                "sign_name": "",
                "dest_code": "",
                "sequence_id": uuid.uuid4().int % 10**9,
            }
            return self._post("/callbacks/aliyun/sms-up", [item])
        body = {
            "extend": "",
            "mobile": number[-11:],
            "nationcode": "86",
            "sign": "",
            "text": text,
            "time": int(time.time()),
        }
        return self._post("/callbacks/tencent/sms-reply", body)

    def _call_result(self, message: Message, handset: str) -> int:
        message.events.append(handset)
        now = _now_text()
        answered = handset == "reach"
        if self.kind == "aliyun_voice":
            words = {
                "reach": ("200000", "ANSWERED", "用户听完"),
                "no_answer": ("200005", "NO_ANSWER", "用户未接"),
                "busy": ("200002", "BUSY", "用户忙"),
                "off": ("200010", "POWER_OFF", "关机"),
                "fail": ("200011", "FAILED", "呼叫失败"),
            }[handset]
            item = {
                "call_id": message.ref,
                "status_code": words[0],
                "smart_status_code": words[1],
                "status_msg": words[2],
                "start_time": now if answered else "",
                "end_time": now if answered else "",
                "duration": "12" if answered else "0",
                "callee": message.number,
                "caller": "",
                "out_id": "",
                "hangup_direction": "用户" if answered else "机器",
            }
            return self._post("/callbacks/aliyun/voice-report", [item])
        result = "0" if answered else "1" if handset in ("no_answer", "busy") else "2"
        stamp = str(int(time.time()))
        body = {
            "voiceprompt_callback": {
                "result": result,
                "accept_time": stamp if answered else "0",
                "call_from": "",
                "callid": message.ref,
                "end_calltime": stamp,
                "fee": "1" if answered else "0",
                "mobile": message.number[-11:],
                "nationcode": "86",
                "start_calltime": stamp,
            }
        }
        return self._post("/callbacks/tencent/voice", body)

    def _sms_report(self, message: Message, reached: bool) -> int:
        message.events.append("delivered" if reached else "failed at the handset")
        if self.kind == "aliyun_sms":
            item = {
                "phone_number": message.number,
                "send_time": _now_text(),
                "report_time": _now_text(),
                "success": reached,
                "err_code": "DELIVERED" if reached else "MK:0001",
                "err_msg": "用户接收成功" if reached else "用户关机或不在服务区",
                "sms_size": "1",
                "biz_id": message.ref,
                "out_id": "",
            }
            return self._post("/callbacks/aliyun/sms-report", [item])
        item = {
            "user_receive_time": _now_text(),
            "nationcode": "86",
            "mobile": message.number[-11:],
            "report_status": "SUCCESS" if reached else "FAIL",
            "errmsg": "DELIVRD" if reached else "MK:0001",
            "description": "用户短信送达成功" if reached else "用户关机或不在服务区",
            "sid": message.ref,
        }
        return self._post("/callbacks/tencent/sms-status", [item])

    def _post(self, path: str, body: Any) -> int:
        assert self.callbacks, "no callback base URL"
        url = f"{self.callbacks.rstrip('/')}{path}"
        if self.token:
            url += f"?token={quote(self.token)}"
        data = json.dumps(body, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        # The callback base URL is ours (our API on loopback in tests and the demo).
        request = Request(url, data=data, method="POST", headers=headers)  # noqa: S310
        # Providers retry a callback that was not answered 2xx; so does the emulator (briefly).
        for attempt in range(RETRIES):
            try:
                with urlopen(request, timeout=5) as response:  # noqa: S310
                    status = int(response.status)
            except OSError as exc:
                status = int(getattr(exc, "code", 0) or 0)
            if 200 <= status < 300 or status in (400, 401):
                break
            time.sleep(RETRY_S * (attempt + 1))
        with self._lock:
            self.callback_answers.append((path, status))
        return status


def _digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())[-11:]
