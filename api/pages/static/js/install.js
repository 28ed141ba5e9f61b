// Installer's phone page: choose or create the site, bind a detector (typed or scanned with the
// camera where the browser has BarcodeDetector), run the commissioning test and watch its result.

import { api, logout, requireLogin } from "./api.js";
import { $, announce, h } from "./dom.js";
import { applyI18n, bindLangSwitch, label, t } from "./i18n.js";
import { startCommissioning } from "./install-test.js";

const CATEGORIES = {
  household: ["elderly_alone", "widowed", "disabled", "dementia", "other_at_risk"],
  venue: ["shop", "eatery", "small_hotel", "internet_cafe", "workshop", "warehouse", "shared_building", "other_venue"],
};
const SITE_LEVELS = new Set(["village", "community", "grid"]);
let site = null;
let deviceId = null;
let scanning = null;

function chooseSite(s) {
  site = s;
  $("#site-name").textContent = `${s.resident_name ?? s.name} · ${s.address}`;
  $("#site-chosen").hidden = false;
  $("#site-pick").hidden = true;
  $("#step-bind").hidden = false;
  $("#install").dataset.siteId = String(s.id);
  $("#device-id").focus();
}

function fillCategories() {
  const kind = $("#f-kind").value;
  $("#f-category").replaceChildren(...CATEGORIES[kind].map((c) => h("option", { value: c }, label("category", c))));
}

function drawStaticLabels() {
  for (const option of $("#f-kind").options) option.textContent = label("sitekind", option.value);
  fillCategories();
}

async function loadOrganisations() {
  const answer = await api("/organisations").catch(() => []);
  const orgs = Array.isArray(answer) ? answer : answer.items ?? [];
  const flat = [];
  const walk = (list) => {
    for (const o of list) {
      flat.push(o);
      if (o.children) walk(o.children);
    }
  };
  walk(orgs);
  const usable = flat.filter((o) => SITE_LEVELS.has(o.level));
  $("#f-org").replaceChildren(...(usable.length ? usable : flat).map((o) => h("option", { value: o.id }, o.name)));
}

async function searchSites(e) {
  e.preventDefault();
  try {
    const q = encodeURIComponent($("#site-q").value.trim());
    const page = await api(`/sites?q=${q}&limit=20`);
    $("#site-results").replaceChildren(...page.items.map((s) => h("li", {},
      h("span", {}, `${s.resident_name ?? s.name}`, h("br"), h("small", { class: "muted" }, s.address)),
      h("button", { type: "button", "data-site-id": s.id, onclick: () => chooseSite(s) }, "✓"))));
  } catch (err) {
    announce(err.userText ?? String(err), "error");
  }
}

async function createSite(e) {
  e.preventDefault();
  const number = (v) => (v.trim() === "" ? null : Number(v));
  const body = {
    org_id: Number($("#f-org").value), kind: $("#f-kind").value, category: $("#f-category").value,
    name: $("#f-name").value.trim(), address: $("#f-address").value.trim(),
    resident_name: $("#f-resident").value.trim() || null, phone: $("#f-phone").value.trim() || null,
    latitude: number($("#f-lat").value), longitude: number($("#f-lon").value),
  };
  try {
    chooseSite(await api("/sites", { method: "POST", body }));
  } catch (err) {
    announce(err.fields?.length ? err.fields.map((f) => `${f.field}: ${f.message}`).join("; ") : err.userText, "error");
  }
}

function locate() {
  navigator.geolocation?.getCurrentPosition((pos) => {
    $("#f-lat").value = pos.coords.latitude.toFixed(6);
    $("#f-lon").value = pos.coords.longitude.toFixed(6);
  }, () => announce(t("common.error"), "error"), { enableHighAccuracy: true, timeout: 10_000 });
}

function stopScan() {
  if (!scanning) return;
  scanning.stream.getTracks().forEach((track) => track.stop());
  cancelAnimationFrame(scanning.frame);
  scanning = null;
  $("#scanner").hidden = true;
  $("#scan").textContent = t("install.scan");
}

async function scan() {
  if (scanning) return stopScan();
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices?.getUserMedia) {
    $("#scan-note").textContent = t("install.scan_unsupported");
    $("#scan-note").hidden = false;
    $("#device-id").focus();
    return;
  }
  try {
    const detector = new BarcodeDetector();
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    const video = $("#scanner");
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    scanning = { stream, frame: 0 };
    $("#scan").textContent = t("install.scan_stop");
    const look = async () => {
      if (!scanning) return;
      const codes = await detector.detect(video).catch(() => []);
      if (codes.length) {
        $("#device-id").value = codes[0].rawValue.trim();
        stopScan();
        $("#room").focus();
        return;
      }
      scanning.frame = requestAnimationFrame(look);
    };
    look();
  } catch (err) {
    stopScan();
    $("#scan-note").textContent = `${t("install.scan_unsupported")} (${err.name ?? err})`;
    $("#scan-note").hidden = false;
  }
}

async function bind(e) {
  e.preventDefault();
  stopScan();
  const id = $("#device-id").value.trim();
  const body = { site_id: site.id, room: $("#room").value.trim() };
  if ($("#position").value.trim()) body.position = $("#position").value.trim();
  if ($("#notes").value.trim()) body.notes = $("#notes").value.trim();
  try {
    await api(`/devices/${encodeURIComponent(id)}/binding`, { method: "PUT", body });
  } catch (err) {
    announce(err.userText ?? String(err), "error");
    return;
  }
  deviceId = id;
  $("#bind-form").hidden = true;
  $("#bound").textContent = t("install.bound", { id, room: body.room });
  $("#bound").hidden = false;
  $("#step-test").hidden = false;
  $("#install").dataset.deviceId = id;
  $("#start-test").focus();
  $("#step-test").scrollIntoView({ block: "start" });
}

function nextDevice() {
  deviceId = null;
  for (const id of ["#device-id", "#room", "#position", "#notes"]) $(id).value = "";
  $("#bound").hidden = true;
  $("#bind-form").hidden = false;
  $("#step-test").hidden = true;
  $("#test-result").replaceChildren();
  $("#next-device").hidden = true;
  $("#start-test").hidden = false;
  $("#device-id").focus();
}

async function main() {
  applyI18n();
  drawStaticLabels();
  bindLangSwitch($("#lang"), drawStaticLabels);
  $("#logout").addEventListener("click", logout);
  try {
    await requireLogin();
  } catch {
    return;
  }
  $("#site-search").addEventListener("submit", searchSites);
  $("#site-form").addEventListener("submit", createSite);
  $("#f-kind").addEventListener("change", fillCategories);
  $("#locate").addEventListener("click", locate);
  $("#site-change").addEventListener("click", () => {
    $("#site-chosen").hidden = true;
    $("#site-pick").hidden = false;
  });
  $("#scan").addEventListener("click", scan);
  $("#bind-form").addEventListener("submit", bind);
  $("#start-test").addEventListener("click", () => startCommissioning(deviceId));
  $("#next-device").addEventListener("click", nextDevice);
  await loadOrganisations();
  document.body.dataset.ready = "1";
}

main();
