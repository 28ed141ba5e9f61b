// Remote commands on the pages (issue 19): what the detector's model can take, a button per
// command it supports, a plain sentence for each it does not, and the command's state live
// (requested → sent → acknowledged / failed / expired). Own strings, so the shared dictionary
// stays untouched; Simplified Chinese first.

import { announce, h, when } from "./dom.js";
import { CAUSES, label, lang } from "./i18n.js";

const TEXT = {
  "zh-CN": {
    title: "远程操作",
    silence: "远程消音",
    self_test: "远程自检",
    set_heartbeat: "设置心跳间隔",
    reset: "远程重启",
    unsupported: "此型号不支持{what}",
    rearm: "报警器将在 {min} 分钟后自动恢复报警；消音不会结束警情。",
    rearm_unknown: "报警器会自动恢复报警；消音不会结束警情。",
    needs_ack: "请先确认警情，并判断为误报（如做饭油烟）后再消音。",
    cause: "疑似误报原因",
    confirm: "确认远程消音",
    confirm_hint: "确定要让报警器暂时静音吗？如有明火或浓烟，请立即拨打 119。",
    cancel: "取消",
    interval: "心跳间隔",
    minutes: "{n} 分钟",
    hours: "{n} 小时",
    "state.requested": "已提交，等待下发",
    "state.sent": "已下发，等待设备确认（第 {n} 次）",
    "state.acknowledged": "设备已确认",
    "state.failed": "失败：{result}",
    "state.expired": "已过期，设备未应答",
  },
  en: {
    title: "Remote commands",
    silence: "Remote silence",
    self_test: "Remote self-test",
    set_heartbeat: "Set heartbeat",
    reset: "Remote restart",
    unsupported: "This model cannot take: {what}",
    rearm: "The detector re-arms by itself after {min} min; silencing does not close the incident.",
    rearm_unknown: "The detector re-arms by itself; silencing does not close the incident.",
    needs_ack: "Acknowledge the incident and judge it a nuisance (cooking smoke) before silencing.",
    cause: "Suspected nuisance",
    confirm: "Confirm remote silence",
    confirm_hint: "Silence the detector for now? If there is fire or thick smoke, call 119 at once.",
    cancel: "Cancel",
    interval: "Heartbeat interval",
    minutes: "{n} min",
    hours: "{n} h",
    "state.requested": "Requested, waiting to be sent",
    "state.sent": "Sent, waiting for the detector (attempt {n})",
    "state.acknowledged": "Confirmed by the detector",
    "state.failed": "Failed: {result}",
    "state.expired": "Expired, the detector did not answer",
  },
};

export function ct(key, params = {}) {
  const dict = TEXT[lang()] ?? TEXT["zh-CN"];
  const text = dict[key] ?? TEXT["zh-CN"][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

const LIVE = new Set(["requested", "sent"]);
const HEARTBEATS = [1800, 3600, 6 * 3600, 24 * 3600];

function stateLine(command) {
  if (!command) return null;
  const text = ct(`state.${command.state}`, { n: command.attempts, result: command.result ?? "" });
  return h("p", { class: `command-state state-${command.state}`, dataset: { commandId: command.id,
    kind: command.kind, state: command.state } }, `${ct(command.kind)} · ${text} · ${when(command.requested_at)}`);
}

/**
 * A self-refreshing panel. `load()` answers GET …/commands (kinds, items); `send(kind, body)`
 * posts one command; `kinds` are the commands this page offers; `blocked(kind)` returns a hint
 * when a supported command cannot be asked for yet; `confirmSilence` adds the confirmation step.
 */
export function commandPanel({ load, send, kinds, blocked = () => null, confirmSilence = false,
  withCause = false }) {
  const root = h("section", { class: "card commands", id: "commands", "aria-live": "polite" });
  let timer = null;
  let confirming = false;
  let chosenCause = "cooking";
  let chosenInterval = HEARTBEATS[0];

  async function refresh() {
    clearTimeout(timer);
    let data;
    try {
      data = await load();
    } catch {
      root.hidden = true;
      return;
    }
    root.hidden = false;
    draw(data);
    if ((data.items ?? []).some((c) => LIVE.has(c.state))) timer = setTimeout(refresh, 2000);
  }

  async function ask(kind, body = {}) {
    try {
      await send(kind, body);
    } catch (err) {
      announce(err.userText && err.status !== 409 ? err.userText : err.message || String(err), "error");
    }
    confirming = false;
    await refresh();
  }

  function control(support) {
    const kind = support.kind;
    if (!support.supported) {
      return h("p", { class: "muted unsupported", dataset: { kind } },
        ct("unsupported", { what: ct(kind) }), support.why_not ? `（${support.why_not}）` : "");
    }
    const hint = blocked(kind);
    if (hint) return h("p", { class: "muted", dataset: { kind } }, ct(kind), "：", hint);
    if (kind === "set_heartbeat") {
      const choice = h("select", { name: "interval_s", "aria-label": ct("interval"),
        onchange: (e) => { chosenInterval = Number(e.target.value); } },
        HEARTBEATS.map((s) => h("option", { value: s, selected: s === chosenInterval },
          s < 3600 ? ct("minutes", { n: s / 60 }) : ct("hours", { n: s / 3600 }))));
      return h("div", { class: "command-row" }, h("label", { class: "field" }, ct("interval"), choice),
        h("button", { type: "button", "data-command": kind,
          onclick: () => ask(kind, { parameters: { interval_s: chosenInterval } }) }, ct(kind)));
    }
    if (kind !== "silence") {
      return h("button", { type: "button", "data-command": kind, onclick: () => ask(kind) }, ct(kind));
    }
    const rearm = support.rearm_s ? ct("rearm", { min: Math.round(support.rearm_s / 60) }) : ct("rearm_unknown");
    const cause = withCause || confirmSilence
      ? h("select", { name: "suspected_cause", "aria-label": ct("cause"),
        onchange: (e) => { chosenCause = e.target.value; } },
        CAUSES.map((c) => h("option", { value: c, selected: c === chosenCause }, label("cause", c))))
      : null;
    const body = () => ({ suspected_cause: chosenCause });
    if (confirmSilence && confirming) {
      return h("div", { class: "command-row confirm" }, h("p", { class: "notice warn" }, ct("confirm_hint")),
        h("p", {}, ct("cause"), "：", label("cause", chosenCause)),
        h("button", { type: "button", class: "big-button", "data-command": "confirm-silence",
          onclick: () => ask(kind, { ...body(), confirmed: true }) }, ct("confirm")),
        h("button", { type: "button", onclick: () => { confirming = false; refresh(); } }, ct("cancel")));
    }
    return h("div", { class: "command-row" }, h("p", { class: "muted" }, rearm),
      cause ? h("label", { class: "field" }, ct("cause"), cause) : null,
      h("button", { type: "button", class: confirmSilence ? "big-button" : "primary", "data-command": kind,
        onclick: () => {
          if (confirmSilence) { confirming = true; draw(last); } else ask(kind, body());
        } }, ct(kind)));
  }

  let last = null;
  function draw(data) {
    last = data;
    const offered = (data.kinds ?? []).filter((k) => kinds.includes(k.kind));
    const latest = new Map();
    for (const c of data.items ?? []) if (!latest.has(c.kind)) latest.set(c.kind, c);
    root.replaceChildren(h("h3", {}, ct("title")),
      ...offered.map((k) => h("div", { class: "command", dataset: { kind: k.kind } },
        control(k), stateLine(latest.get(k.kind)))));
  }

  root.refresh = refresh;
  refresh();
  return root;
}
