// Small DOM and formatting helpers shared by the pages (no framework).

import { lang, t } from "./i18n.js";

/** Create an element: h("td", {class: "x", onclick: fn}, "text", child, ...). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** Seconds since an ISO time (never negative: clocks may differ by a little). */
export function secondsSince(iso) {
  return Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
}

/** 0:07, 12:05, 1:02:03 - the board's ticking elapsed time. */
export function clock(seconds) {
  const hh = Math.floor(seconds / 3600);
  const mm = Math.floor((seconds % 3600) / 60);
  const ss = String(seconds % 60).padStart(2, "0");
  return hh ? `${hh}:${String(mm).padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

/** "3 min ago" style text. */
export function ago(iso) {
  if (!iso) return t("common.none");
  const s = secondsSince(iso);
  if (s < 60) return t("common.seconds_ago", { n: s });
  if (s < 3600) return t("common.minutes_ago", { n: Math.floor(s / 60) });
  if (s < 86400) return t("common.hours_ago", { n: Math.floor(s / 3600) });
  return t("common.days_ago", { n: Math.floor(s / 86400) });
}

/** Local date and time in the page's language. */
export function when(iso) {
  if (!iso) return t("common.none");
  return new Date(iso).toLocaleString(lang(), { dateStyle: "short", timeStyle: "medium" });
}

export function percent(value) {
  if (value === null || value === undefined) return "–";
  const n = value <= 1 ? value * 100 : value;
  return `${n.toFixed(n < 10 && n > 0 ? 1 : 0)}%`;
}

/** Show a transient message in the page's live region (screen readers hear it too). */
export function announce(text, kind = "info") {
  const region = document.getElementById("toast");
  if (!region) return;
  region.textContent = text;
  region.dataset.kind = kind;
  region.hidden = false;
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => { region.hidden = true; }, 6000);
}
