"""What a commissioning test checks, and what the installer is told (Chinese first, English).

Pure functions of what the database holds; service.py gathers the facts and stores the outcome.

Thresholds, and where they come from ([M] = industry practice, not a text we can quote):
- Signal, by the codec the model speaks. NB-IoT (CTWing, OneNET) reports RSRP: below -105 dBm a
  cell no longer serves the device at coverage class 0 and it falls back to repetitions that
  cost battery and delay an alarm [M]. Our own protocol (cellular or Wi-Fi gateways) and
  unknown radios: -100 dBm, the usual "weak" bar of both [M]. LoRaWAN gateway RSSI: -115 dBm,
  about 20 dB above SF12 sensitivity (-137 dBm) [M]. Zigbee reports LQI (0-255), not dBm
  (docs/devices.md), so signal is "not measured" there. All of them are module constants that
  a programme can change after its first field survey.
- Battery: the device's own low-battery flag (devices check at least every 24 h, GB 20517-2025,
  domain notes), or below 20 % (the simulator's and the reference model's low-battery level).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

WEAK_SIGNAL_DBM: Final[dict[str, int]] = {
    "ctwing": -105,
    "onenet": -105,
    "chirpstack": -115,
    "native": -100,
}
DEFAULT_WEAK_SIGNAL_DBM: Final = -100
LOW_BATTERY_PCT: Final = 20.0


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the installer's report; ``ok`` is None when it cannot be decided (yet)."""

    name: str
    ok: bool | None
    message_zh: str
    message_en: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


@dataclass(frozen=True, slots=True)
class Facts:
    """What the database says about the session, the device and the test event."""

    device_id: str
    device_status: str
    device_site_id: int | None
    session_site_id: int | None
    codec: str
    has_identity: bool
    expired: bool
    event: dict[str, Any] | None  # {id, ts, signal_dbm, battery_pct, readings_from}
    battery_low_flag: bool
    heard_since_start: bool
    strays: list[str]
    readings_pending: bool = False  # a bare test event; its report may still be on its way


def signal_threshold(codec: str) -> int | None:
    """The weak-signal bar in dBm for a codec, or None when it does not report dBm."""
    if codec == "zigbee2mqtt":
        return None
    return WEAK_SIGNAL_DBM.get(codec, DEFAULT_WEAK_SIGNAL_DBM)


def device_known(f: Facts) -> Check:
    if f.device_status == "removed":
        return Check(
            "device_known",
            False,
            f"设备 {f.device_id} 已拆除停用，不能调试。",
            f"Device {f.device_id} was removed from service and cannot be commissioned.",
        )
    if f.codec != "native" and not f.has_identity:
        return Check(
            "device_known",
            False,
            f"设备 {f.device_id} 没有登记 {f.codec} 标识，平台无法识别它的消息。",
            f"Device {f.device_id} has no {f.codec} identity registered, so its messages "
            "cannot be matched to it.",
        )
    return Check(
        "device_known", True, f"设备 {f.device_id} 已登记。", f"Device {f.device_id} is registered."
    )


def bound_here(f: Facts) -> Check:
    if f.device_site_id is None:
        return Check(
            "bound_to_site",
            False,
            "设备尚未绑定到住户或场所，请先绑定（房间、位置）。",
            "The device is not bound to a household or venue; bind it first (room, position).",
        )
    if f.session_site_id is not None and f.device_site_id != f.session_site_id:
        return Check(
            "bound_to_site",
            False,
            "设备绑定在另一处住户或场所，不是本次安装的地点。请核对设备编号或重新绑定。",
            "The device is bound to another household or venue, not the one being installed. "
            "Check the device id or bind it again.",
        )
    return Check(
        "bound_to_site", True, "设备已绑定到本住户/场所。", "The device is bound to this site."
    )


