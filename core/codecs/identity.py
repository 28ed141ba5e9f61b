"""External identities in one canonical spelling, so a registered id matches the traffic.

Labels print a devEui in upper case and often with separators (``70-B3-D5-...``); ChirpStack
sends it as 16 lower-case hex digits. zigbee2mqtt names a device by its IEEE address
``0x00158d0001a2b3c4`` (lower case) until it is given a friendly name. IMEIs are 15 digits that
people copy with spaces. The API normalises on registration and on lookup, and the codecs
produce the same spelling, so ``device_identities.external_id`` compares as typed.

Rules per codec (each :class:`ValueError` message is shown to the installer, Chinese first):
- ``chirpstack``: devEui, 16 hex digits; separators ``-``, ``:``, spaces dropped; lower case.
- ``zigbee2mqtt``: an IEEE address (16 hex digits, ``0x`` optional, separators dropped) becomes
  ``0x`` + lower-case hex; any other friendly name is kept as typed (zigbee2mqtt topics are
  case-sensitive) but must not contain MQTT wildcards or end in a command or availability topic.
- ``ctwing``: the platform ``deviceId`` (letters, digits, ``_``/``-``), compared in lower case;
  an IMEI typed with spaces or dashes is 15 digits.
- ``onenet``: ``<productId>/<deviceName>`` (current) or the numeric legacy ``dev_id``, kept as
  typed (OneNET device names are case-sensitive), surrounding spaces dropped.
- ``homeassistant``: the device key a discovery config announced (``dev.identifiers[0]``,
  else the entity's ``unique_id``), kept as announced.
- ``native``: our own device id rule (``core.domain.DEVICE_ID_PATTERN``).
"""

from __future__ import annotations

import re
from typing import Final

from core.domain import DEVICE_ID_PATTERN

_SEPARATORS: Final = re.compile(r"[\s:\-_.]")
_HEX16: Final = re.compile(r"^[0-9a-f]{16}$")
_CTWING: Final = re.compile(r"^[a-z0-9_-]{1,64}$")
_IMEI_TYPED: Final = re.compile(r"^[0-9][0-9 \-]{13,20}[0-9]$")
_ONENET_CURRENT: Final = re.compile(r"^[A-Za-z0-9]{1,32}/[A-Za-z0-9_.\-@]{1,64}$")
_ONENET_LEGACY: Final = re.compile(r"^[0-9]{1,20}$")
_Z2M_RESERVED_SUFFIXES: Final = ("/set", "/get", "/availability")
MAX_LENGTH: Final = 200


def normalise(codec: str, external_id: str) -> str:
    """The canonical spelling of ``external_id`` for ``codec``; ValueError says what is wrong."""
    text = external_id.strip()
    if not text:
        raise ValueError("标识为空 / identity is empty")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"标识过长 / identity is longer than {MAX_LENGTH} characters")
    if codec == "chirpstack":
        return dev_eui(text)
    if codec == "zigbee2mqtt":
        return zigbee_name(text)
    if codec == "ctwing":
        return ctwing_device(text)
    if codec == "onenet":
        if _ONENET_CURRENT.match(text) or _ONENET_LEGACY.match(text):
            return text
        raise ValueError(
            "OneNET 标识应为 产品ID/设备名称 或数字设备ID / OneNET identity must be"
            " <productId>/<deviceName> or the numeric device id"
        )
    if codec == "homeassistant":
        # The discovered device key (dev.identifiers[0] or unique_id), as announced.
        if "#" in text or "+" in text:
            raise ValueError("设备标识不能含 # 或 + / device key must not contain '#' or '+'")
        return text
    if codec == "native":
        if DEVICE_ID_PATTERN.match(text):
            return text
        raise ValueError(
            "设备编号只能含字母、数字和 . _ : - / device id may use letters, digits,"
            " '.', '_', ':' and '-' (max 64)"
        )
    raise ValueError(f"未知接入方式 / unknown codec {codec[:40]!r}")


def dev_eui(text: str) -> str:
    """A LoRaWAN devEui as ChirpStack spells it: 16 lower-case hex digits."""
    compact = _SEPARATORS.sub("", text.strip()).lower()
    if compact.startswith("0x"):
        compact = compact[2:]
    if not _HEX16.match(compact):
        raise ValueError(
            "devEui 应为 16 位十六进制数字（8 字节），如 70B3D57ED0001234 / devEui must be"
            " 16 hexadecimal digits (8 bytes), e.g. 70B3D57ED0001234"
        )
    return compact


def ieee_address(text: str) -> str | None:
    """``0x`` + 16 lower-case hex digits when ``text`` is an IEEE address, else None."""
    compact = _SEPARATORS.sub("", text.strip()).lower()
    if compact.startswith("0x"):
        compact = compact[2:]
    return "0x" + compact if _HEX16.match(compact) else None


def zigbee_name(text: str) -> str:
    """A zigbee2mqtt friendly name; IEEE addresses in zigbee2mqtt's lower-case ``0x`` form."""
    text = text.strip()
    address = ieee_address(text)
    if address is not None:
        return address
    if "#" in text or "+" in text:
        raise ValueError(
            "zigbee2mqtt 名称不能含 # 或 + / zigbee2mqtt name must not contain '#' or '+'"
        )
    if text.startswith("/") or text.endswith("/") or "//" in text:
        raise ValueError(
            "zigbee2mqtt 名称不能以 / 开头或结尾，也不能含 // / zigbee2mqtt name must not"
            " start or end with '/' or contain '//'"
        )
    if text == "bridge" or text.startswith("bridge/") or text.endswith(_Z2M_RESERVED_SUFFIXES):
        raise ValueError(
            "zigbee2mqtt 名称不能是 bridge/... 或以 /set、/get、/availability 结尾 /"
            " zigbee2mqtt name must not be 'bridge/...' or end in /set, /get or /availability"
        )
    return text


def ctwing_device(text: str) -> str:
    """A CTWing deviceId (compared in lower case) or a typed IMEI (15 digits)."""
    text = text.strip()
    if _IMEI_TYPED.match(text) and (" " in text or "-" in text):
        digits = re.sub(r"[ \-]", "", text)
        if len(digits) != 15:
            raise ValueError("IMEI 应为 15 位数字 / IMEI must be 15 digits")
        return digits
    lowered = text.lower()
    if not _CTWING.match(lowered):
        raise ValueError(
            "CTWing 设备ID只能含字母、数字、_ 和 - / CTWing deviceId may use letters,"
            " digits, '_' and '-' (max 64)"
        )
    return lowered
