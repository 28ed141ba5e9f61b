// Monitoring-centre board: open incidents live from the SSE stream, with siren and flashing rows
// until acknowledged; map, device health and statistics refreshed in the background.

import { AlarmSound } from "./alarm-sound.js";
import { ApiError, api, logout, pageConfig, requireLogin, toLogin } from "./api.js";
import { openIncident, refreshDrawer } from "./board-detail.js";
import { bindDrawer } from "./board-drawer.js";
import { bindSiteSearch } from "./board-file.js";
import { openHandover } from "./board-handover.js";
import { loadRecent, openHistory } from "./board-history.js";
import { drawMap, setOpenAlarms } from "./board-map.js";
import { drawStats } from "./board-stats.js";
import { $, announce, clock, h, secondsSince } from "./dom.js";
import { actorText, applyI18n, bindLangSwitch, label, lang, t } from "./i18n.js";

const ALARM_KINDS = new Set(["fire", "heat"]);
const ALARM_EVENTS = new Set(["alarm", "high_temperature", "tamper"]);
const HEALTH_EVENTS = new Set(["alarm", "alarm_cleared", "high_temperature", "tamper", "tamper_cleared",
  "low_battery", "battery_ok", "fault", "fault_cleared", "online", "offline"]);
const incidents = new Map(); // id -> incident item
// The list shows the newest LIST_LIMIT open incidents; in a storm there are more, and the count
// must say how many (the server's total at the last read of the list), not how many are drawn.
const LIST_LIMIT = 200;
let listTotal = 0;
let listCapped = false;
let config = {};
let sound;

// The centre has not acknowledged it yet: the row flashes (and a fire rings) whoever in the field
// answered, because only an operator's acknowledgement means the centre has it.
export const needsCentre = (i) => i.status !== "resolved" && !i.centre_acknowledged_at;
const kindRank = (i) => (needsCentre(i) ? 0 : 1) * 10 + (i.status === "reported" ? 0 : 5) + (i.priority ?? 9) / 10;

// One name per person: the best state reached (answered > delivered > sending > pending >
// failed). "Answered" is the person whose "on my way" or report the incident carries: a page
// delivered is not a person reached, and the two never share a mark.
const PAGE_RANK = { answered: 5, delivered: 4, sending: 3, pending: 2, failed: 1, cancelled: 0 };
// Past this without the centre's acknowledgement a row says so (the target is seconds).
export const OVERDUE_S = 120;

function answeredName(item) {
  return item.report?.name ?? item.field_answer?.name ?? null;
}

function pagedList(item) {
  const people = new Map();
  const answerer = answeredName(item);
  for (const p of item.paged ?? []) {
    const key = p.contact_id ?? p.name;
    const status = answerer && p.name === answerer ? "answered" : p.status;
    const seen = people.get(key);
    if (!seen || (PAGE_RANK[status] ?? 0) > (PAGE_RANK[seen.status] ?? 0)) people.set(key, { ...p, status });
  }
  if (!people.size) return t("common.none");
  return [...people.values()].map((p) => h("span", {
    class: `paged-person paged-${p.status} reach-${p.reach ?? "sent"}`, "data-page": p.status,
    "data-reach": p.reach ?? "sent",
    title: `${label("role", p.role)} · ${label("page", p.status)} · ${label("channel", p.channel ?? "")}`,
  }, `${p.name ?? "?"} ${reachText(p)}`));
}

/** Reach, not just sends: "短信 已送达", "电话 未接听", "已确认" (issue 18). */
export function reachText(p) {
  const reach = p.reach ?? "sent";
  const byVoice = p.channel === "voice" && (reach === "reached" || reach === "not_reached");
  const word = byVoice ? label("reach", `${reach}.voice`) : label("reach", reach);
  return reach === "acknowledged" ? word : `${label("channel", p.channel)}${word}`;
}

const hhmm = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

function outcomeText(outcome, cause) {
  return cause ? `${label("outcome", outcome)}/${label("cause", cause)}` : label("outcome", outcome);
}

