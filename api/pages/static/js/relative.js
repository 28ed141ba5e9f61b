// A relative's page, reached through the signed link of the alert: this household's incident with
// one big "on my way" button, then a report of what was found (confirmed before it is sent; the
// monitoring centre reviews and closes a fire); the household's detectors. Nothing else.

import { api } from "./api.js";
import { deviceState } from "./board-file.js";
import { $, announce, clock, h, secondsSince, when } from "./dom.js";
import { CAUSES, OUTCOMES, applyI18n, bindLangSwitch, label, t } from "./i18n.js";

const token = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() ?? "");
const base = `/relative/${encodeURIComponent(token)}`;
let data = null;
// The outcome form: pick an outcome (a false alarm then its cause), then confirm with an
// optional note. Nothing is sent before the confirmation: two stray taps change nothing.
let choice = null; // { outcome, cause? } once picked
let pickingCause = false;

async function post(verb, body) {
  try {
    await api(`${base}/${verb}`, { method: "POST", body });
  } catch (err) {
    announce(err.userText ?? String(err), "error");
  }
  await load();
}

function outcomeText(outcome, cause) {
  return cause ? `${label("outcome", outcome)} · ${label("cause", cause)}` : label("outcome", outcome);
}

function confirmStep(inc) {
  const note = h("textarea", { name: "note", rows: "2", maxlength: "2000", "aria-label": t("common.note"),
    placeholder: t("relative.note_hint") });
  // Fire and heat: a report the monitoring centre reviews and closes. Tamper: the visit closes it.
  const verb = inc.centre_closes ? "report" : "resolve";
  return h("div", { class: "confirm", id: "confirm" },
    h("p", {}, t(inc.centre_closes ? "relative.confirm_report" : "relative.confirm_resolve"),
      " ", h("strong", {}, outcomeText(choice.outcome, choice.cause))),
    note,
    h("div", { class: "choices" },
      h("button", { type: "button", class: "primary", "data-action": "confirm", onclick: () => {
        const body = { outcome: choice.outcome };
        if (choice.cause) body.false_alarm_cause = choice.cause;
        if (note.value.trim()) body.note = note.value.trim();
        choice = null;
        post(verb, body);
      } }, t(inc.centre_closes ? "relative.send_report" : "relative.send_resolve")),
      h("button", { type: "button", "data-action": "back", onclick: () => { choice = null; draw(); } },
        t("common.back"))));
}

function reportChoices(inc) {
  if (choice) return confirmStep(inc);
  if (pickingCause) {
    return h("div", { class: "choices", id: "causes" }, CAUSES.map((c) =>
      h("button", { type: "button", "data-cause": c,
        onclick: () => { pickingCause = false; choice = { outcome: "false_alarm", cause: c }; draw(); } },
      label("cause", c))));
  }
  return h("div", { class: "choices", id: "outcomes" }, OUTCOMES.map((o) =>
    h("button", { type: "button", "data-outcome": o, onclick: () => {
      if (o === "false_alarm") pickingCause = true; else choice = { outcome: o };
      draw();
    } }, label("outcome", o))));
}

function step(inc) {
  const status = inc.status;
  if (status === "triggered") {
    return h("button", { type: "button", class: "big-button", id: "acknowledge", onclick: () => post("acknowledge", {}) },
      t("relative.acknowledge"));
  }
  if (status === "resolved") {
    return h("p", { class: "notice", id: "resolved" }, t("relative.resolved"), " ", label("outcome", inc.outcome));
  }
  if (status === "reported") {
    const r = inc.report ?? {};
    return h("p", { class: "notice", id: "reported" },
      t("relative.reported", { outcome: outcomeText(r.outcome, r.false_alarm_cause) }));
  }
  return h("div", {}, h("p", { class: "notice", id: "acknowledged" }, t("relative.acknowledged")),
    h("h2", {}, t(inc.centre_closes ? "relative.report_title" : "relative.resolve_title")),
    reportChoices(inc));
}

function telLink(number, who) {
  if (!number) return null;
  return h("a", { class: "call", href: `tel:${number.replace(/[^\d+]/g, "")}`,
    "aria-label": t("relative.call", { who, number }) }, `☎ ${number}`);
}

