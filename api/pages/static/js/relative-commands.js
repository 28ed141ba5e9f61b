// The relative's page gets a silence request after the alarm is acknowledged, for models that
// support it, with a confirmation step (commands-ui.js). Outside #content, which relative.js
// redraws every 10 s; it follows #relative's data-status.

import { api } from "./api.js";
import { commandPanel } from "./commands-ui.js";

const token = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() ?? "");
const base = `/relative/${encodeURIComponent(token)}`;
const page = document.getElementById("relative");
let panel = null;

function sync() {
  const status = page?.dataset.status;
  // acknowledged by someone and still open (the states may grow: "reported" by the field)
  const open = Boolean(status) && status !== "triggered" && status !== "resolved";
  if (!open) { panel?.remove(); panel = null; return; }
  if (panel) return;
  panel = commandPanel({
    kinds: ["silence"],
    confirmSilence: true,
    load: () => api(`${base}/commands`),
    send: (_kind, body) => api(`${base}/silence`, { method: "POST", body }),
  });
  document.getElementById("content")?.after(panel);
}

if (page) new MutationObserver(sync).observe(page, { attributes: true, attributeFilter: ["data-status"] });