/** Who answered: the field's report or "on my way", and whether the centre has acknowledged. */
export function answeredLines(item) {
  const lines = [];
  const r = item.report;
  if (r) {
    lines.push(h("div", { class: "field-report" }, t("board.field_report", {
      name: r.name ?? "?", role: label("role", r.role), outcome: outcomeText(r.outcome, r.false_alarm_cause) })));
  } else if (item.field_answer) {
    const f = item.field_answer;
    lines.push(h("div", { class: "answered field-answer" }, "★ ", t("board.field_answer", {
      name: f.name ?? "?", role: label("role", f.role), time: hhmm(f.at) })));
  }
  if (item.centre_acknowledged_at) {
    lines.push(h("div", { class: "answered centre-ack" }, "✔ ",
      t("board.centre_ack", { name: actorText(item.centre_acknowledged_by) ?? "" })));
  } else if (lines.length) {
    lines.push(h("div", { class: "unanswered centre-silent" }, t("board.centre_silent")));
  } else {
    lines.push(h("div", { class: "unanswered" }, t("board.not_answered")));
  }
  return lines;
}

function row(item) {
  const site = item.site ?? {};
  const triggered = needsCentre(item);
  const ack = triggered
    ? h("button", {
        class: "ack-btn", type: "button", "data-action": "acknowledge",
        onclick: (e) => { e.stopPropagation(); acknowledge(item.id); },
      }, t("detail.acknowledge"))
    : null;
  const tr = h("tr", {
    class: `incident kind-${item.kind} status-${item.status}${triggered ? " flash" : ""}`,
    tabindex: "0",
    dataset: { incidentId: String(item.id), status: item.status, kind: item.kind, deviceId: item.device?.id ?? "",
      centre: item.centre_acknowledged_at ? "acknowledged" : "waiting" },
    onclick: () => openIncident(item.id),
    onkeydown: (e) => { if (e.key === "Enter") openIncident(item.id); },
  },
    h("td", { class: "kind" }, h("span", { class: `badge kind-${item.kind}` }, label("kind", item.kind))),
    h("td", { class: "place" },
      h("div", { class: "address" }, site.address ?? site.name ?? ""),
      h("div", { class: "room" }, [item.village?.name, item.device?.room].filter(Boolean).join(" · "))),
    h("td", { class: "resident" },
      h("div", {}, site.resident_name ?? site.name ?? ""),
      h("div", { class: "situation" }, (site.resident_situation ?? []).join("、"))),
    h("td", { class: "elapsed", "data-since": item.opened_at }, clock(secondsSince(item.opened_at))),
    h("td", { class: "paged" },
      h("div", { class: "paged-list" }, pagedList(item)),
      ...answeredLines(item)),
    h("td", { class: "status" }, h("span", { class: `status-label status-${item.status}` },
      label("status", item.status)), h("span", { class: "overdue-flag", hidden: true }), ack),
  );
  markOverdue(tr);
  return tr;
}

/** Every "open incidents" figure on the screen is the list's own length: one source, so the
 * key figures never disagree with the rows while the minute-old summary catches up. */
function syncCounts(open) {
  const figure = $("#kpis [data-kpi='open_incidents'] dd");
  if (figure) figure.textContent = String(open);
  figure?.parentElement.classList.toggle("alert", open > 0);
}

const announced = new Set();

/** Say a new alarm out loud for screen readers (once per incident). */
function announceNew(items) {
  for (const i of items) {
    if (!needsCentre(i) || announced.has(i.id)) continue;
    announced.add(i.id);
    const region = $("#alarm-announcer");
    const text = t("board.new_alarm", {
      kind: label("kind", i.kind), address: i.site?.address ?? "", room: i.device?.room ?? "" });
    if (region) region.textContent = text;
    // A new fire's address read out across the room, in the page's language.
    if (ALARM_KINDS.has(i.kind)) sound.speak(text, lang());
  }
}