function callCard(site) {
  const rows = [];
  if (data.centre_phone) {
    rows.push(h("li", { "data-call": "centre" }, h("strong", {}, t("relative.centre")),
      telLink(data.centre_phone, t("relative.centre"))));
  }
  if (site?.phone) {
    const who = site.resident_name ?? site.name;
    rows.push(h("li", { "data-call": "site" }, h("span", {}, who, " · ", t("relative.home_phone")),
      telLink(site.phone, who)));
  }
  if (site?.key_holder_phone) {
    const who = site.key_holder_name ?? t("relative.key_holder");
    rows.push(h("li", { "data-call": "key_holder" }, h("span", {}, who, " · ", t("relative.key_holder")),
      telLink(site.key_holder_phone, who)));
  }
  if (!rows.length) return null;
  return h("section", { class: "card", id: "calls" }, h("h2", {}, t("relative.calls")),
    h("ul", { class: "list calls" }, rows));
}

function toldCard(inc) {
  if (!inc) return null;
  const told = data.told ?? [];
  const state = (p) => (p.answered ? "answered" : p.delivered ? "delivered" : "pending");
  return h("section", { class: "card", id: "told" }, h("h2", {}, t("relative.told")),
    told.length
      ? h("ul", { class: "list" }, told.map((p) => h("li", { "data-told": state(p) },
        h("span", {}, h("strong", {}, p.name), " · ", label("role", p.role), h("br"),
          h("small", { class: `told-${state(p)}` }, t(`relative.told.${state(p)}`))),
        telLink(p.phone, p.name))))
      : h("p", { class: "muted" }, t("relative.told_none")));
}

function elapsedText(inc) {
  // A closed incident stops the clock: how long it lasted, not a timer still running.
  if (inc.status === "resolved" && inc.resolved_at) {
    const lasted = Math.max(0, Math.floor((Date.parse(inc.resolved_at) - Date.parse(inc.opened_at)) / 1000));
    return h("span", { id: "elapsed" }, t("relative.duration", { time: clock(lasted) }));
  }
  return h("span", { id: "elapsed", "data-since": inc.opened_at }, clock(secondsSince(inc.opened_at)));
}

function draw() {
  const { incident, site, devices } = data;
  const inc = incident ?? {};
  const status = inc.status;
  $("#relative").dataset.status = status ?? "";
  $("#content").replaceChildren(...[
    h("section", { class: "card", "aria-live": "polite" },
      h("p", { class: `alert-head kind-${inc.kind}` }, label("kind", inc.kind), " · ", label("status", status)),
      h("dl", { class: "facts" },
        h("dt", {}, t("relative.where")), h("dd", {}, [site?.name, site?.address].filter(Boolean).join(" · ")),
        h("dt", {}, t("relative.room")), h("dd", {}, inc.device?.room ?? t("common.unknown")),
        h("dt", {}, t("relative.since")),
        h("dd", {}, when(inc.opened_at), " (", elapsedText(inc), ")")),
      incident && status !== "resolved" ? h("p", { class: "notice warn" }, t("relative.call119")) : null,
      incident ? step(inc) : null),
    incident ? h("section", { class: "card", id: "next" }, h("h2", {}, t("relative.next")),
      h("p", {}, t(`relative.next.${status === "in_progress" ? "acknowledged" : status}`))) : null,
    callCard(site),
    toldCard(incident),
    h("section", { class: "card" }, h("h2", {}, t("relative.devices")),
      h("ul", { class: "list", id: "devices" }, (devices ?? []).map((d) => {
        const state = deviceState(d);
        return h("li", { dataset: { deviceId: d.id } }, h("span", {}, d.room ?? d.id),
          h("span", { class: `badge state-${state}` }, label("state", state)));
      }))),
  ].filter(Boolean));
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
  const el = $("#elapsed[data-since]");
  if (el) el.textContent = clock(secondsSince(el.dataset.since));
}, 1000);
setInterval(() => { if (!choice && !pickingCause) load(); }, 10_000);
document.body.dataset.ready = "1";
