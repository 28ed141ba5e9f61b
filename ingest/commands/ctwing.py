"""CTWing AEP command delivery over HTTPS, and the platform's ``commandResponse`` receipt.

Request (CTWing AEP API "创建设备指令" ``POST /aep_device_command/command``, version
``20190712225145``, as CTWing's own SDKs send it; e.g. Hiworld-Inc/laravel-ctwing
``src/Aep/DeviceCommand.php`` and ``src/Core/AepSdkCore.php``):

- headers ``application`` (app key), ``timestamp`` (ms), ``version``, ``MasterKey`` (the
  product's), ``signature`` = base64(HMAC-SHA1(app secret, ``application:<key>\\n`` +
  ``timestamp:<ms>\\n`` + ``<name>:<value>\\n`` for MasterKey and the query parameters sorted by
  name + the body + ``\\n``));
- body ``{"content": {"serviceIdentifier", "params"}, "deviceId", "operator", "productId",
  "ttl", "level"}`` (a smoke product's silence in a public integration: service ``cmd``,
  params ``{"muffling": 0}``, SunseaIoT deliver ``WebserverApplicationTests.java``);
- answer ``{"code": 0, "msg": "ok", "result": {"commandId", "commandStatus", ...}}``; any other
  code is a refusal (the body, not the HTTP status, says so).

The device's answer comes back as the subscription push ``commandResponse`` (``taskId`` = the
commandId, ``result.resultCode``), which the API stores in the push inbox; ingest records it here
in the inbox's transaction. Services and parameters belong to the product's thing model, so they
are configuration (``SMOKEWATCH_CTWING_COMMANDS``); a ``"{interval_s}"`` / ``"{duration_s}"``
value takes the command's parameter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
import requests

from core.commands import finish_external

log = logging.getLogger(__name__)
API_VERSION = "20190712225145"
PATH = "/aep_device_command/command"
# commandResponse resultCode: the device got it (DELIVERED, as in the captured receipt) or ran
# it; anything final and unsuccessful fails the command; SENT and SAVED are on the way.
ACKNOWLEDGING = frozenset({"DELIVERED", "COMPLETED", "SUCCESS", "SUCCESSFUL", "EXECUTED"})
FAILING = frozenset({"FAILED", "TIMEOUT", "CANCELED", "CANCELLED", "EXPIRED"})


def signature(
    *, app_key: str, app_secret: str, timestamp_ms: int, params: dict[str, str], body: bytes
) -> str:
    """CTWing's request signature (see the module docstring)."""
    text = f"application:{app_key}\ntimestamp:{timestamp_ms}\n"
    text += "".join(f"{name}:{params[name]}\n" for name in sorted(params))
    data = text.encode() + (body + b"\n" if body else b"")
    return base64.b64encode(hmac.new(app_secret.encode(), data, hashlib.sha1).digest()).decode()


@dataclass(frozen=True, slots=True)
class CtwingConfig:
    """Where and as whom to send, and the product's service per command kind."""

    url: str
    app_key: str
    app_secret: str
    master_key: str
    product_id: int
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class Sent:
    """What the platform answered: its command id, or why not (``retry`` for transient)."""

    command_id: str | None = None
    error: str | None = None
    retry: bool = False


def _params(template: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in template.items():
        if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
            out[name] = values.get(value[1:-1])
        else:
            out[name] = value
    return out


def send(config: CtwingConfig, row: dict[str, Any], *, now: datetime | None = None) -> Sent:
    """Create the platform command for a claimed row (``external_address`` = CTWing deviceId)."""
    service = config.services.get(row["kind"])
    if service is None:
        return Sent(error=f"SMOKEWATCH_CTWING_COMMANDS has no service for {row['kind']}")
    if not row.get("external_address"):
        return Sent(error=f"device {row['device_id']} has no ctwing identity")
    now = now or datetime.now(UTC)
    ttl = max(1, int((row["expires_at"] - now).total_seconds()))
    body = orjson.dumps(
        {
            "content": {
                "serviceIdentifier": service["serviceIdentifier"],
                "params": _params(service.get("params", {}), row["parameters"] or {}),
            },
            "deviceId": row["external_address"],
            "operator": "smokewatch",
            "productId": config.product_id,
            "ttl": ttl,
            "level": 1,
        }
    )
    stamp = int(time.time() * 1000)
    headers = {
        "application": config.app_key,
        "timestamp": str(stamp),
        "version": API_VERSION,
        "MasterKey": config.master_key,
        "Content-Type": "application/json; charset=UTF-8",
        "signature": signature(
            app_key=config.app_key, app_secret=config.app_secret, timestamp_ms=stamp,
            params={"MasterKey": config.master_key}, body=body,
        ),
    }  # fmt: skip
    try:
        response = requests.post(
            config.url.rstrip("/") + PATH, data=body, headers=headers, timeout=config.timeout_s
        )
    except requests.RequestException as exc:
        return Sent(error=f"ctwing unreachable: {type(exc).__name__}", retry=True)
    return _read_answer(response)


def _read_answer(response: requests.Response) -> Sent:
    """The platform's answer: the body says whether it took the command."""
    if response.status_code >= 500:
        return Sent(error=f"ctwing HTTP {response.status_code}", retry=True)
    try:
        answer = response.json()
    except ValueError:
        return Sent(error=f"ctwing HTTP {response.status_code}, not JSON", retry=True)
    result = answer.get("result") if isinstance(answer, dict) else None
    if answer.get("code") == 0 and isinstance(result, dict) and result.get("commandId"):
        return Sent(command_id=str(result["commandId"]))
    return Sent(error=f"ctwing refused: code {answer.get('code')} {answer.get('msg')}"[:300])


def record_command_responses(conn: psycopg.Connection[Any], rows: list[dict[str, Any]]) -> int:
    """Record CTWing ``commandResponse`` pushes among push-inbox rows; how many answered."""
    answered = 0
    for row in rows:
        if row.get("codec") != "ctwing":
            continue
        try:
            body = orjson.loads(bytes(row["body"]))
        except orjson.JSONDecodeError:
            continue  # the codec dead-letters it
        if not isinstance(body, dict) or body.get("messageType") != "commandResponse":
            continue
        found = body.get("result")
        result: dict[str, Any] = found if isinstance(found, dict) else {}
        code = str(result.get("resultCode", "")).upper()
        if code in ACKNOWLEDGING:
            outcome = "ok"
        elif code in FAILING:
            outcome = code.lower()
        else:
            continue
        done = finish_external(
            conn, transport="ctwing", external_id=str(body.get("taskId")), result=outcome,
            detail={"ctwing_result": code, "ctwing_detail": str(result.get("resultDetail", ""))},
        )  # fmt: skip
        answered += done is not None
    return answered
