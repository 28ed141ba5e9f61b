"""HTML of the demo inbox and of the acknowledge page; Simplified Chinese first, English switch."""

from __future__ import annotations

from collections import defaultdict
from html import escape
from typing import Any, Final

from smokewatch.demo.inbox.store import InboxMessage

TEXT: Final = {
    "zh-CN": {
        "title": "演示收件箱", "intro": "演示中发出的短信、语音电话和微信消息都送到这里，"
        "按收件人的手机显示。点击确认链接即可完成处置闭环。",
        "empty": "还没有消息。火警剧情开始后，第一轮通知会出现在这里。",
        "sms": "短信", "voice": "语音电话", "wechat": "微信", "ack": "确认处置",
        "switch": "English", "incident": "事件", "status": "状态", "address": "地址",
        "room": "位置", "resident": "住户", "told": "已通知", "acknowledge": "我已知晓，马上处理",
        "resolve": "结案", "outcome": "结果", "cause": "误报原因", "note": "备注",
        "done": "已完成", "invalid": "链接无效或已过期", "back": "返回收件箱",
        "wave": "第{n}轮", "call": "来电（文字转语音）",
        "press": "按 1 确认（我马上去）", "reply": "回复短信",
        "reply_hint": "回复1确认，或写一句话", "simple": "简易页",
    },
    "en": {
        "title": "Demo inbox", "intro": "SMS, voice calls and WeChat messages sent during the "
        "demo arrive here, shown per recipient's phone. Open an acknowledge link to close "
        "the loop.",
        "empty": "No messages yet. When the fire storyline starts, wave 1 appears here.",
        "sms": "SMS", "voice": "Voice call", "wechat": "WeChat", "ack": "Acknowledge",
        "switch": "中文", "incident": "Incident", "status": "Status", "address": "Address",
        "room": "Room", "resident": "Resident", "told": "Told", "acknowledge": "I am on it",
        "resolve": "Resolve", "outcome": "Outcome", "cause": "False-alarm cause", "note": "Note",
        "done": "Done", "invalid": "This link is invalid or has expired", "back": "Back to inbox",
        "wave": "wave {n}", "call": "Call (text to speech)",
        "press": "Press 1 (on my way)", "reply": "Reply",
        "reply_hint": "1 to acknowledge, or a note", "simple": "simple page",
    },
}  # fmt: skip
OUTCOMES: Final = {
    "real_fire": ("真实火情（及早发现）", "Real fire (caught early)"),
    "false_alarm": ("误报", "False alarm"),
    "test": ("测试", "Test"),
    "device_fault": ("设备故障", "Device fault"),
}
# Incident kinds, incident states and notification states as people read them.
LABELS: Final = {
    "fire": ("火警", "fire"), "heat": ("高温", "heat"), "tamper": ("烟感被拆", "tamper"),
    "triggered": ("未响应", "unanswered"), "acknowledged": ("已确认", "acknowledged"),
    "in_progress": ("处理中", "in progress"), "resolved": ("已结案", "resolved"),
    "reported": ("已报告，待中心复核", "reported, awaiting centre review"),
    "pending": ("待发送", "pending"), "sending": ("发送中", "sending"),
    "delivered": ("已送达", "delivered"), "failed": ("发送失败", "failed"),
    "cancelled": ("已取消（有人确认）", "cancelled (answered)"),
}  # fmt: skip
CAUSES: Final = {
    "cooking": ("做饭油烟", "Cooking"), "smoking": ("吸烟", "Smoking"), "steam": ("水汽", "Steam"),
    "dust": ("灰尘", "Dust"), "insects": ("虫子", "Insects"), "other": ("其他", "Other"),
}  # fmt: skip