function render() {
  const items = [...incidents.values()]
    .filter((i) => i.status !== "resolved")
    .sort((a, b) => kindRank(a) - kindRank(b) || Date.parse(b.opened_at) - Date.parse(a.opened_at));
  // A redraw must not throw keyboard users out of the list: focus goes back to the same row.
  const focused = document.activeElement?.closest?.("tr.incident");
  const focusedAck = document.activeElement?.dataset?.action === "acknowledge";
  $("#incident-rows").replaceChildren(...items.map(row));
  if (focused) {
    const again = $(`tr.incident[data-incident-id="${focused.dataset.incidentId}"]`);
    (focusedAck ? again?.querySelector("[data-action='acknowledge']") ?? again : again)?.focus();
  }
  announceNew(items);
  const open = openCount(items.length);
  syncCounts(open);
  setOpenAlarms(items.filter((i) => ALARM_KINDS.has(i.kind) && i.site?.id).map((i) => i.site.id));
  $("#no-incidents").hidden = open > 0;
  $("#incident-count").textContent = open ? `(${open})` : "";
  const capped = $("#incidents-capped");
  capped.hidden = open <= items.length;
  capped.textContent = capped.hidden ? "" : t("board.list_capped", { shown: items.length, total: open });
  // The siren stops only when an operator acknowledges, not when someone in the field answers.
  const ringing = items.some((i) => needsCentre(i) && ALARM_KINDS.has(i.kind));
  document.body.classList.toggle("alarming", ringing);
  sound.update(ringing);
}

/** Mark rows the centre has left unacknowledged too long: a ten-second-old alarm and a
 * ten-minute-old one must not look the same. */
function markOverdue(rowEl) {
  const since = rowEl.querySelector("td.elapsed")?.dataset.since;
  const late = rowEl.dataset.centre === "waiting" && since && secondsSince(since) >= OVERDUE_S;
  rowEl.classList.toggle("overdue", Boolean(late));
  const flag = rowEl.querySelector(".overdue-flag");
  if (flag) {
    flag.hidden = !late;
    if (late) flag.textContent = t("board.overdue", { n: Math.floor(secondsSince(since) / 60) });
  }
}

function tick() {
  for (const cell of document.querySelectorAll("td.elapsed[data-since]")) {
    cell.textContent = clock(secondsSince(cell.dataset.since));
  }
  for (const rowEl of document.querySelectorAll("tr.incident")) markOverdue(rowEl);
  $("#now").textContent = new Date().toLocaleTimeString();
}

/** Open incidents: those drawn, or the server's total when the list holds only the newest. */
function openCount(drawn) {
  return listCapped ? Math.max(listTotal, drawn) : drawn;
}

async function loadIncidents() {
  const page = await api(`/incidents?status=open&limit=${LIST_LIMIT}&sort=-opened_at`);
  incidents.clear();
  for (const item of page.items) incidents.set(item.id, item);
  listTotal = page.total;
  listCapped = page.total > page.items.length;
  render();
  recentSoon();
}

/** ``run`` now, or once more as soon as the run in progress ends and ``gapMs`` have passed since
 * it started: a burst of calls costs at most one run per gap, and the last run starts after
 * the last call. */
function coalesced(run, gapMs = 0) {
  let running = false;
  let again = false;
  return async function go() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await Promise.all([run().catch(() => {}), delay(gapMs)]);
      } while (again);
    } finally {
      running = false;
    }
  };
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// The closed list changes only when an incident is closed: once a second is enough in a storm.
const recentSoon = coalesced(() => loadRecent(), 1000);

// A storm opens hundreds of incidents a second, and each changes several times as its pages go
// out. One request (and one redraw of the whole list) per live event made the board fall
// minutes behind and loaded the API for every open board. Changed incidents are gathered while
// a fetch is out and fetched together: one by one when a few changed, as the whole list (at
// most every LIST_EVERY_MS) when many did or when the list holds only the newest. The first
// change after a quiet spell is fetched at once.
const FETCH_ONE_BY_ONE = 8;
const LIST_EVERY_MS = 500;
const changed = new Set();
const fetchChanged = coalesced(async () => {
  const ids = [...changed];
  changed.clear();
  if (!ids.length) return;
  if (ids.length > FETCH_ONE_BY_ONE || listCapped) {
    await Promise.all([loadIncidents(), delay(LIST_EVERY_MS)]);
  } else {
    await Promise.all(ids.map((id) => refreshIncident(id).catch(() => refreshListSoon())));
  }
});

