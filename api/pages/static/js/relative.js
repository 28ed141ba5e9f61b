// A relative's page, reached through the signed link of the alert: this household's incident with
// one big acknowledge button, then the outcome; the household's detectors. Nothing else.

import { api } from "./api.js";
import { deviceState } from "./board-file.js";
import { $, announce, clock, h, secondsSince, when } from "./dom.js";
import { CAUSES, OUTCOMES, applyI18n, bindLangSwitch, label, t } from "./i18n.js";

const token = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() ?? "");
const base = `/relative/${encodeURIComponent(token)}`;
let data = null;
let pickingCause = false;

async function post(verb, body) {
  try {
    await api(`${base}/${verb}`, { method: "POST", body });
  } catch (err) {
    announce(err.userText ?? String(err), "error");
  }
  await load();
}

function resolveChoices() {
  if (pickingCause) {
    return h("div", { class: "choices", id: "causes" }, CAUSES.map((c) =>
      h("button", { type: "button", "data-cause": c,
        onclick: () => { pickingCause = false; post("resolve", { outcome: "false_alarm", false_alarm_cause: c }); } },
      label("cause", c))));
  }
  return h("div", { class: "choices", id: "outcomes" }, OUTCOMES.map((o) =>
    h("button", { type: "button", "data-outcome": o, onclick: () => {
      if (o === "false_alarm") { pickingCause = true; draw(); } else post("resolve", { outcome: o });
    } }, label("outcome", o))));
}

function draw() {
  const { incident, site, devices } = data;
  const inc = incident ?? {};
  const status = inc.status;
  const step = status === "triggered"
    ? h("button", { type: "button", class: "big-button", id: "acknowledge", onclick: () => post("acknowledge", {}) },
      t("relative.acknowledge"))
    : status === "resolved"
      ? h("p", { class: "notice", id: "resolved" }, t("relative.resolved"), " ", label("outcome", inc.outcome))
      : h("div", {}, h("p", { class: "notice", id: "acknowledged" }, t("relative.acknowledged")),
        h("h2", {}, t("relative.resolve_title")), resolveChoices());
  $("#relative").dataset.status = status ?? "";
  $("#content").replaceChildren(
    h("section", { class: "card", "aria-live": "polite" },
      h("p", { class: `alert-head kind-${inc.kind}` }, label("kind", inc.kind), " · ", label("status", status)),
      h("dl", { class: "facts" },
        h("dt", {}, t("relative.where")), h("dd", {}, [site?.name, site?.address].filter(Boolean).join(" · ")),
        h("dt", {}, t("relative.room")), h("dd", {}, inc.device?.room ?? t("common.unknown")),
        h("dt", {}, t("relative.since")),
        h("dd", {}, when(inc.opened_at), " (", h("span", { id: "elapsed", "data-since": inc.opened_at },
          clock(secondsSince(inc.opened_at))), ")")),
      status !== "resolved" ? h("p", { class: "notice warn" }, t("relative.call119")) : null,
      step),
    h("section", { class: "card" }, h("h2", {}, t("relative.devices")),
      h("ul", { class: "list", id: "devices" }, (devices ?? []).map((d) => {
        const state = deviceState(d);
        return h("li", { dataset: { deviceId: d.id } }, h("span", {}, d.room ?? d.id),
          h("span", { class: `badge state-${state}` }, label("state", state)));
      }))),
  );
}

async function load() {
  try {
    data = await api(base);
    $("#loading").hidden = true;
    draw();
  } catch (err) {
    $("#loading").hidden = true;
    $("#content").replaceChildren(h("p", { class: "notice fail", id: "invalid" },
      err.status === 404 || err.status === 401 || err.status === 403 ? t("relative.invalid") : err.userText));
  }
}

applyI18n();
bindLangSwitch($("#lang"), () => data && draw());
await load();
setInterval(() => {
  const el = $("#elapsed");
  if (el) el.textContent = clock(secondsSince(el.dataset.since));
}, 1000);
setInterval(load, 10_000);
document.body.dataset.ready = "1";
