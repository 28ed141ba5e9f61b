// The commissioning test: start it, then poll its state once a second until it passed, failed
// or expired, showing each check (nothing received, device unknown, bound elsewhere, weak signal,
// low battery) in the page's language.

import { api } from "./api.js";
import { $, announce, h } from "./dom.js";
import { lang, t } from "./i18n.js";

const POLL_MS = 1000;
let timer = null;
let last = null; // the run and result on screen, redrawn when the language changes

/** Draw the shown test again (in the language just chosen). */
export function redrawCommissioning() {
  if (last) draw(last.run, last.result);
}

function draw(run, result) {
  last = { run, result };
  const state = result?.state ?? run.state ?? "waiting";
  const leftSeconds = run.expires_at
    ? Math.max(0, Math.ceil((Date.parse(run.expires_at) - Date.now()) / 1000)) : null;
  const tone = state === "passed" ? "notice" : state === "waiting" ? "notice warn" : "notice fail";
  const event = result?.event;
  $("#test-result").replaceChildren(...[
    h("p", { class: tone, id: "commission-state", "data-state": state },
      h("strong", {}, t(`commission.${state}`)),
      state === "waiting" ? [h("br"), t("install.press_button"),
        leftSeconds !== null ? ` · ${t("install.time_left", { n: leftSeconds })}` : ""] : null,
      event ? [h("br"), [event.signal_dbm !== null && event.signal_dbm !== undefined
        ? t("install.signal", { n: event.signal_dbm }) : null,
      event.battery_pct !== null && event.battery_pct !== undefined
        ? t("install.battery", { n: event.battery_pct }) : null].filter(Boolean).join(" · ")] : null),
    h("ul", { class: "checks" }, (result?.checks ?? []).map((c) =>
      h("li", { class: c.ok === null || c.ok === undefined ? "pending" : c.ok ? "ok" : "bad" },
        lang() === "en" ? c.message_en : c.message_zh))),
    result && (result.summary_zh || result.summary_en)
      ? h("p", { class: "muted", id: "commission-summary" },
        lang() === "en" ? result.summary_en : result.summary_zh)
      : null].filter(Boolean));
  document.body.dataset.commissionState = state;
  return state;
}

export async function startCommissioning(deviceId) {
  clearTimeout(timer);
  let run;
  try {
    run = await api(`/devices/${encodeURIComponent(deviceId)}/commissioning`, { method: "POST", body: {} });
  } catch (err) {
    announce(err.userText ?? String(err), "error");
    return;
  }
  $("#start-test").hidden = true;
  $("#next-device").hidden = true;
  draw(run, null);
  const poll = async () => {
    let result = null;
    try {
      result = await api(`/devices/${encodeURIComponent(deviceId)}/commissioning/${run.id}`);
    } catch (err) {
      announce(err.userText ?? String(err), "error");
    }
    const state = draw(run, result);
    if (state === "waiting") {
      timer = setTimeout(poll, POLL_MS);
    } else {
      $("#start-test").hidden = false;
      $("#start-test").textContent = t("install.again");
      $("#next-device").hidden = false;
      $("#test-result").scrollIntoView({ block: "center" });
    }
  };
  timer = setTimeout(poll, POLL_MS);
}
