// The board's incident drawer gets "远程消音" and "远程自检" (commands-ui.js) where the model
// supports them. Self-contained: it watches the drawer and adds its panel after each redraw.

import { api } from "./api.js";
import { $ } from "./dom.js";
import { commandPanel, ct } from "./commands-ui.js";

function attach() {
  const body = $("#drawer-body");
  const id = body?.dataset.incidentId;
  if (!id || body.dataset.status === "resolved" || body.querySelector("#commands")) return;
  const incident = Number(id);
  const panel = commandPanel({
    kinds: ["silence", "self_test"],
    withCause: true,
    load: () => api(`/incidents/${incident}/commands`),
    send: async (kind, extra) => {
      const support = await api(`/incidents/${incident}/commands`);
      const path = `/devices/${encodeURIComponent(support.device_id)}/commands`;
      // Commands from the drawer belong to the incident: its timeline records them.
      const payload = { kind, ...extra, incident_id: incident };
      return api(path, { method: "POST", body: payload });
    },
    blocked: (kind) => (kind === "silence" && body.dataset.status === "triggered" ? ct("needs_ack") : null),
  });
  const actions = body.querySelector(".actions");
  if (actions) actions.after(panel); else body.append(panel);
}

const drawer = document.getElementById("drawer-body");
if (drawer) {
  new MutationObserver(attach).observe(drawer, { childList: true, attributes: true,
    attributeFilter: ["data-incident-id", "data-status"] });
}
