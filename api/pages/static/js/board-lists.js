// Device lists behind the village health counts: which detectors are offline, low on battery,
// tampered with or faulty in one village, each leading to its household file.

import { showDrawer } from "./board-drawer.js";
import { api } from "./api.js";
import { openSiteFile } from "./board-file.js";
import { $, ago, h } from "./dom.js";
import { label, t } from "./i18n.js";

export const LIST_STATES = ["low_battery", "offline", "tamper", "fault"];

export async function openDeviceList(village, state) {
  $("#drawer-title").textContent = `${village.name} · ${label("state", state)}`;
  showDrawer();
  const body = $("#drawer-body");
  delete body.dataset.incidentId;
  delete body.dataset.status;
  delete body.dataset.siteId;
  body.dataset.list = state;
  let page;
  try {
    page = await api(`/devices?org_id=${village.org_id}&state=${state}&limit=500`);
  } catch (err) {
    body.replaceChildren(h("p", { class: "error" }, err.userText ?? String(err)));
    return;
  }
  const head = ["install.device_id", "file.address", "file.room", "file.battery", "file.last_seen"];
  body.replaceChildren(h("table", { class: "devices", id: "device-list" },
    h("thead", {}, h("tr", {}, head.map((k) => h("th", { scope: "col" }, t(k))))),
    h("tbody", {}, page.items.map((d) => h("tr", { dataset: { deviceId: d.id } },
      h("td", {}, d.site
        ? h("button", { type: "button", class: "link", onclick: () => openSiteFile(d.site.id) }, d.id)
        : d.id),
      h("td", {}, d.site ? `${d.site.name} · ${d.site.address}` : t("common.none")),
      h("td", {}, d.room ?? ""),
      h("td", {}, d.state?.battery_pct ?? "–"),
      h("td", {}, ago(d.state?.last_seen)))))),
  h("p", { class: "muted" }, `${page.items.length} / ${page.total}`));
}
