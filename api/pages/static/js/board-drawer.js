// The board's drawer as a modal dialog: focus moves into it when it opens, Tab stays inside it
// (the rest of the board is inert), and Esc or the close button give focus back to what opened
// it - found again by its data attributes when a live update redrew that row or map dot.
// Sections (facts, actions, forms, timeline) are plain children of #drawer-body, so another
// part of the board can add one without touching this module.

import { $ } from "./dom.js";

const BEHIND = ["body > header", "body > main", "#sound-banner"];
const FOCUSABLE = "a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]),"
  + " textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";
let returnTo = null;

function describe(el) {
  if (!(el instanceof Element) || el === document.body) return null;
  const holder = el.closest("[data-incident-id], [data-site-id]");
  if (holder?.dataset.incidentId && holder.matches("tr.incident")) {
    return { el, selector: `tr.incident[data-incident-id="${holder.dataset.incidentId}"]` };
  }
  if (holder?.dataset.siteId && holder.closest("#map")) {
    return { el, selector: `#map [data-site-id="${holder.dataset.siteId}"]` };
  }
  return { el, selector: null };
}

/** Show the drawer and move focus into it; the first opening remembers where focus was. */
export function showDrawer() {
  const drawer = $("#drawer");
  if (drawer.hidden) returnTo = describe(document.activeElement);
  drawer.hidden = false;
  for (const selector of BEHIND) {
    const el = $(selector);
    if (el) el.inert = true;
  }
  $("#drawer-title").focus();
}

/** Hide the drawer and give focus back to what opened it (or the incidents heading). */
export function closeDrawer() {
  const drawer = $("#drawer");
  if (drawer.hidden) return;
  drawer.hidden = true;
  for (const selector of BEHIND) {
    const el = $(selector);
    if (el) el.inert = false;
  }
  let target = returnTo?.el?.isConnected ? returnTo.el : null;
  if (!target && returnTo?.selector) target = $(returnTo.selector);
  if (target && target.closest("#map")) target.setAttribute("tabindex", "0");
  (target ?? $("#incidents-title")).focus();
  returnTo = null;
}

function trapTab(e) {
  if (e.key !== "Tab") return;
  const items = [...$("#drawer").querySelectorAll(FOCUSABLE)].filter((el) => el.offsetParent !== null);
  if (!items.length) return;
  const first = items[0];
  const last = items[items.length - 1];
  const inside = $("#drawer").contains(document.activeElement);
  if (e.shiftKey && (document.activeElement === first || !inside || document.activeElement === $("#drawer-title"))) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && (document.activeElement === last || !inside)) {
    e.preventDefault();
    first.focus();
  }
}

export function bindDrawer() {
  $("#drawer-close").addEventListener("click", closeDrawer);
  $("#drawer").addEventListener("keydown", trapTab);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("#drawer").hidden) {
      e.preventDefault();
      closeDrawer();
    }
  });
}
