// The incident drawer: facts, acknowledge / assign / resolve, timeline and notification attempts.

import { api } from "./api.js";
import { acknowledge, answeredLines, needsCentre, refreshIncident } from "./board.js";
import { openSiteFile } from "./board-file.js";
import { $, announce, h, when } from "./dom.js";
import { CAUSES, OUTCOMES, label, t } from "./i18n.js";

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
      e.actor,
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

function attempts(item) {
  const rows = (item.attempts ?? []).map((a) =>
    h("tr", { class: a.ok ? "ok" : "failed" },
      h("td", {}, when(a.at)),
      h("td", {}, typeof a.contact === "object" ? a.contact?.name ?? "" : a.contact ?? ""),
      h("td", {}, label("channel", a.channel)),
      h("td", {}, a.ok ? t("detail.ok") : t("detail.failed")),
      h("td", {}, a.acknowledged ? label("reach", "acknowledged")
        : a.reach ? label("reach", a.channel === "voice" ? `${a.reach}.voice` : a.reach) : ""),
      h("td", {}, [a.answer, a.reach_detail].filter(Boolean).join(" | "))));
  return h("table", { class: "attempts", id: "attempts" }, h("tbody", {}, rows));
}

function select(name, values, group, extra = {}) {
  return h("select", { name, ...extra }, values.map((v) => h("option", { value: v }, label(group, v))));
}

function resolveForm(item) {
  const cause = select("false_alarm_cause", CAUSES, "cause", { "aria-label": t("detail.cause") });
  const causeField = h("label", { class: "field" }, t("detail.cause"), cause);
  const outcome = select("outcome", OUTCOMES, "outcome", { "aria-label": t("detail.outcome") });
  // Reviewing a field report: start from what was reported; the operator's choice is final.
  if (item.report) {
    outcome.value = item.report.outcome;
    if (item.report.false_alarm_cause) cause.value = item.report.false_alarm_cause;
  }
  const syncCause = () => { causeField.hidden = outcome.value !== "false_alarm"; };
  outcome.addEventListener("change", syncCause);
  syncCause();
  const note = h("textarea", { name: "note", rows: "2", "aria-label": t("common.note") });
  return h("form", {
    class: "resolve-form", id: "resolve-form",
    onsubmit: async (e) => {
      e.preventDefault();
      const body = { outcome: outcome.value };
      if (outcome.value === "false_alarm") body.false_alarm_cause = cause.value;
      if (note.value.trim()) body.note = note.value.trim();
      await act(item.id, "resolve", body);
    },
  },
    h("label", { class: "field" }, t("detail.outcome"), outcome),
    causeField,
    h("label", { class: "field" }, t("common.note"), note),
    h("button", { type: "submit", class: "primary", "data-action": "resolve" }, t("detail.resolve")));
}

async function assignForm(item) {
  const contacts = item.site?.id
    ? (await api(`/sites/${item.site.id}`).catch(() => null))?.contacts ?? []
    : [];
  const choice = h("select", { name: "contact_id", "aria-label": t("detail.assign_to") },
    contacts.map((c) => h("option", { value: c.id }, `${c.name} · ${label("role", c.role)}`)));
  return h("form", {
    class: "assign-form",
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
    fact("detail.acknowledged_by", item.acknowledged_by),
    fact("detail.centre_acknowledged_by", item.centre_acknowledged_by),
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
      : null);
  const assign = open ? await assignForm(item) : null;
  body.replaceChildren(...[
    facts(item),
    actions,
    assign,
    open ? resolveForm(item) : null,
    h("h3", {}, t("detail.timeline")), timeline(item),
    h("h3", {}, t("detail.attempts")), attempts(item)].filter(Boolean));
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
  const drawer = $("#drawer");
  drawer.hidden = false;
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
