// Closed incidents: the last 24 hours under the open list (a red dot on the map has a row to
// match until its detector resets), and the searchable history with filters in the drawer.

import { api } from "./api.js";
import { openIncident } from "./board-detail.js";
import { showDrawer } from "./board-drawer.js";
import { $, announce, h, when } from "./dom.js";
import { KINDS, OUTCOMES, label, t } from "./i18n.js";

const DAY_MS = 86_400_000;

function closedRow(item) {
  const site = item.site ?? {};
  return h("li", { "data-incident-id": item.id },
    h("button", { type: "button", class: "link", onclick: () => openIncident(item.id) },
      h("span", { class: `badge kind-${item.kind}` }, label("kind", item.kind)), " ",
      site.address ?? site.name ?? "", " · ", site.resident_name ?? "", " · ",
      item.outcome ? label("outcome", item.outcome) : "",
      item.false_alarm_cause ? `/${label("cause", item.false_alarm_cause)}` : "",
      " · ", h("time", {}, when(item.resolved_at))));
}

/** The last 24 hours' closed incidents, newest closing first. */
export async function loadRecent() {
  const since = new Date(Date.now() - DAY_MS).toISOString();
  const page = await api(`/incidents?status=resolved&resolved_since=${encodeURIComponent(since)}&limit=50`);
  const items = [...page.items].sort((a, b) => Date.parse(b.resolved_at) - Date.parse(a.resolved_at));
  $("#recent-rows").replaceChildren(...items.map(closedRow));
  $("#recent-count").textContent = `(${page.total})`;
}

function options(values, group) {
  return [h("option", { value: "" }, t("history.any")), ...values.map((v) => h("option", { value: v }, label(group, v)))];
}

/** The history search in the drawer: words, kind, outcome, status and a date range. */
export function openHistory() {
  $("#drawer-title").textContent = t("board.history");
  const body = $("#drawer-body");
  for (const key of ["incidentId", "status", "siteId"]) delete body.dataset[key];
  body.dataset.view = "history";
  const field = (key, control) => h("label", { class: "field" }, t(key), control);
  const q = h("input", { type: "search", name: "q", maxlength: "64" });
  const kind = h("select", { name: "kind" }, options(KINDS, "kind"));
  const outcome = h("select", { name: "outcome" }, options(OUTCOMES, "outcome"));
  const status = h("select", { name: "status" },
    options(["open", "triggered", "acknowledged", "reported", "resolved"], "status"));
  const from = h("input", { type: "date", name: "since" });
  const to = h("input", { type: "date", name: "until" });
  const results = h("ul", { class: "history-results", id: "history-results", "aria-live": "polite" });
  const total = h("p", { class: "muted", id: "history-total" });
  const search = async (e) => {
    e?.preventDefault();
    const params = new URLSearchParams({ limit: "100", sort: "-opened_at" });
    if (q.value.trim()) params.set("q", q.value.trim());
    for (const [name, el] of [["kind", kind], ["outcome", outcome], ["status", status]]) {
      if (el.value) params.set(name, el.value);
    }
    if (from.value) params.set("since", new Date(`${from.value}T00:00:00`).toISOString());
    if (to.value) params.set("until", new Date(new Date(`${to.value}T00:00:00`).getTime() + DAY_MS).toISOString());
    try {
      const page = await api(`/incidents?${params}`);
      total.textContent = t("history.total", { n: page.total });
      results.replaceChildren(...page.items.map((i) => closedRow({ ...i, resolved_at: i.resolved_at ?? i.opened_at })));
    } catch (err) {
      announce(err.userText ?? String(err), "error");
    }
  };
  body.replaceChildren(
    h("form", { class: "history-form drawer-section", id: "history-form", "data-section": "filters", onsubmit: search },
      field("history.q", q), h("div", { class: "row" }, field("history.kind", kind), field("history.outcome", outcome),
        field("history.status", status)),
      h("div", { class: "row" }, field("history.since", from), field("history.until", to)),
      h("button", { type: "submit", class: "primary" }, t("common.search"))),
    total, results);
  showDrawer();
  search();
}
