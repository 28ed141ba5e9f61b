"""Custom Apprise plugins for what Apprise lacks: Aliyun SMS, Aliyun voice (TTS call), Tencent SMS.

URLs (secrets in the user:password part, masked in logs by Apprise's privacy mode)::

    aliyunsms://KeyId:Secret@TemplateCode/13800000000?sign=SignName&param=content
    alivoice://KeyId:Secret@TtsCode/13800000000?show=CalledShowNumber&param=content
    tencentsms://SecretId:SecretKey@SdkAppId/TemplateId/+8613800000000?sign=SignName

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

from alerting.plugins.capture import scrub
from alerting.plugins.signing import aliyun_signature, tc3_authorization
from core.redact import redact


class _CloudPlugin(NotifyBase):
    """Shared parsing and HTTP for the signed cloud APIs."""

    default_endpoint = ""
    request_rate_per_sec = 0
    last_response: str | None = None

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
            response = requests.post(url, timeout=self.request_timeout, **kwargs)
        except requests.RequestException as exc:
            self.last_response = scrub(f"{type(exc).__name__}: {exc}")[:500]
            self.logger.warning("%s request failed: %s", self.service_name, type(exc).__name__)
            return None
        self.last_response = f"HTTP {response.status_code}: " + (
            response.content[:500].decode("utf-8", "replace")
        )
        return response


class NotifyAliyunSMS(_CloudPlugin):
    """Aliyun (Alibaba Cloud) SMS, Dysmsapi ``SendSms``, RPC signature V2."""

    service_name = "Aliyun SMS"  # type: ignore[assignment]
    protocol = "aliyunsms"  # type: ignore[assignment]
    default_endpoint = "https://dysmsapi.aliyuncs.com"
    action, version = "SendSms", "2017-05-25"

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
            "Action": self.action,
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
            return True
        self.logger.warning(
            "%s refused: %s", self.service_name,
            redact(f"{answer.get('Code')} {answer.get('Message')}"),
        )  # fmt: skip
        return False


class NotifyAliyunVoice(NotifyAliyunSMS):
    """Aliyun voice notification, Dyvmsapi ``SingleCallByTts`` (a text-to-speech call)."""

    service_name = "Aliyun voice call"
    protocol = "alivoice"
    default_endpoint = "https://dyvmsapi.aliyuncs.com"
    action, version = "SingleCallByTts", "2017-05-25"

    def _params(self, body: str) -> dict[str, str]:
        template, numbers = self.targets[0], self.targets[1:]
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
        where = urlsplit(self.endpoint)
        host, path = where.netloc, where.path.rstrip("/") + "/"
        timestamp = int(time.time())
        content_type = "application/json; charset=utf-8"
        headers = {
            "Authorization": tc3_authorization(
                secret_id=self.key_id,
                secret_key=self.key_secret,
                service="sms",
                host=host,
                payload=payload,
                timestamp=timestamp,
                content_type=content_type,
                path=path,
            ),
            "Content-Type": content_type,
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Version": "2021-01-11",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": self.options.get("region", "ap-guangzhou"),
        }
        response = self._post(self.endpoint + "/", data=payload, headers=headers)
        if response is None:
            return False
        try:
            answer = response.json().get("Response", {})
        except (ValueError, AttributeError):
            answer = {}
        statuses = answer.get("SendStatusSet") or []
        if (
            response.status_code == 200
            and "Error" not in answer
            and statuses
            and all(s.get("Code") == "Ok" for s in statuses)
        ):
            return True
        error = answer.get("Error") or (statuses[0] if statuses else {})
        self.logger.warning(
            "%s refused: %s", self.service_name,
            redact(f"{error.get('Code')} {error.get('Message')}"),
        )  # fmt: skip
        return False
