// The incident drawer: facts, acknowledge / assign / resolve, timeline and notification attempts.

import { api } from "./api.js";
import { acknowledge, answeredLines, needsCentre, refreshIncident } from "./board.js";
import { showDrawer } from "./board-drawer.js";
import { openSiteFile } from "./board-file.js";
import { $, announce, h, when } from "./dom.js";
import { CAUSES, OUTCOMES, actorText, label, t } from "./i18n.js";

let shownId = null;

function fact(name, value) {
  return [h("dt", {}, t(name)), h("dd", {}, value ?? t("common.none"))];
}

function timeline(item) {
  const people = new Map((item.paged ?? []).map((p) => [p.contact_id, p]));
  const rows = (item.timeline ?? []).map((e) => {
    const person = people.get(e.contact_id);
    const detail = e.detail && typeof e.detail === "object" ? e.detail : {};
    const parts = [
      actorText(e.actor),
      person ? t("detail.person", { name: person.name, role: label("role", person.role) }) : null,
      detail.wave ? t("detail.wave", { n: detail.wave }) : null,
      detail.via ?? detail.channel ?? null,
      detail.outcome ? label("outcome", detail.outcome) : null,
      detail.note ?? null,
    ].filter(Boolean);
    return h("li", { class: `tl tl-${e.action}` },
      h("time", {}, when(e.at)), " ", h("strong", {}, label("action", e.action)),
      parts.length ? ` · ${parts.join(" · ")}` : "");
  });
  return h("ol", { class: "timeline", id: "timeline" }, rows);
}

// Apprise schemes (and our own plugins) by the kind of channel a person recognises.
const CHANNEL_CLASS = {
  aliyunsms: "sms", tencentsms: "sms", sms: "sms", alivoice: "voice", tencentvoice: "voice", voice: "voice",
  wecombot: "wechat", wechat: "wechat", wxpusher: "wechat", pushplus: "wechat", schan: "wechat",
  serverchan: "wechat", dingtalk: "dingtalk", feishu: "feishu", lark: "feishu",
  json: "webhook", jsons: "webhook", form: "webhook", forms: "webhook", xml: "webhook",
  mailto: "email", mailtos: "email",
};
export const channelClass = (scheme) => CHANNEL_CLASS[String(scheme ?? "").toLowerCase()] ?? "other";

// The API names the class (sms, voice, wechat, chat, webhook); "chat" is told apart by scheme.
const SERVER_CLASSES = new Set(["sms", "voice", "wechat", "webhook"]);
const attemptClass = (a) => (SERVER_CLASSES.has(a.channel) ? a.channel : channelClass(a.scheme ?? a.channel));

/** Reach by the provider's receipt, or "acknowledged" when the person pressed/replied 1. */
function attemptReach(a) {
  if (a.acknowledged) return "acknowledged";
  if (!a.reach) return "";
  return attemptClass(a) === "voice" ? `${a.reach}.voice` : a.reach;
}

function attemptResult(a) {
  return a.outcome ?? (a.ok ? "delivered" : "failed");
}

/** Attempts grouped by person, wave, round, channel class and result: a wave retried four
 * times on one channel is one row "×4"; the providers' own answers open on demand. */
