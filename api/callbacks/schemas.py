"""Parse each provider's documented callback body into receipts and replies (at the edge).

Every item comes with its own natural key, so a provider's retry of the same item is a no-op.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.reach import Receipt, Reply

Item = tuple[str, Receipt | Reply]


class CallbackBodyError(ValueError):
    """The callback body is not the provider's documented shape."""


def _items(body: Any) -> list[dict[str, Any]]:
    items = body if isinstance(body, list) else [body]
    if not all(isinstance(i, dict) for i in items):
        raise CallbackBodyError("expected a JSON object or an array of objects")
    return items


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if value is None or value == "":
        raise CallbackBodyError(f"missing {key}")
    return str(value)


def aliyun_sms_report(body: Any, now: datetime) -> list[Item]:
    """Aliyun SmsReport: ``[{biz_id, phone_number, success, err_code, err_msg, ...}]``."""
    out: list[Item] = []
    for item in _items(body):
        ref = _text(item, "biz_id")
        ok = item.get("success") in (True, "true", "True")
        detail = f"{item.get('err_code', '')} {item.get('err_msg', '')}".strip()
        out.append((f"{ref}:{item.get('phone_number')}", Receipt("aliyun", ref, ok, detail, now)))
    return out


def aliyun_sms_up(body: Any, now: datetime) -> list[Item]:
    """Aliyun SmsUp: ``[{phone_number, content, send_time, sequence_id, ...}]``."""
    out: list[Item] = []
    for item in _items(body):
        phone, text = _text(item, "phone_number"), str(item.get("content") or "")
        key = f"{phone}:{item.get('sequence_id') or ''}:{item.get('send_time') or ''}:{text}"
        out.append((key, Reply("aliyun", phone, text, now)))
    return out


def aliyun_voice_report(body: Any, now: datetime) -> list[Item]:
    """Aliyun VoiceReport (call ended) and VoiceCallReport (status 300000 carries ``dtmf``).

    VoiceReport: ``start_time`` is empty and ``duration`` 0 when the call was not answered.
    """
    out: list[Item] = []
    for item in _items(body):
        ref, code = _text(item, "call_id"), str(item.get("status_code") or "")
        if item.get("dtmf"):
            key = f"{ref}:dtmf:{item['dtmf']}"
            out.append((key, Receipt("aliyun", ref, None, code, now, keypress=str(item["dtmf"]))))
            continue
        if "duration" not in item and "start_time" not in item:
            continue  # an intermediate state (ringing...) says nothing yet
        answered = bool(item.get("start_time")) or str(item.get("duration") or "0") not in ("", "0")
        detail = f"{code} {item.get('smart_status_code', '')} {item.get('status_msg', '')}"
        out.append((f"{ref}:end", Receipt("aliyun", ref, answered, " ".join(detail.split()), now)))
    return out


def tencent_sms_status(body: Any, now: datetime) -> list[Item]:
    """Tencent SMS status: ``[{sid, mobile, report_status: SUCCESS|FAIL, errmsg, ...}]``."""
    out: list[Item] = []
    for item in _items(body):
        ref = _text(item, "sid")
        ok = str(item.get("report_status", "")).upper() == "SUCCESS"
        detail = f"{item.get('errmsg', '')} {item.get('description', '')}".strip()
        out.append((f"{ref}:{item.get('mobile')}", Receipt("tencent", ref, ok, detail, now)))
    return out


def tencent_sms_reply(body: Any, now: datetime) -> list[Item]:
    """Tencent SMS reply: ``{mobile, nationcode, text, time, sign, extend}``."""
    out: list[Item] = []
    for item in _items(body):
        phone, text = _text(item, "mobile"), str(item.get("text") or "")
        key = f"{item.get('nationcode', '')}{phone}:{item.get('time', '')}:{text}"
        out.append((key, Reply("tencent", phone, text, now)))
    return out


def tencent_voice(body: Any, now: datetime) -> list[Item]:
    """Tencent VMS: ``voiceprompt_callback`` (result 0 answered, 1 not answered, 2 failed)
    and ``voicekey_callback`` (``keypress``)."""
    out: list[Item] = []
    for item in _items(body):
        if isinstance(item.get("voicekey_callback"), dict):
            key_cb = item["voicekey_callback"]
            ref, key = _text(key_cb, "callid"), _text(key_cb, "keypress")
            out.append((f"{ref}:key:{key}", Receipt("tencent", ref, None, "keypress", now, key)))
        elif isinstance(item.get("voiceprompt_callback"), dict):
            status = item["voiceprompt_callback"]
            ref, result = _text(status, "callid"), str(status.get("result", ""))
            words = {"0": "answered", "1": "not answered", "2": "call failed"}.get(result, result)
            out.append(
                (f"{ref}:end", Receipt("tencent", ref, result == "0", f"{result} {words}", now))
            )
        else:
            raise CallbackBodyError("expected voiceprompt_callback or voicekey_callback")
    return out


def received_now() -> datetime:
    """When the callback arrived (receipts are applied at receive time)."""
    return datetime.now(UTC)
