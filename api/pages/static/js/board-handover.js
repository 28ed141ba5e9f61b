// The shift handover log in the drawer: what earlier shifts handed over, and a note for the
// next one (signed by the logged-in operator, with the number of open incidents).

import { api } from "./api.js";
import { showDrawer } from "./board-drawer.js";
import { $, announce, h, when } from "./dom.js";
import { t } from "./i18n.js";

async function list() {
  const entries = await api("/handovers?limit=20");
  $("#handover-list").replaceChildren(...entries.map((e) => h("li", { "data-handover-id": e.id },
    h("div", { class: "muted" }, when(e.at), " · ", e.author, " · ", t("handover.open", { n: e.open_incidents })),
    h("p", { class: "handover-note" }, e.note))));
}

export async function openHandover() {
  $("#drawer-title").textContent = t("handover.title");
  const body = $("#drawer-body");
  for (const key of ["incidentId", "status", "siteId"]) delete body.dataset[key];
  body.dataset.view = "handover";
  const note = h("textarea", { name: "note", id: "handover-note", rows: "4", maxlength: "4000", required: true });
  body.replaceChildren(
    h("form", { class: "drawer-section", id: "handover-form", "data-section": "handover-new",
      onsubmit: async (e) => {
        e.preventDefault();
        if (!note.value.trim()) return;
        try {
          await api("/handovers", { method: "POST", body: { note: note.value.trim() } });
        } catch (err) {
          announce(err.userText ?? String(err), "error");
          return;
        }
        note.value = "";
        announce(t("handover.saved"));
        await list();
      } },
    h("label", { class: "field" }, t("handover.note"), note),
    h("button", { type: "submit", class: "primary" }, t("handover.save"))),
    h("section", { class: "drawer-section", "data-section": "handover-list" },
      h("h3", {}, t("handover.earlier")), h("ol", { class: "history", id: "handover-list" })));
  showDrawer();
  await list().catch((err) => announce(err.userText ?? String(err), "error"));
}