_STYLE = """
body{font-family:system-ui,"PingFang SC","Noto Sans CJK SC",sans-serif;background:#eef1f5;margin:0}
header{background:#b71c1c;color:#fff;padding:12px 20px}header a{color:#fff;float:right}
.phones{display:flex;flex-wrap:wrap;gap:16px;padding:16px}
.phone{width:300px;background:#fff;border:8px solid #222;border-radius:28px;padding:10px;
 max-height:560px;overflow:auto}
.who{font-weight:bold;border-bottom:1px solid #ddd;padding-bottom:6px;margin-bottom:6px}
.msg{border-radius:12px;padding:8px 10px;margin:8px 0;white-space:pre-wrap;font-size:14px}
.sms{background:#e9e9eb}.wechat{background:#95ec69}.voice{background:#1e3a5f;color:#fff}
.meta{font-size:11px;color:#666}.voice .meta{color:#cfd8e3}
.msg a.ack{display:inline-block;margin-top:6px;background:#b71c1c;color:#fff;padding:4px 10px;
 border-radius:8px;text-decoration:none}
main.card{max-width:480px;margin:16px auto;background:#fff;padding:16px;border-radius:12px}
button{font-size:18px;padding:10px;width:100%;margin:6px 0}
"""


def _t(lang: str) -> dict[str, str]:
    return TEXT.get(lang, TEXT["zh-CN"])


