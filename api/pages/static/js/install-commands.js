// The installer page gets "远程自检" and the heartbeat setting for the detector just bound, where
// its model supports them (commands-ui.js). It follows #install's data-device-id.

import { api } from "./api.js";
import { commandPanel } from "./commands-ui.js";

const page = document.getElementById("install");
const step = document.getElementById("step-test");

function attach() {
  document.getElementById("commands")?.remove();
  const id = page?.dataset.deviceId;
  if (!id || !step) return;
  const path = `/devices/${encodeURIComponent(id)}/commands`;
  step.append(commandPanel({
    kinds: ["self_test", "set_heartbeat"],
    load: () => api(path),
    send: (kind, extra) => api(path, { method: "POST", body: { kind, ...extra } }),
  }));
}

if (page) new MutationObserver(attach).observe(page, { attributes: true, attributeFilter: ["data-device-id"] });