function incidentChanged(id) {
  changed.add(id);
  fetchChanged();
}

/** Fetch one incident again (after a live event or an action) and redraw. */
export async function refreshIncident(id) {
  try {
    const item = await api(`/incidents/${id}`);
    incidents.set(item.id, item);
    render();
    refreshDrawer(item);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) incidents.delete(id);
    else throw err;
  }
}

export async function acknowledge(id) {
  try {
    await api(`/incidents/${id}/acknowledge`, { method: "POST", body: {} });
  } catch (err) {
    announce(err.userText ?? String(err), "error");
  }
  await refreshIncident(id);
}

let listTimer = null;
function refreshListSoon() {
  clearTimeout(listTimer);
  listTimer = setTimeout(() => loadIncidents().catch(() => {}), 150);
}

/** The live stream's state in the page's language (again after a language switch). */
function showLiveState() {
  const state = $("#live-state");
  state.textContent = state.dataset.state === "open" ? `● ${t("board.live")}` : t("board.offline");
}

function connectLive() {
  const state = $("#live-state");
  const source = new EventSource("/api/v1/live", { withCredentials: true });
  const show = (name) => {
    state.dataset.state = name;
    showLiveState();
  };
  show("connecting");
  source.addEventListener("open", () => { show("open"); refreshListSoon(); });
  source.addEventListener("error", () => {
    show("error");
    // The browser retries by itself after a network error, but gives up for good when the
    // server refuses (401 after the session ended): then ask again, or go to the login page.
    if (source.readyState === EventSource.CLOSED) reconnectLater();
  });
  source.addEventListener("closed", () => {
    // The server ends the stream when the session was revoked, expired or the user disabled.
    source.close();
    toLogin();
  });
  source.addEventListener("incident", (e) => {
    const data = JSON.parse(e.data);
    incidentChanged(data.incident_id);
    refreshSideSoon();
    recentSoon();
  });
  source.addEventListener("event", (e) => {
    const data = JSON.parse(e.data);
    // The alarm event can arrive before alerting opened its incident: look again shortly.
    if (ALARM_EVENTS.has(data.type)) {
      refreshListSoon();
      setTimeout(refreshListSoon, 1000);
    }
    // A detector gone offline, back, low on battery, tampered with or faulty changes the counts.
    if (HEALTH_EVENTS.has(data.type)) refreshSideSoon();
  });
  return source;
}

function reconnectLater() {
  setTimeout(async () => {
    try {
      await requireLogin(); // goes to the login page on 401
      connectLive();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) reconnectLater();
    }
  }, 3000);
}

let sideTimer = null;
function refreshSideSoon() {
  // Map colours and counts follow incidents and device reports, but a burst of changes redraws
  // them once, and a steady stream at most every 1.5 s (a timer already set is left to run).
  if (sideTimer) return;
  sideTimer = setTimeout(() => {
    sideTimer = null;
    loadSide().catch(() => {});
  }, 1500);
}

/** Every device and site count on the board (key figures, the map and its legend, the village
 * table) comes from one answer read from live device state, drawn in one go: they never
 * disagree, not even for the minute a per-village summary would lag. The dashboard adds only
 * the incident history (alarms by day and village, fires caught early, false-alarm rate). */
async function loadSide() {
  const [counts, dashboard] = await Promise.allSettled([api("/summary/board"), api("/summary/dashboard")]);
  const board = counts.status === "fulfilled" ? counts.value : null;
  if (board) drawMap($("#map"), board.map, config, board.sites_by_state);
  drawStats({ board, dashboard: dashboard.status === "fulfilled" ? dashboard.value : null });
  syncCounts(openCount([...incidents.values()].filter((i) => i.status !== "resolved").length));
  document.body.dataset.countsAsOf = board?.as_of ?? "";
}