def _page(lang: str, title: str, body: str, *, refresh: bool = False) -> str:
    meta = '<meta http-equiv="refresh" content="3">' if refresh else ""
    html_lang = "zh-CN" if lang != "en" else "en"
    return (
        f'<!doctype html><html lang="{html_lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">{meta}'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def inbox_page(
    messages: list[InboxMessage],
    people: dict[str, dict[str, Any]],
    lang: str,
    *,
    product: str = "",
) -> str:
    """One phone per recipient, newest message first."""
    t = _t(lang)
    other = "en" if lang != "en" else "zh-CN"
    by_phone: dict[str, list[InboxMessage]] = defaultdict(list)
    for message in messages:
        by_phone[message.phone].append(message)
    phones = []
    for phone, items in sorted(by_phone.items(), key=lambda kv: -kv[1][-1].id):
        person = people.get(phone, {})
        who = " · ".join(
            escape(str(x)) for x in (person.get("name"), person.get("role_label"), phone) if x
        )
        place = escape(str(person.get("site_name") or person.get("org_name") or ""))
        bubbles = "".join(_bubble(m, t, lang, product) for m in reversed(items))
        phones.append(f'<div class="phone"><div class="who">{who}<br><small>{place}</small>'
                      f"</div>{bubbles}</div>")  # fmt: skip
    content = "".join(phones) or f"<p style='padding:16px'>{escape(t['empty'])}</p>"
    body = (
        f'<header><a href="?lang={other}">{t["switch"]}</a><b>{escape(t["title"])}</b>'
        f"<br><small>{escape(t['intro'])}</small></header><div class='phones'>{content}</div>"
    )
    return _page(lang, t["title"], body, refresh=True)


def _bubble(m: InboxMessage, t: dict[str, str], lang: str, product: str = "") -> str:
    label = t["call"] if m.channel == "voice" else t.get(m.channel, m.channel)
    title = f"<b>{escape(m.title)}</b>\n" if m.title else ""
    link = ""
    if m.ack_url and product:
        # The link opens the product's own page for relatives (the API's /a/<token>), as a
        # relative's phone would; the inbox's own simple page stays as a second link.
        token = m.ack_url.rstrip("/").rsplit("/", 1)[-1]
        sep = "&" if "?" in m.ack_url else "?"
        simple = f'<a href="{escape(m.ack_url)}{sep}lang={lang}">{t["simple"]}</a>'
        link = (f'<br><a class="ack" href="{escape(product)}/a/{escape(token)}">{t["ack"]}</a>'
                f" <small>{simple}</small>")  # fmt: skip
    elif m.ack_url:
        sep = "&" if "?" in m.ack_url else "?"
        link = f'<br><a class="ack" href="{escape(m.ack_url)}{sep}lang={lang}">{t["ack"]}</a>'
    if m.ref and m.channel == "voice":
        link += (f'<form method="post" action="/press/{escape(m.ref)}?lang={lang}">'
                 f'<button>{escape(t["press"])}</button></form>')  # fmt: skip
    elif m.ref and m.channel == "sms":
        link += (f'<form method="post" action="/reply/{escape(m.ref)}?lang={lang}">'
                 f'<input name="text" placeholder="{escape(t["reply_hint"])}">'
                 f'<button>{escape(t["reply"])}</button></form>')  # fmt: skip
    return (
        f'<div class="msg {escape(m.channel)}"><div class="meta">{escape(label)} · '
        f"{escape(m.at[11:19])} UTC</div>{title}{escape(m.body)}{link}</div>"
    )


def _label(value: str, zh: bool) -> str:
    pair = LABELS.get(value)
    return (pair[0] if zh else pair[1]) if pair else value


def ack_page(incident: dict[str, Any], lang: str, *, message: str = "") -> str:
    """The incident as its link shows it, with acknowledge and resolve buttons."""
    t = _t(lang)
    zh = lang != "en"
    told: dict[tuple[str, int], str] = {}
    for person in incident.get("told", []):  # one entry per person and wave, latest state
        told[(person["name"], person["wave"])] = person["status"]
    rows = [
        (t["incident"], f"#{incident['id']} {_label(incident['kind'], zh)}"),
        (t["status"], _label(incident["status"], zh)),
        (t["address"], incident.get("address") or ""),
        (t["room"], incident.get("room") or ""),
        (t["resident"], "、".join(
            [incident.get("resident_name") or "", *(incident.get("resident_situation") or [])])),
        (t["told"], "，".join(
            f"{name}（{t['wave'].format(n=wave)}，{_label(status, zh)}）"
            for (name, wave), status in told.items())),
    ]  # fmt: skip
    if incident.get("outcome"):
        outcome = OUTCOMES.get(incident["outcome"], (incident["outcome"],) * 2)
        cause = CAUSES.get(incident.get("false_alarm_cause") or "", ("", ""))
        rows.append(
            (
                t["outcome"],
                " ".join(x for x in (outcome[0 if zh else 1], cause[0 if zh else 1]) if x),
            )
        )
    table = "".join(f"<p><b>{escape(k)}</b>：{escape(str(v))}</p>" for k, v in rows)
    outcomes = "".join(
        f'<option value="{k}">{escape(v[0] if zh else v[1])}</option>' for k, v in OUTCOMES.items()
    )
    causes = '<option value=""></option>' + "".join(
        f'<option value="{k}">{escape(v[0] if zh else v[1])}</option>' for k, v in CAUSES.items()
    )
    closed = incident["status"] == "resolved"
    ack = "" if incident["status"] != "triggered" else (
        f'<form method="post"><input type="hidden" name="action" value="ack">'
        f'<button>{escape(t["acknowledge"])}</button></form>'
    )  # fmt: skip
    forms = "" if closed else ack + (
        f'<form method="post"><input type="hidden" name="action" value="resolve">'
        f'<p>{escape(t["outcome"])} <select name="outcome">{outcomes}</select></p>'
        f'<p>{escape(t["cause"])} <select name="cause">{causes}</select></p>'
        f'<p>{escape(t["note"])} <input name="note"></p>'
        f'<button>{escape(t["resolve"])}</button></form>'
    )  # fmt: skip
    note = f"<p><b>{escape(message)}</b></p>" if message else ""
    body = (
        f'<header><b>{escape(t["ack"])}</b></header><main class="card">{note}{table}{forms}'
        f'<p><a href="/?lang={lang}">{escape(t["back"])}</a></p></main>'
    )
    return _page(lang, t["ack"], body)


def error_page(lang: str, text: str) -> str:
    """A short page for a refused link."""
    t = _t(lang)
    body = f'<main class="card"><p>{escape(text)}</p><a href="/?lang={lang}">{t["back"]}</a></main>'
    return _page(lang, text, body)
