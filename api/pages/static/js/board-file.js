// Household file ("one file per household"): resident, contacts, devices and rooms,
// commissioning record and incident history; found through the board's site search.

import { api } from "./api.js";
import { showDrawer } from "./board-drawer.js";
import { $, announce, ago, h, when } from "./dom.js";
import { actorText, label, t } from "./i18n.js";

/** The state word of a device from whatever the API gives (a word or a state object). */
export function deviceState(device) {
  if (typeof device.health === "string") return device.health;
  const s = device.state;
  if (typeof s === "string") return s;
  if (s && typeof s === "object") {
    if (s.alarm_active) return "alarm";
    if (s.tamper_active) return "tamper";
    if (s.fault_active) return "fault";
    if (s.online === false || s.connection === "offline") return "offline";
    if (s.battery_low) return "low_battery";
    return "ok";
  }
  return device.status ?? "unknown";
}

function stateBadge(state) {
  return h("span", { class: `badge state-${state}` }, label("state", state));
}

function commissioningText(device) {
  const c = device.commissioning;
  if (!c) return t("common.none");
  if (typeof c !== "object") return String(c);
  const parts = [label("commission", c.state ?? c.result ?? ""), when(c.finished_at ?? c.at ?? c.started_at), c.by];
  if (c.event?.signal_dbm !== undefined) parts.push(t("install.signal", { n: c.event.signal_dbm }));
  if (c.event?.battery_pct !== undefined) parts.push(t("install.battery", { n: c.event.battery_pct }));
  return parts.filter(Boolean).join(" · ");
}

function battery(pct) {
  return pct === null || pct === undefined ? "–" : `${Math.round(pct)}%`;
}

function section(title, list) {
  const empty = list.tagName !== "TABLE" && !list.children.length;
  return h("section", { class: "file-section" }, h("h3", {}, t(title)),
    empty ? h("p", { class: "muted" }, t("common.none")) : list);
}

function movedTo(record) {
  const d = record.detail;
  if (record.action !== "device_unbound" || !d?.moved_to_name) return "";
  return ` · ${t("file.moved_to", { name: d.moved_to_name, address: d.moved_to_address ?? "" })}`;
}

export async function openSiteFile(siteId) {
  $("#drawer-title").textContent = t("file.title");
  showDrawer();
  const body = $("#drawer-body");
  delete body.dataset.incidentId;
  delete body.dataset.status;
  body.dataset.siteId = String(siteId);
  let file;
  try {
    file = await api(`/sites/${siteId}`);
  } catch (err) {
    body.replaceChildren(h("p", { class: "error" }, err.userText ?? String(err)));
    return;
  }
  const site = file.site ?? file;
  const contacts = file.contacts ?? [];
  const devices = file.devices ?? [];
  const history = file.incidents ?? file.recent_incidents ?? [];
  const inService = devices.filter((d) => d.status !== "removed");
  body.replaceChildren(
    inService.length ? null : h("p", { class: "notice warn", id: "file-no-detector", role: "status" }, t("file.no_detector")),
    h("dl", { class: "facts household-file" },
      h("dt", {}, t("file.resident")), h("dd", {}, site.resident_name ?? site.name),
      h("dt", {}, t("install.site.category")), h("dd", {}, label("category", site.category)),
      h("dt", {}, t("file.situation")), h("dd", {}, (site.resident_situation ?? []).join("、") || t("common.none")),
      h("dt", {}, t("file.address")), h("dd", {}, site.address),
      h("dt", {}, t("file.phone")), h("dd", {}, site.phone ?? t("common.none")),
      h("dt", {}, t("file.key_holder")),
      h("dd", {}, [site.key_holder_name, site.key_holder_phone].filter(Boolean).join(" ") || t("common.none"))),
    section("file.contacts", h("ol", { class: "contacts" }, contacts.map((c) =>
      h("li", {}, h("strong", {}, c.name), ` · ${label("role", c.role)}`, c.phone ? ` · ${c.phone}` : "")))),
    section("file.devices", h("table", { class: "devices" },
      h("thead", {}, h("tr", {}, ["install.device_id", "file.room", "file.state", "file.battery",
        "file.last_seen", "file.commissioning"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, devices.map((d) => h("tr", {},
        h("td", { class: "nowrap" }, d.id), h("td", {}, [d.room, d.position].filter(Boolean).join(" · ")),
        h("td", { class: "nowrap" }, stateBadge(deviceState(d))),
        h("td", { class: "nowrap" }, battery(d.state?.battery_pct ?? d.battery_pct)),
        h("td", {}, ago(d.state?.last_seen ?? d.last_seen)),
        h("td", {}, commissioningText(d))))))),
    section("file.history", h("ul", { class: "history" }, history.map((i) =>
      h("li", {}, when(i.opened_at), " · ", label("kind", i.kind), " · ", label("status", i.status),
        i.outcome ? ` · ${label("outcome", i.outcome)}` : "")))),
    section("file.records", h("ul", { class: "history", id: "file-records" }, (file.history ?? []).map((r) =>
      h("li", { "data-action": r.action }, when(r.at), " · ", label("registry", r.action),
        r.device_id ? ` · ${r.device_id}` : "", movedTo(r), r.actor ? ` · ${actorText(r.actor)}` : "")))),
  );
}

export function bindSiteSearch() {
  $("#site-search").addEventListener("submit", async (e) => {
    e.preventDefault();
    const q = $("#site-q").value.trim();
    try {
      const page = await api(`/sites?q=${encodeURIComponent(q)}&limit=20`);
      $("#site-results").replaceChildren(...page.items.map((s) =>
        h("li", {}, h("button", { type: "button", class: "link", onclick: () => openSiteFile(s.id) },
          `${s.resident_name ?? s.name} · ${s.address}`))));
    } catch (err) {
      announce(err.userText ?? String(err), "error");
    }
  });
}