/** The monthly statistics links follow the chosen month (last month by default). */
function bindExport() {
  const month = $("#export-month");
  const last = new Date();
  last.setDate(0);
  month.value = `${last.getFullYear()}-${String(last.getMonth() + 1).padStart(2, "0")}`;
  const sync = () => {
    for (const format of ["xlsx", "csv"]) {
      $(`#export-${format}`).href = `/api/v1/summary/monthly?month=${encodeURIComponent(month.value)}&format=${format}`;
    }
  };
  month.addEventListener("change", sync);
  sync();
}

// Day and night themes for the control room's light; the choice is remembered.
function showTheme() {
  const day = localStorage.getItem("sw.theme") === "day";
  document.documentElement.dataset.theme = day ? "day" : "night";
  const btn = $("#theme-toggle");
  btn.textContent = t(day ? "board.theme_day" : "board.theme_night");
  btn.setAttribute("aria-pressed", String(day));
}

// Wall-screen mode: full screen, and a screen wake lock so the display never sleeps on duty
// (taken again when the page becomes visible: browsers drop it when hidden).
let wakeLock = null;
async function keepAwake() {
  try {
    wakeLock = await navigator.wakeLock?.request("screen");
    document.body.dataset.wakeLock = wakeLock ? "1" : "0";
  } catch {
    document.body.dataset.wakeLock = "0";
  }
}

async function wallMode() {
  sound.unlock();
  try { await document.documentElement.requestFullscreen?.(); } catch { /* refused: carry on */ }
  document.body.classList.add("wall");
  await keepAwake();
}

function showSoundState() {
  const btn = $("#sound-toggle");
  btn.textContent = sound.enabled ? t("board.sound_on") : t("board.sound_off");
  btn.setAttribute("aria-pressed", String(sound.enabled));
}

async function main() {
  applyI18n();
  sound = new AlarmSound({ banner: $("#sound-banner"), onStateChange: showSoundState });
  showSoundState();
  $("#sound-toggle").addEventListener("click", () => { sound.unlock(); sound.setEnabled(!sound.enabled); });
  document.addEventListener("click", () => sound.unlock(), { once: true });
  showTheme();
  $("#theme-toggle").addEventListener("click", () => {
    localStorage.setItem("sw.theme", localStorage.getItem("sw.theme") === "day" ? "night" : "day");
    showTheme();
  });
  $("#wall-mode").addEventListener("click", wallMode);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && document.body.classList.contains("wall")) keepAwake();
  });
  bindLangSwitch($("#lang"), () => { render(); showSoundState(); showTheme(); showLiveState(); loadSide(); loadRecent(); });
  $("#logout").addEventListener("click", logout);
  bindDrawer();
  let me;
  try {
    me = await requireLogin();
  } catch {
    return;
  }
  if (me.role === "installer") {
    location.assign("/ui/install"); // installers do not handle incidents
    return;
  }
  // Viewers (government read access) see everything and act on nothing (board.css hides it).
  document.body.dataset.role = me.role ?? "";
  $("#me").textContent = me.name ?? me.username ?? "";
  config = await pageConfig().catch(() => ({}));
  bindSiteSearch();
  $("#history-open").addEventListener("click", openHistory);
  $("#handover-open").addEventListener("click", openHandover);
  bindExport();
  await loadIncidents().catch((err) => {
    if (err instanceof ApiError && err.status === 401) toLogin();
    announce(err.userText ?? String(err), "error");
  });
  connectLive();
  setInterval(tick, 1000);
  tick();
  loadSide();
  setInterval(loadSide, 60_000);
  // A safety net for missed events; an expired session goes back to the login page.
  setInterval(() => loadIncidents().catch((err) => {
    if (err instanceof ApiError && err.status === 401) toLogin();
  }), 30_000);
  document.body.dataset.ready = "1";
}

main();
