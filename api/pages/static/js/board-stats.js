// Key figures, device health and installation progress per village, alarms by day and village.
// Every device count comes from one board answer (GET /summary/board), read live.

import { openDeviceList } from "./board-lists.js";
import { $, h, percent } from "./dom.js";
import { t } from "./i18n.js";

function kpi(key, value, tone = "") {
  return h("div", { class: `kpi ${tone}`, dataset: { kpi: key } },
    h("dt", {}, t(`board.kpi.${key}`)), h("dd", {}, value ?? "–"));
}

function bars(container, rows, { vertical }) {
  const max = Math.max(1, ...rows.map((r) => r.count));
  container.replaceChildren(...rows.map((r) => h("div", { class: "bar-row", title: `${r.label}: ${r.count}` },
    h("span", { class: "bar-label" }, r.label),
    h("span", { class: "bar", style: vertical
      ? `height:${(100 * r.count) / max}%` : `width:${(100 * r.count) / max}%` }),
    h("span", { class: "bar-value" }, String(r.count)))));
}

/** The last `n` days ending today, zero where the API has no row (it lists days with alarms). */
function lastDays(rows, n) {
  const counts = new Map(rows.map((r) => [String(r.day).slice(0, 10), r.count]));
  const out = [];
  for (let i = n - 1; i >= 0; i -= 1) {
    const day = new Date(Date.now() - i * 86_400_000);
    const key = `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, "0")}-${String(day.getDate()).padStart(2, "0")}`;
    out.push({ label: String(day.getDate()), count: counts.get(key) ?? 0 });
  }
  return out;
}

/** A village's count; when not zero, a button opening the list of those devices. */
function countCell(village, state, tone) {
  const n = village[state];
  if (!n) return h("td", { dataset: { count: state } }, n ?? "–");
  return h("td", { class: tone, dataset: { count: state } }, h("button", {
    type: "button", class: "link count-link", "data-list": state,
    "aria-label": `${village.name} ${t(`board.kpi.${state}`)} ${n}`,
    onclick: () => openDeviceList(village, state),
  }, String(n)));
}

function progress(value, name) {
  const pct = value === null || value === undefined ? 0 : value <= 1 ? value * 100 : value;
  return h("div", { class: "progress", role: "progressbar", "aria-label": name,
    "aria-valuemin": "0", "aria-valuemax": "100",
    "aria-valuenow": pct.toFixed(0) },
  h("span", { style: `width:${Math.min(100, pct)}%` }), h("em", {}, `${pct.toFixed(0)}%`));
}

function unavailable(...containers) {
  for (const c of containers) c.replaceChildren(h("p", { class: "empty" }, t("common.unavailable")));
}

/** The key figures: device and work-order counts from the board answer (live, the same answer
 * as the map's legend and the village table), incident history from the dashboard; the open
 * incident figure is the live list's own (board.js keeps it). */
export function drawStats({ board, dashboard }) {
  if (!board && !dashboard) unavailable($("#kpis"));
  if (!dashboard) unavailable($("#chart-days"), $("#chart-villages"));
  if (!board) $("#villages").replaceChildren(h("caption", { class: "empty" }, t("common.unavailable")));
  if (board || dashboard) {
    const b = board ?? {};
    const d = dashboard ?? {};
    const heard = (b.online ?? 0) + (b.offline ?? 0);
    const online = heard ? b.online / heard : null;
    $("#kpis").replaceChildren(
      kpi("devices", b.devices),
      kpi("online_rate", percent(online), online !== null && online < 0.95 ? "warn" : ""),
      kpi("open_incidents", d.open_incidents, d.open_incidents ? "alert" : ""),
      kpi("fires_caught_early", d.fires_caught_early, "good"),
      kpi("false_alarm_rate", percent(d.false_alarm_rate)),
      kpi("open_work_orders", b.open_work_orders),
      kpi("low_battery", b.low_battery, b.low_battery ? "warn" : ""),
      kpi("offline", b.offline, b.offline ? "warn" : ""),
      kpi("tamper", b.tamper, b.tamper ? "alert" : ""),
      kpi("fault", b.fault, b.fault ? "warn" : ""));
  }
  if (dashboard) {
    bars($("#chart-days"), lastDays(dashboard.alarms_by_day ?? [], 14), { vertical: true });
    bars($("#chart-villages"), (dashboard.alarms_by_village ?? []).slice(0, 10).map((r) => ({
      label: r.name, count: r.count })), { vertical: false });
  }
  const villages = board?.villages;
  if (villages) {
    const head = ["board.village", "board.sites", "board.devices", "board.installed", "board.online_rate",
      "board.kpi.low_battery", "board.kpi.offline", "board.kpi.tamper", "board.kpi.fault",
      "board.kpi.open_work_orders"];
    $("#villages").replaceChildren(
      h("thead", {}, h("tr", {}, head.map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, villages.map((v) => h("tr", { dataset: { orgId: String(v.org_id) } },
        h("th", { scope: "row" }, v.name),
        h("td", {}, v.sites), h("td", {}, v.devices),
        h("td", {}, progress(v.installed_pct, `${v.name} · ${t("board.installed")}`)),
        h("td", { class: v.online_rate !== null && v.online_rate < 0.95 ? "warn" : "" }, percent(v.online_rate)),
        countCell(v, "low_battery", "warn"),
        countCell(v, "offline", "warn"),
        countCell(v, "tamper", "alert"),
        countCell(v, "fault", "warn"),
        h("td", {}, v.open_work_orders)))));
  }
}
