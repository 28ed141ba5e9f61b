"""OneNET (OneNET Studio) property set over HTTPS: a synchronous command the device answers.

Request (OneNET API docs "设备属性设置" SetDeviceProperty and "API鉴权", mirrored in
warrlon/warrlon ``iotgz-docs/subbook/iot_platform/book/api/application/setDeviceProperty.md``,
``api/auth.md``, ``api/introduce.md``):
``POST <url>/application?action=SetDeviceProperty&version=1`` with
``{"project_id", "product_id", "device_name", "params"}`` and the header ``authorization:
version=2020-05-29&res=<res>&et=<expiry>&method=sha1&sign=<sign>``, ``sign`` =
base64(HMAC-SHA1(base64decode(access key), et + "\\n" + method + "\\n" + res + "\\n" +
version)), values URL-encoded. Answer ``{"success": true, "data": {"id", "code", "msg"}}``:
``data.code`` is the device's own reply (200 = done), so an answer acknowledges at once; a
failed call (``success`` false: offline, timeout) is retried with the command until it expires.
The properties per command kind are the product's thing model: ``SMOKEWATCH_ONENET_COMMANDS``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from ingest.commands.ctwing import Sent, _params

VERSION = "2020-05-29"


def authorization(*, res: str, access_key: str, et: int, method: str = "sha1") -> str:
    """OneNET's API token (see the module docstring)."""
    text = f"{et}\n{method}\n{res}\n{VERSION}".encode()
    digest = hmac.new(base64.b64decode(access_key), text, getattr(hashlib, method)).digest()
    sign = quote(base64.b64encode(digest).decode(), safe="")
    return f"version={VERSION}&res={quote(res, safe='')}&et={et}&method={method}&sign={sign}"


@dataclass(frozen=True, slots=True)
class OnenetConfig:
    """Where and as whom to call, and the product's properties per command kind."""

    url: str
    project_id: str
    res: str  # "userid/<id>" or "projectid/<id>/groupid/<id>"
    access_key: str
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    timeout_s: float = 15.0


def send(config: OnenetConfig, row: dict[str, Any]) -> Sent:
    """Set the command's properties on the device; ``command_id`` set means the device said 200."""
    spec = config.properties.get(row["kind"])
    if spec is None:
        return Sent(error=f"SMOKEWATCH_ONENET_COMMANDS has no properties for {row['kind']}")
    address = row.get("external_address") or ""
    product_id, _, device_name = address.partition("/")
    if not device_name:
        return Sent(error=f"device {row['device_id']} has no onenet identity productId/deviceName")
    body = {
        "project_id": config.project_id,
        "product_id": product_id,
        "device_name": device_name,
        "params": _params(spec.get("params", {}), row["parameters"] or {}),
    }
    token = authorization(res=config.res, access_key=config.access_key, et=int(time.time()) + 3600)
    try:
        response = requests.post(
            config.url.rstrip("/") + "/application",
            params={"action": "SetDeviceProperty", "version": "1"},
            json=body,
            headers={"authorization": token},
            timeout=config.timeout_s,
        )
        answer = response.json()
    except (requests.RequestException, ValueError) as exc:
        return Sent(error=f"onenet unreachable: {type(exc).__name__}", retry=True)
    return _read_answer(response.status_code, answer)


def _read_answer(status: int, answer: Any) -> Sent:
    """The device's reply inside the platform's answer."""
    if status in (401, 403):
        return Sent(error=f"onenet refused the token: HTTP {status}")
    if not isinstance(answer, dict):
        return Sent(error=f"onenet HTTP {status}, unexpected body", retry=True)
    data = answer.get("data")
    if answer.get("success") is True and isinstance(data, dict) and data.get("code") == 200:
        return Sent(command_id=str(data.get("id") or answer.get("requestId") or "ok"))
    if answer.get("success") is True and isinstance(data, dict):
        return Sent(error=f"device answered {data.get('code')} {data.get('msg')}"[:300])
    # offline, sleeping or timed out: try again with the command's next attempt
    return Sent(error=f"onenet: {answer.get('code')} {answer.get('msg')}"[:300], retry=True)