def event_received(f: Facts) -> Check:
    if f.event is not None:
        return Check(
            "event_received",
            True,
            "已收到测试信号。",
            "The test event was received.",
        )
    if not f.expired:
        return Check(
            "event_received",
            None,
            "等待测试信号：请按住探测器的测试按钮约 3 秒，直到蜂鸣器响起。",
            "Waiting for the test event: hold the detector's test button for about 3 seconds "
            "until the siren sounds.",
        )
    zh = ["未收到任何测试信号。"]
    en = ["Nothing was received."]
    if f.heard_since_start:
        zh.append("设备在线并有上报，但没有发出测试事件：请按住测试按钮更久一些再试。")
        en.append(
            "The device is reporting but sent no test event: hold the test button longer and "
            "try again."
        )
    else:
        zh.append(
            "请检查：电池已装好并通电；设备编号与标签一致；网络覆盖（NB-IoT 已注册，网关在线）。"
        )
        en.append(
            "Check that the battery is in and the device powered, that the id matches its "
            "label, and network coverage (NB-IoT attached, gateway online)."
        )
    if f.strays:
        ids = "、".join(f.strays)
        zh.append(f"测试期间收到未登记设备的消息：{ids}，是否输错了编号？")
        en.append(
            f"Unregistered devices were heard during the test: {', '.join(f.strays)}; "
            "was the id typed wrong?"
        )
    return Check("event_received", False, "".join(zh), " ".join(en))


def signal(f: Facts) -> Check:
    value = f.event.get("signal_dbm") if f.event else None
    threshold = signal_threshold(f.codec)
    if threshold is None or value is None:
        return Check(
            "signal",
            None,
            "该设备未上报信号强度（dBm），无法判断。",
            "The device does not report signal strength in dBm; not checked.",
        )
    if value < threshold:
        return Check(
            "signal",
            False,
            f"信号弱：{value} dBm（低于 {threshold} dBm）。请换个位置安装或检查网关/基站覆盖。",
            f"Weak signal: {value} dBm (below {threshold} dBm). Mount it elsewhere or check "
            "gateway or cell coverage.",
        )
    return Check("signal", True, f"信号良好：{value} dBm。", f"Signal is good: {value} dBm.")


def battery(f: Facts) -> Check:
    value = f.event.get("battery_pct") if f.event else None
    low = f.battery_low_flag or (value is not None and value < LOW_BATTERY_PCT)
    if low:
        shown = f"{value:.0f}%" if value is not None else "低"
        shown_en = f"{value:.0f}%" if value is not None else "low"
        return Check(
            "battery",
            False,
            f"电池电量低（{shown}），请更换电池后再测试。",
            f"Battery is low ({shown_en}); replace it and test again.",
        )
    if value is None:
        return Check(
            "battery",
            None,
            "该设备未上报电量，无法判断。",
            "The device did not report its battery level; not checked.",
        )
    return Check(
        "battery", True, f"电池电量正常：{value:.0f}%。", f"Battery is fine: {value:.0f}%."
    )


def evaluate(f: Facts) -> tuple[str, list[Check]]:
    """(state, checks): waiting until the event or the deadline, then passed or failed."""
    received = event_received(f)
    checks = [received, device_known(f), bound_here(f)]
    if f.event is None:
        return ("failed" if f.expired else "waiting"), checks
    if f.readings_pending:
        return "waiting", checks
    checks += [signal(f), battery(f)]
    failed = any(c.ok is False for c in checks)
    return ("failed" if failed else "passed"), checks


def summary(state: str, checks: list[Check]) -> tuple[str, str]:
    """One sentence for the top of the installer's screen."""
    if state == "passed":
        return "调试通过，设备已投入使用。", "Commissioning passed; the device is in service."
    if state == "waiting" and any(c.name == "event_received" and c.ok for c in checks):
        return (
            "已收到测试信号，等待信号强度和电量……",
            "Test event received; waiting for signal and battery...",
        )
    if state == "waiting":
        return "等待测试信号……", "Waiting for the test event..."
    if state == "expired":
        return "本次调试已被新的调试取代。", "This test was replaced by a newer one."
    first = next((c for c in checks if c.ok is False), None)
    if first is None:
        return "调试未通过。", "Commissioning failed."
    return f"调试未通过：{first.message_zh}", f"Commissioning failed: {first.message_en}"
