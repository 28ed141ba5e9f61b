"""Custom Apprise plugins for what Apprise lacks: Aliyun SMS and voice, Tencent SMS and voice.

URLs (secrets in the user:password part, masked in logs by Apprise's privacy mode)::

    aliyunsms://KeyId:Secret@TemplateCode/13800000000?sign=SignName&param=content
    alivoice://KeyId:Secret@TtsCode/13800000000?show=CalledShowNumber&param=content&ack=TtsCode2
    tencentsms://SecretId:SecretKey@SdkAppId/TemplateId/+8613800000000?sign=SignName
    tencentvoice://SecretId:SecretKey@VoiceSdkAppid/TemplateId/+8613800000000

Voice calls are interactive: Aliyun ``IvrCall`` reads the alert (start code ``TtsCode``) and
maps key 1 (``MenuKeyMap``) to the ``ack=`` confirmation prompt; the keypress comes back in
the call-status receipt (``dtmf``). ``mode=tts`` keeps the one-way ``SingleCallByTts``.
Tencent ``SendTtsVoice`` templates ask to press 1; the keypress comes back by the voice
callback (``voicekey_callback``). Each plugin keeps the provider's id for the request
(``last_ref``: BizId, CallId, SerialNo) so receipts find the attempt.

SMS and voice need templates approved by the provider; the message body goes into the
template variable named by ``param`` (Aliyun) or as the only template parameter (Tencent).
``endpoint=`` points at another host (a regional endpoint, or a test server). Every request
has a timeout, and the provider's answer is judged by its body, never by HTTP 200 alone.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
from apprise.common import NotifyType
from apprise.plugins.base import NotifyBase

from core.notify.plugins.capture import PROXY, scrub
from core.notify.plugins.signing import aliyun_signature, tc3_authorization
from core.redact import redact


class _CloudPlugin(NotifyBase):
    """Shared parsing and HTTP for the signed cloud APIs."""

    default_endpoint = ""
    request_rate_per_sec = 0
    last_response: str | None = None
    last_ref: str | None = None

    def __init__(
        self,
        targets: list[str] | None = None,
        endpoint: str | None = None,
        options: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.targets = [t for t in (targets or []) if t]
        self.endpoint = (endpoint or self.default_endpoint).rstrip("/")
        self.options = options or {}
        if not self.user or not self.password or not self.targets:
            raise TypeError(f"{self.service_name} needs credentials and at least one number")
        self.key_id: str = str(self.user)
        self.key_secret: str = str(self.password)

    @classmethod
    def parse_url(cls, url: str) -> dict[str, Any] | None:  # type: ignore[override]
        results = NotifyBase.parse_url(url, verify_host=False)
        if not results:
            return results
        path = [cls.unquote(p) for p in NotifyBase.split_path(results["fullpath"])]
        results["targets"] = [cls.unquote(results["host"]), *path]
        results["endpoint"] = results["qsd"].get("endpoint")
        results["options"] = dict(results["qsd"])
        return results

    def url(self, privacy: bool = False, *args: Any, **kwargs: Any) -> str:
        secret = self.pprint(self.password, privacy, mode="secret", safe="")
        return f"{self.protocol}://{self.user}:{secret}@{'/'.join(self.targets)}"

    def __len__(self) -> int:
        return 1

    def _post(self, url: str, **kwargs: Any) -> requests.Response | None:
        self.throttle()
        try:
            response = PROXY.post(url, timeout=self.request_timeout, **kwargs)
        except requests.RequestException as exc:
            self.last_response = scrub(f"{type(exc).__name__}: {exc}")[:500]
            self.logger.warning("%s request failed: %s", self.service_name, type(exc).__name__)
            return None
        self.last_response = f"HTTP {response.status_code}: " + (
            response.content[:500].decode("utf-8", "replace")
        )
        return response

    def _tc3_post(
        self, service: str, action: str, version: str, payload: bytes
    ) -> tuple[requests.Response | None, dict[str, Any]]:
        """A signed Tencent Cloud API 3.0 request; (response, its ``Response`` object)."""
        where = urlsplit(self.endpoint)
        host, path = where.netloc, where.path.rstrip("/") + "/"
        timestamp = int(time.time())
        content_type = "application/json; charset=utf-8"
        headers = {
            "Authorization": tc3_authorization(
                secret_id=self.key_id,
                secret_key=self.key_secret,
                service=service,
                host=host,
                payload=payload,
                timestamp=timestamp,
                content_type=content_type,
                path=path,
            ),
            "Content-Type": content_type,
            "Host": host,
            "X-TC-Action": action,
            "X-TC-Version": version,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self.options.get("region", "ap-guangzhou"),
        }
        response = self._post(self.endpoint + "/", data=payload, headers=headers)
        if response is None:
            return None, {}
        try:
            answer = response.json().get("Response", {})
        except (ValueError, AttributeError):
            answer = {}
        return response, answer if isinstance(answer, dict) else {}


class NotifyAliyunSMS(_CloudPlugin):
    """Aliyun (Alibaba Cloud) SMS, Dysmsapi ``SendSms``, RPC signature V2."""

    service_name = "Aliyun SMS"  # type: ignore[assignment]
    protocol = "aliyunsms"  # type: ignore[assignment]
    default_endpoint = "https://dysmsapi.aliyuncs.com"
    action, version = "SendSms", "2017-05-25"
    ref_key = "BizId"

    def _action(self) -> str:
        return self.action

    def _params(self, body: str) -> dict[str, str]:
        template, numbers = self.targets[0], self.targets[1:]
        return {
            "PhoneNumbers": ",".join(numbers),
            "SignName": self.options.get("sign", ""),
            "TemplateCode": template,
            "TemplateParam": orjson.dumps({self.options.get("param", "content"): body}).decode(),
        }

    def send(
        self, body: str, title: str = "", notify_type: NotifyType = NotifyType.INFO, **kwargs: Any
    ) -> bool:
        if len(self.targets) < 2:
            self.logger.warning("%s: no phone number", self.service_name)
            return False
        params: dict[str, str] = {
            "AccessKeyId": self.key_id,
            "Action": self._action(),
            "Format": "JSON",
            "RegionId": self.options.get("region", "cn-hangzhou"),
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "Version": self.version,
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            **self._params(body),
        }
        params["Signature"] = aliyun_signature(params, self.key_secret, "POST")
        response = self._post(self.endpoint + "/", data=params)
        if response is None:
            return False
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code == 200 and answer.get("Code") == "OK":
            self.last_ref = str(answer.get(self.ref_key) or "") or None
            return True
        self.logger.warning(
            "%s refused: %s", self.service_name,
            redact(f"{answer.get('Code')} {answer.get('Message')}"),
        )  # fmt: skip
        return False


class NotifyAliyunVoice(NotifyAliyunSMS):
    """Aliyun voice, Dyvmsapi ``IvrCall`` (press 1 to confirm) or ``SingleCallByTts``."""

    service_name = "Aliyun voice call"
    protocol = "alivoice"
    default_endpoint = "https://dyvmsapi.aliyuncs.com"
    action, version = "IvrCall", "2017-05-25"
    ref_key = "CallId"

    def _action(self) -> str:
        return "SingleCallByTts" if self.options.get("mode") == "tts" else "IvrCall"

    def _params(self, body: str) -> dict[str, str]:
        template, numbers = self.targets[0], self.targets[1:]
        tts = orjson.dumps({self.options.get("param", "content"): body}).decode()
        if self._action() == "IvrCall":
            # Key 1 plays the confirmation prompt (ack=, else the alert again); the key itself
            # reaches us in the call-status receipt, which acknowledges the incident.
            key_one = {"Key": "1", "Code": self.options.get("ack", template), "TtsParams": tts}
            return {
                "CalledNumber": numbers[0],
                "CalledShowNumber": self.options.get("show", ""),
                "StartCode": template,
                "StartTtsParams": tts,
                "MenuKeyMap": orjson.dumps([key_one]).decode(),
                "PlayTimes": self.options.get("times", "2"),
                "Timeout": self.options.get("keywait_ms", "10000"),
            }
        # One call per request; extra numbers are separate contacts, not a broadcast.
        return {
            "CalledNumber": numbers[0],
            "CalledShowNumber": self.options.get("show", ""),
            "TtsCode": template,
            "PlayTimes": self.options.get("times", "2"),
            "TtsParam": orjson.dumps({self.options.get("param", "content"): body}).decode(),
        }


class NotifyTencentSMS(_CloudPlugin):
    """Tencent Cloud SMS ``SendSms`` (API 2021-01-11), TC3-HMAC-SHA256 signature."""

    service_name = "Tencent Cloud SMS"  # type: ignore[assignment]
    protocol = "tencentsms"  # type: ignore[assignment]
    default_endpoint = "https://sms.tencentcloudapi.com"

    def send(
        self, body: str, title: str = "", notify_type: NotifyType = NotifyType.INFO, **kwargs: Any
    ) -> bool:
        if len(self.targets) < 3:
            self.logger.warning("%s: needs SdkAppId/TemplateId/number", self.service_name)
            return False
        app_id, template, numbers = self.targets[0], self.targets[1], self.targets[2:]
        payload = orjson.dumps(
            {
                "PhoneNumberSet": numbers,
                "SmsSdkAppId": app_id,
                "TemplateId": template,
                "SignName": self.options.get("sign", ""),
                "TemplateParamSet": [body],
            }
        )
        response, answer = self._tc3_post("sms", "SendSms", "2021-01-11", payload)
        if response is None:
            return False
        statuses = answer.get("SendStatusSet") or []
        if (
            response.status_code == 200
            and "Error" not in answer
            and statuses
            and all(s.get("Code") == "Ok" for s in statuses)
        ):
            self.last_ref = str(statuses[0].get("SerialNo") or "") or None
            return True
        error = answer.get("Error") or (statuses[0] if statuses else {})
        self.logger.warning(
            "%s refused: %s", self.service_name,
            redact(f"{error.get('Code')} {error.get('Message')}"),
        )  # fmt: skip
        return False


class NotifyTencentVoice(_CloudPlugin):
    """Tencent Cloud voice messages (VMS) ``SendTtsVoice`` (API 2020-09-02), TC3 signature.

    The template reads the alert and asks to press 1; the key comes back by the VMS voice
    callback (``voicekey_callback``), the call result by ``voiceprompt_callback``.
    """

    service_name = "Tencent Cloud voice call"  # type: ignore[assignment]
    protocol = "tencentvoice"  # type: ignore[assignment]
    default_endpoint = "https://vms.tencentcloudapi.com"

    def send(
        self, body: str, title: str = "", notify_type: NotifyType = NotifyType.INFO, **kwargs: Any
    ) -> bool:
        if len(self.targets) < 3:
            self.logger.warning("%s: needs VoiceSdkAppid/TemplateId/number", self.service_name)
            return False
        app_id, template, number = self.targets[0], self.targets[1], self.targets[2]
        payload = orjson.dumps(
            {
                "TemplateId": template,
                "TemplateParamSet": [body],
                "CalledNumber": number,
                "VoiceSdkAppid": app_id,
                "PlayTimes": int(self.options.get("times", "2")),
            }
        )
        response, answer = self._tc3_post("vms", "SendTtsVoice", "2020-09-02", payload)
        if response is None:
            return False
        status = answer.get("SendStatus") or {}
        if response.status_code == 200 and "Error" not in answer and status.get("CallId"):
            self.last_ref = str(status["CallId"])
            return True
        error = answer.get("Error") or {}
        self.logger.warning(
            "%s refused: %s", self.service_name,
            redact(f"{error.get('Code')} {error.get('Message')}"),
        )  # fmt: skip
        return False
