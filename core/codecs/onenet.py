"""China Mobile OneNET HTTP data push: URL verification, signature check, both body forms.

Sources: OneNET "数据推送" (HTTP push) documentation, mirrored in warrlon/warrlon
``iotgz-docs/subbook/iot_platform/book/application-develop/push/http_push.md`` and the message
source formats in ``.../push/rule_engine_new/rule_data_new.md``; China Mobile's receiver SDK
cm-heclouds/data-push (``JAVA/.../Util.java``, ``PHP/util.php``).

- URL verification: ``GET ?msg=..&nonce=..&signature=..``; answer the ``msg`` value verbatim.
- Signature: ``base64(md5(token + nonce + msg))`` compared with ``signature`` (the current body,
  where ``msg`` is a JSON *string*) or ``msg_signature`` (the legacy body, where ``msg`` is a JSON
  value: the digest covers its JSON text, which we take byte for byte from the request). Spaces
  in a received signature are '+' mangled by URL decoding; '=' padding is ignored (as the SDK
  does). Encrypted (``enc_msg``, AES "安全模式") bodies are not supported: use plain mode.
- Current body ``{"msg", "nonce", "signature", "time", "id"}``: ``msg`` holds ``lifeCycle``
  (online/offline) or ``notify`` (``property`` or ``event``) thing-model messages, identity
  ``productId/deviceName``. Dedupe key: ``id``.
- Legacy body ``{"msg": {...} | [...], "msg_signature", "nonce"}``: ``type`` 1 datapoints
  ``{dev_id, ds_id, at, value}``; the datastream id is mapped like a property. Identity
  ``dev_id``. Dedupe key: a hash of the ``msg`` text (the legacy body has no message id).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Final

import orjson

from core.codecs.battery import with_level
from core.codecs.common import (
    build_records,
    json_object,
    message_key,
    presence_event,
    previous_flags,
    timestamp,
    transitions,
)
from core.codecs.thing_model import DEFAULT_MAP, PropertyMap, map_properties
from core.codecs.types import Decoded, HttpPushCodec, Message, State
from core.errors import DecodeError
from core.records import Record

NAME: Final = "onenet"
_MAX_ITEMS: Final = 500


def signature(token: str, nonce: str, msg: str) -> str:
    """OneNET's signature: base64 of md5(token + nonce + msg), UTF-8."""
    digest = hashlib.md5((token + nonce + msg).encode("utf-8"), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def _same_signature(expected: str, received: object) -> bool:
    if not isinstance(received, str):
        return False
    got = received.strip().replace(" ", "+").rstrip("=")
    return hmac.compare_digest(expected.rstrip("=").encode(), got.encode())


class OneNetCodec(HttpPushCodec):
    """Codec for OneNET HTTP push.

    Signatures are checked unless ``verify=False`` (development only); verifying without a token
    refuses every push rather than accepting unsigned data.
    """

    name = NAME

    def __init__(
        self,
        *,
        token: str | None,
        verify: bool = True,
        product_maps: Mapping[str, PropertyMap] | None = None,
        max_bytes: int = 65536,
    ) -> None:
        self._token = token
        self._verify = verify
        self._maps = dict(product_maps or {})
        self._max_bytes = max_bytes

    def identify(self, message: Message) -> tuple[str, ...]:
        """Every device the push names (legacy bodies may batch several)."""
        if message.method.upper() == "GET":
            return ()
        return tuple(dict.fromkeys(item[0] for item in self._items(message)[0]))

    def decode(self, message: Message, states: Mapping[str, State]) -> Decoded:
        """Verify and decode one push (or answer the URL verification)."""
        if message.method.upper() == "GET":
            return self._verify_url(message)
        items, dedupe = self._items(message)
        records: list[Record] = []
        new_states: dict[str, dict[str, Any]] = {}
        for external_id, payload, product in items:
            # A batch may name a device twice: the later item sees the earlier one's flags (and
            # still the profile ingest lent with the stored state).
            stored = states.get(external_id)
            state = {
                **(stored if isinstance(stored, Mapping) else {}),
                **new_states.get(external_id, {}),
            }
            out, flags = self._item(external_id, payload, product, state, message)
            records.extend(out)
            if flags is not None:
                new_states[external_id] = {"flags": flags}
        ids = tuple(dict.fromkeys(item[0] for item in items))
        return Decoded(tuple(records), ids, new_states, dedupe)

    def _verify_url(self, message: Message) -> Decoded:
        msg, nonce, sig = (message.query.get(k) for k in ("msg", "nonce", "signature"))
        if not isinstance(msg, str) or not isinstance(nonce, str):
            raise DecodeError("bad_verification", "URL verification needs msg and nonce")
        self._check(nonce, msg, sig)
        return Decoded(reply=msg.encode("utf-8"), note="url verification")

    def _items(self, message: Message) -> tuple[list[tuple[str, dict[str, Any], str]], str]:
        if len(message.body) > self._max_bytes:
            raise DecodeError("too_large", f"payload exceeds {self._max_bytes} bytes")
        body = json_object(message.body, what="OneNET push body")
        if "enc_msg" in body:
            raise DecodeError("encrypted_unsupported", "encrypted (AES) push is not supported")
        nonce = body.get("nonce")
        msg = body.get("msg")
        if not isinstance(nonce, str) or msg is None:
            raise DecodeError("bad_payload", "OneNET push needs msg and nonce")
        if isinstance(msg, str):
            self._check(nonce, msg, body.get("signature"))
            inner = json_object(msg, what="OneNET msg")
            push_id = body.get("id")
            dedupe = f"onenet:id:{push_id}" if push_id not in (None, "") else None
            return [_current_item(inner)], dedupe or f"onenet:hash:{message_key(msg):x}"
        msg_text = _raw_member(message.body, "msg")
        self._check(nonce, msg_text, body.get("msg_signature", body.get("signature")))
        # Decode exactly the text that was verified: with a duplicated "msg" key the parsed
        # body would hold another value than the signed one.
        try:
            signed = orjson.loads(msg_text)
        except orjson.JSONDecodeError as exc:
            raise DecodeError("bad_json", "legacy msg is not valid JSON") from exc
        entries = signed if isinstance(signed, list) else [signed]
        if len(entries) > _MAX_ITEMS or not all(isinstance(e, dict) for e in entries):
            raise DecodeError("bad_payload", "legacy msg must be an object or a list of objects")
        return [_legacy_item(e) for e in entries], f"onenet:hash:{message_key(msg_text):x}"

    def _check(self, nonce: str, msg: str, received: object) -> None:
        if not self._verify:
            return
        if self._token is None:
            raise DecodeError("no_token", "no OneNET token is configured to check signatures")
        if not _same_signature(signature(self._token, nonce, msg), received):
            raise DecodeError("bad_signature", "push signature does not match the token")

    def _item(
        self,
        external_id: str,
        payload: dict[str, Any],
        product: str,
        state: State | None,
        message: Message,
    ) -> tuple[tuple[Record, ...], dict[str, bool] | None]:
        key = message_key(external_id, orjson.dumps(payload, option=orjson.OPT_SORT_KEYS))
        kind = payload.get("messageType")
        if kind == "lifeCycle":
            data = payload.get("data")
            if not isinstance(data, Mapping):
                raise DecodeError("bad_payload", "lifeCycle needs a data object")
            status = data.get("status")
            if status not in ("online", "offline"):
                raise DecodeError("bad_status", "lifeCycle status must be online or offline")
            ts, _ = timestamp(data.get("time"), message.received_at)
            event = presence_event(
                external_id=external_id,
                online=status == "online",
                source=NAME,
                ts=ts,
                received_at=message.received_at,
                msg_key=key,
                raw=payload,
            )
            return (event,), None
        props, times, forced = _properties(payload)
        if props is None:
            return (), None  # replies, scene logs, positions: not device data
        mapped = map_properties(props, self._maps.get(product, DEFAULT_MAP))
        flagged = {k for k, v in mapped.observed.items() if v} if forced else set()
        observed = with_level(mapped.observed, mapped.telemetry, state)
        change = transitions(previous_flags(state), observed, forced=flagged)
        ts, clock_suspect = timestamp(max(times) if times else None, message.received_at)
        extra: dict[str, Any] = {"properties": mapped.unmapped, "product": product}
        if clock_suspect:
            extra["clock_suspect"] = True
        records = build_records(
            external_id=external_id,
            source=NAME,
            ts=ts,
            received_at=message.received_at,
            msg_key=key,
            events=change.events,
            telemetry=mapped.telemetry,
            raw=payload,
            extra=extra,
        )
        return records, change.flags


def _raw_member(body: bytes, name: str) -> str:
    """The exact JSON text of a top-level member, as the platform signed it."""
    text = body.decode("utf-8", "replace")
    decoder = json.JSONDecoder()  # orjson cannot report positions
    try:
        index = _skip(text, 0)
        if text[index] != "{":
            raise DecodeError("not_an_object", "push body must be a JSON object")
        index += 1
        for _ in range(len(text)):  # bounded: every round consumes at least one member
            index = _skip(text, index)
            key, index = decoder.raw_decode(text, index)
            index = _skip(text, index)
            if text[index] != ":":
                break
            start = _skip(text, index + 1)
            _, end = decoder.raw_decode(text, start)
            if key == name:
                return text[start:end]
            index = _skip(text, end)
            if text[index] != ",":
                break
            index += 1
    except (ValueError, IndexError) as exc:
        raise DecodeError("bad_json", "malformed push body") from exc
    raise DecodeError("bad_payload", f"member {name!r} not found")


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def _current_item(inner: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
    product, device = inner.get("productId"), inner.get("deviceName")
    if not isinstance(product, str) or not isinstance(device, str) or not device or not product:
        raise DecodeError("missing_device_id", "msg needs productId and deviceName")
    return f"{product}/{device}", inner, product


def _legacy_item(entry: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
    dev_id = entry.get("dev_id")
    if isinstance(dev_id, bool) or not isinstance(dev_id, int | str) or dev_id == "":
        raise DecodeError("missing_device_id", "legacy datapoint needs dev_id")
    return str(dev_id), {"legacy": entry}, ""


def _properties(payload: dict[str, Any]) -> tuple[dict[str, Any] | None, list[int], bool]:
    """(flat properties, their times, event-style?) of a notify or legacy datapoint message."""
    legacy = payload.get("legacy")
    if isinstance(legacy, Mapping):
        if legacy.get("type") != 1:
            raise DecodeError("unsupported_message", "only legacy type 1 datapoints are handled")
        ds_id = legacy.get("ds_id")
        if not isinstance(ds_id, str) or not ds_id:
            raise DecodeError("bad_payload", "legacy datapoint needs ds_id")
        at = legacy.get("at")
        return {ds_id: legacy.get("value")}, [at] if isinstance(at, int) else [], False
    if payload.get("messageType") != "notify":
        return None, [], False
    data = payload.get("data")
    params = data.get("params") if isinstance(data, Mapping) else None
    if not isinstance(params, Mapping):
        raise DecodeError("bad_payload", "notify needs data.params")
    event_style = payload.get("notifyType") == "event"
    props: dict[str, Any] = {}
    times: list[int] = []
    for name, item in params.items():
        if not isinstance(item, Mapping):
            props[str(name)] = item
            continue
        if isinstance(item.get("time"), int) and not isinstance(item.get("time"), bool):
            times.append(item["time"])
        value = item.get("value")
        if event_style and isinstance(value, Mapping):
            props.update({str(k): v for k, v in value.items()})  # event output parameters
        props[str(name)] = value if not (event_style and isinstance(value, Mapping)) else True
    return props, times, event_style