function attempts(item) {
  const groups = new Map();
  for (const a of item.attempts ?? []) {
    const who = typeof a.contact === "object" ? a.contact?.name ?? "" : a.contact ?? "";
    const key = [who, a.wave, a.round, attemptClass(a), attemptResult(a), attemptReach(a)].join("|");
    const g = groups.get(key) ?? { first: a, who, items: [] };
    g.items.push(a);
    groups.set(key, g);
  }
  const head = ["detail.col.time", "detail.col.person", "detail.col.wave", "detail.col.channel",
    "detail.col.result", "detail.col.reach", "detail.col.details"];
  const rows = [...groups.values()].map(({ first, who, items }) => {
    const result = attemptResult(first);
    return h("tr", { class: first.ok ? "ok" : "failed", "data-result": result },
      h("td", { class: "nowrap" }, when(first.at)),
      h("td", { class: "person" }, who || t("common.none"),
        first.role ? h("small", { class: "muted" }, ` · ${label("role", first.role)}`) : null),
      h("td", { class: "nowrap" }, first.wave ? t("detail.wave", { n: first.wave }) : "–",
        first.round ? ` · ${t("detail.round", { n: first.round })}` : ""),
      h("td", { class: "nowrap", title: first.scheme ?? first.channel }, label("channelclass", attemptClass(first))),
      h("td", { class: "nowrap" }, h("span", { class: `result result-${result}` }, label("result", result)),
        items.length > 1 ? ` ×${items.length}` : ""),
      h("td", { class: "nowrap" }, attemptReach(first) ? label("reach", attemptReach(first)) : ""),
      h("td", {}, h("details", {}, h("summary", {}, t("detail.show")),
        h("ul", { class: "raw" }, items.map((a) => h("li", {}, when(a.at), " · ", a.scheme ?? a.channel,
          a.elapsed_ms !== null && a.elapsed_ms !== undefined ? ` · ${a.elapsed_ms} ms` : "",
          h("br"), h("code", {}, [a.answer, a.reach_detail].filter(Boolean).join(" | "))))))));
  });
  return h("table", { class: "attempts", id: "attempts" },
    h("thead", {}, h("tr", {}, head.map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", {}, rows));
}

function select(name, values, group, extra = {}) {
  // Nothing chosen at first: an outcome is the operator's decision, never a default.
  return h("select", { name, required: true, ...extra },
    h("option", { value: "", disabled: true, selected: true }, t("detail.choose")),
    values.map((v) => h("option", { value: v }, label(group, v))));
}

function resolveForm(item) {
  const cause = select("false_alarm_cause", CAUSES, "cause", { "aria-label": t("detail.cause") });
  const causeField = h("label", { class: "field" }, t("detail.cause"), cause);
  const outcome = select("outcome", OUTCOMES, "outcome", { "aria-label": t("detail.outcome") });
  const syncCause = () => {
    causeField.hidden = outcome.value !== "false_alarm";
    cause.required = outcome.value === "false_alarm";
  };
  outcome.addEventListener("change", syncCause);
  syncCause();
  // Reviewing a field report: one press copies what was reported; the operator's choice is final.
  const useReport = item.report
    ? h("button", { type: "button", "data-action": "use-report", onclick: () => {
        outcome.value = item.report.outcome;
        syncCause();
        if (item.report.false_alarm_cause) cause.value = item.report.false_alarm_cause;
      } }, t("detail.use_report", { outcome: label("outcome", item.report.outcome) }))
    : null;
  const note = h("textarea", { name: "note", rows: "2", "aria-label": t("common.note") });
  return h("form", {
    class: "resolve-form drawer-section", id: "resolve-form", "data-section": "resolve",
    onsubmit: async (e) => {
      e.preventDefault();
      const body = { outcome: outcome.value };
      if (outcome.value === "false_alarm") body.false_alarm_cause = cause.value;
      if (note.value.trim()) body.note = note.value.trim();
      await act(item.id, "resolve", body);
    },
  },
    useReport,
    h("label", { class: "field" }, t("detail.outcome"), outcome),
    causeField,
    h("label", { class: "field" }, t("common.note"), note),
    h("button", { type: "submit", class: "primary", "data-action": "resolve" }, t("detail.resolve")));
}

/** A phone number as a tel: link; a masked number (viewers) as plain text. */
function phoneLink(number, who) {
  if (!number) return h("span", { class: "muted" }, t("detail.no_phone"));
  if (number.includes("*")) return h("span", {}, number);
  return h("a", { class: "call", href: `tel:${number.replace(/[^\d+]/g, "")}`,
    "aria-label": t("detail.call", { who, number }) }, `☎ ${number}`);
}

/** Whom to call: the household's own phone, the key holder, every contact in order. */
function callSection(file) {
  if (!file) return null;
  const rows = [];
  const resident = file.resident_name ?? file.name;
  rows.push(h("li", { "data-call": "site" }, h("span", {}, resident, " · ", t("detail.site_phone")),
    phoneLink(file.phone, resident)));
  if (file.key_holder_name || file.key_holder_phone) {
    const who = file.key_holder_name ?? t("file.key_holder");
    rows.push(h("li", { "data-call": "key_holder" }, h("span", {}, who, " · ", t("file.key_holder")),
      phoneLink(file.key_holder_phone, who)));
  }
  for (const c of file.contacts ?? []) {
    rows.push(h("li", { "data-call": "contact", "data-contact-id": c.id },
      h("span", {}, c.name, " · ", label("role", c.role)), phoneLink(c.phone, c.name)));
  }
  return h("section", { class: "drawer-section", id: "call-list", "data-section": "call" },
    h("h3", {}, t("detail.calls")), h("ul", { class: "calls" }, rows));
}

function assignForm(item, contacts) {
  const choice = h("select", { name: "contact_id", "aria-label": t("detail.assign_to") },
    contacts.map((c) => h("option", { value: c.id }, `${c.name} · ${label("role", c.role)}`)));
  return h("form", {
    class: "assign-form drawer-section", "data-section": "assign",
    onsubmit: async (e) => {
      e.preventDefault();
      await act(item.id, "assign", { contact_id: Number(choice.value) });
    },
  },
    h("label", { class: "field" }, t("detail.assign_to"), choice),
    h("button", { type: "submit", disabled: contacts.length ? null : true, "data-action": "assign" },
      t("detail.assign")));
}

async function act(id, verb, body) {
  try {
    await api(`/incidents/${id}/${verb}`, { method: "POST", body });
  } catch (err) {
    announce(err.userText ?? String(err), "error");
  }
  await refreshIncident(id);
}

function facts(item) {
  const site = item.site ?? {};
  return h("dl", { class: "facts", id: "incident-facts" },
    fact("file.address", site.address),
    fact("file.room", item.device?.room),
    fact("file.resident", site.resident_name),
    fact("file.situation", (site.resident_situation ?? []).join("、")),
    fact("detail.opened_at", when(item.opened_at)),
    fact("detail.events", item.event_count),
    fact("detail.acknowledged_by", actorText(item.acknowledged_by)),
    fact("detail.centre_acknowledged_by", actorText(item.centre_acknowledged_by)),
    item.field_answer || item.report
      ? [h("dt", {}, t(item.report ? "detail.report" : "detail.field_answer")),
        h("dd", { id: "field-answer" }, ...answeredLines(item).slice(0, 1),
          item.report?.note ? h("div", { class: "report-note" }, item.report.note) : null)]
      : null,
    fact("detail.assigned_to", item.assigned_to?.name),
    item.outcome ? fact("detail.outcome", label("outcome", item.outcome)) : null);
}

async function draw(item) {
  const site = item.site ?? {};
  const open = item.status !== "resolved";
  $("#drawer-title").textContent =
    `${label("kind", item.kind)} · ${label("status", item.status)} · #${item.id}`;
  const body = $("#drawer-body");
  delete body.dataset.siteId;
  body.dataset.incidentId = String(item.id);
  body.dataset.status = item.status;
  body.dataset.centre = item.centre_acknowledged_at ? "acknowledged" : "waiting";
  const actions = h("div", { class: "actions" },
    needsCentre(item)
      ? h("button", { type: "button", class: "primary big", "data-action": "acknowledge",
          onclick: () => acknowledge(item.id) }, t("detail.acknowledge"))
      : null,
    site.id
      ? h("button", { type: "button", "data-action": "open-file", onclick: () => openSiteFile(site.id) },
        t("detail.open_file"))
      : null,
    h("button", { type: "button", "data-action": "print", onclick: () => window.print() }, t("detail.print")));
  const file = site.id ? await api(`/sites/${site.id}`).catch(() => null) : null;
  // Closing comes after the centre has the incident: no resolve form while it still rings.
  const resolvable = open && !needsCentre(item);
  // The printed incident report (处置单): a heading and signature lines only paper shows.
  const sheet = h("header", { class: "print-only report-head", "data-section": "print-head" },
    h("h1", {}, t("detail.report_title")),
    h("p", {}, `#${item.id} · ${label("kind", item.kind)} · ${label("status", item.status)} · `,
      t("detail.printed_at", { time: when(new Date().toISOString()) })));
  const signatures = h("footer", { class: "print-only report-sign" },
    h("p", {}, t("detail.sign_operator")), h("p", {}, t("detail.sign_supervisor")));
  body.replaceChildren(...[
    sheet,
    facts(item),
    actions,
    callSection(file),
    open ? assignForm(item, file?.contacts ?? []) : null,
    resolvable ? resolveForm(item) : null,
    open && !resolvable
      ? h("p", { class: "muted drawer-section", id: "resolve-later", "data-section": "resolve" },
        t("detail.resolve_after_ack"))
      : null,
    h("section", { class: "drawer-section", "data-section": "timeline" },
      h("h3", {}, t("detail.timeline")), timeline(item)),
    h("section", { class: "drawer-section", "data-section": "attempts" },
      h("h3", {}, t("detail.attempts")), attempts(item)),
    signatures].filter(Boolean));
  // The button that was pressed may be gone with the redraw: keep focus in the dialog.
  if (!$("#drawer").contains(document.activeElement)) $("#drawer-title").focus();
}

/** A live change of the shown incident: same status, so keep the forms (someone may be typing)
 * and renew the facts, timeline and attempts; another status redraws everything. */
function update(item) {
  const body = $("#drawer-body");
  const centre = item.centre_acknowledged_at ? "acknowledged" : "waiting";
  if (body.dataset.status !== item.status || body.dataset.incidentId !== String(item.id)
      || body.dataset.centre !== centre) {
    return draw(item);
  }
  $("#incident-facts")?.replaceWith(facts(item));
  $("#timeline")?.replaceWith(timeline(item));
  $("#attempts")?.replaceWith(attempts(item));
  return null;
}

/** Show incident `id` in the drawer. */
export async function openIncident(id) {
  shownId = id;
  showDrawer();
  try {
    await draw(await api(`/incidents/${id}`));
  } catch (err) {
    $("#drawer-body").replaceChildren(h("p", { class: "error" }, err.userText ?? String(err)));
  }
}

/** Redraw the drawer when it shows this incident (after a live change). */
export function refreshDrawer(item) {
  if (shownId === item.id && !$("#drawer").hidden && item.timeline) update(item);
}
