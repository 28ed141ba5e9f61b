// Installer's phone page: choose or create the site, bind a detector (typed or scanned with the
// camera where the browser has BarcodeDetector), run the commissioning test and watch its result.
// A detector speaking a vendor format (zigbee2mqtt, LoRaWAN, CTWing, OneNET, Home Assistant
// discovery) can be registered on the spot with its model and network identity, and a wrong
// identity corrected later (the server keeps the old one in the history).

import { api, logout, requireLogin } from "./api.js";
import { $, announce, h } from "./dom.js";
import { applyI18n, bindLangSwitch, label, lang, t } from "./i18n.js";
import { redrawCommissioning, startCommissioning } from "./install-test.js";

const CATEGORIES = {
  household: ["elderly_alone", "widowed", "disabled", "dementia", "other_at_risk"],
  venue: ["shop", "eatery", "small_hotel", "internet_cafe", "workshop", "warehouse", "shared_building", "other_venue"],
};
const SITE_LEVELS = new Set(["village", "community", "grid"]);
let site = null;
let deviceId = null;
let scanning = null;
let models = [];

// Text of the registration parts, Chinese first (this page's own strings).
const TEXT = {
  "zh-CN": {
    "reg.title": "现场登记新探测器（Zigbee、LoRaWAN、电信、移动）",
    "reg.model": "型号",
    "reg.identity": "设备标识",
    "reg.scan": "扫码",
    "reg.device_id": "探测器编号（留空自动生成）",
    "reg.submit": "登记并填入编号",
    "reg.discovered": "列出自动发现、尚未登记的设备",
    "reg.none_discovered": "没有尚未登记的自动发现设备",
    "reg.done": "已登记 {id}，请填写房间后绑定",
    "reg.pick": "选用",
    "fix.title": "更正已登记探测器的标识",
    "fix.device_id": "探测器编号",
    "fix.codec": "接入方式",
    "fix.external": "正确的标识",
    "fix.reason": "原因",
    "fix.submit": "保存更正（保留历史）",
    "fix.done": "{id} 的标识已更正为 {external}",
    "hint.zigbee2mqtt": "zigbee2mqtt 中的设备名称；未改名时是 IEEE 地址，如 0x00158d0001a2b3c4",
    "hint.chirpstack": "DevEUI：16 位十六进制；可扫描标签上的二维码（LW:D0:…）",
    "hint.ctwing": "电信 CTWing 平台的设备ID（deviceId），或 15 位 IMEI",
    "hint.onenet": "移动 OneNET：产品ID/设备名称",
    "hint.homeassistant": "自动发现的设备标识：点下方按钮列出并选用",
    "hint.native": "本系统探测器编号",
  },
  en: {
    "reg.title": "Register a new detector here (Zigbee, LoRaWAN, CTWing, OneNET)",
    "reg.model": "Model",
    "reg.identity": "Network identity",
    "reg.scan": "Scan",
    "reg.device_id": "Detector id (empty: generated)",
    "reg.submit": "Register and use this id",
    "reg.discovered": "List discovered devices not yet registered",
    "reg.none_discovered": "No discovered device waits for registration",
    "reg.done": "Registered {id}; enter the room and bind",
    "reg.pick": "Use",
    "fix.title": "Correct a registered detector's identity",
    "fix.device_id": "Detector id",
    "fix.codec": "Network",
    "fix.external": "Correct identity",
    "fix.reason": "Reason",
    "fix.submit": "Save (history is kept)",
    "fix.done": "{id} now has identity {external}",
    "hint.zigbee2mqtt": "The device's zigbee2mqtt name; the IEEE address (0x00158d0001a2b3c4) unless renamed",
    "hint.chirpstack": "DevEUI: 16 hex digits; scan the label's QR code (LW:D0:…)",
    "hint.ctwing": "The CTWing deviceId, or the 15-digit IMEI",
    "hint.onenet": "OneNET: productId/deviceName",
    "hint.homeassistant": "The discovered device key: list and pick below",
    "hint.native": "Our own detector id",
  },
};
const CODEC_PREFIX = { zigbee2mqtt: "ZB", chirpstack: "LW", ctwing: "CT", onenet: "ON", homeassistant: "HA" };

function tx(key, params = {}) {
  const text = (TEXT[lang()] ?? TEXT["zh-CN"])[key] ?? TEXT["zh-CN"][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

function drawOwnText() {
  for (const el of document.querySelectorAll("[data-tx]")) el.textContent = tx(el.dataset.tx);
  showHint();
}

function chooseSite(s) {
  site = s;
  $("#site-name").textContent = `${s.resident_name ?? s.name} · ${s.address}`;
  $("#site-chosen").hidden = false;
  $("#site-pick").hidden = true;
  $("#step-bind").hidden = false;
  $("#step-contacts").hidden = false;
  $("#install").dataset.siteId = String(s.id);
  loadContacts();
  $("#device-id").focus();
}

// Field-level messages: the input is marked invalid and names its message (screen readers
// read it with the field); typing again clears it.
function fieldError(input, message) {
  const id = `${input.id}-error`;
  let note = document.getElementById(id);
  if (!note) {
    note = h("small", { class: "field-error", id, role: "alert" });
    input.insertAdjacentElement("afterend", note);
    input.addEventListener("input", () => clearError(input), { once: true });
  }
  note.textContent = message;
  input.setAttribute("aria-invalid", "true");
  input.setAttribute("aria-describedby", id);
}

function clearError(input) {
  document.getElementById(`${input.id}-error`)?.remove();
  input.removeAttribute("aria-invalid");
  input.removeAttribute("aria-describedby");
}

// Mainland numbers: a mobile (1[3-9] and nine digits, as one block or 3-4-4 with spaces or
// hyphens) or a landline with its area code (0xx or 0xxx, then 7 or 8 digits), optionally
// +86: the server's own rule (PHONE in api/types.py), so what passes here is never refused there.
const PHONE = /^(?:\+?86[ -]?)?(?:1[3-9][0-9](?:[ -]?[0-9]{4}){2}|0[0-9]{2,3}[ -]?[0-9]{7,8})$/;

export function phoneOk(value) {
  return PHONE.test(value.trim());
}

/** Check the inputs; mark each wrong one; the first wrong one takes focus. */
function check(rules) {
  let first = null;
  for (const [input, message] of rules) {
    if (message) {
      fieldError(input, message);
      first ??= input;
    } else {
      clearError(input);
    }
  }
  first?.focus();
  return !first;
}

function coordinate(input, max, rangeKey) {
  const raw = input.value.trim();
  if (raw === "") return [null, null];
  const n = Number(raw);
  if (!Number.isFinite(n)) return [null, t("install.err.number")];
  if (Math.abs(n) > max) return [null, t(rangeKey)];
  return [n, null];
}

/** The server's 422 fields shown next to their inputs (by the body field's name). */
function showServerFields(err, form) {
  let shown = false;
  for (const f of err.fields ?? []) {
    const name = String(f.field).split(".").pop();
    const input = form.querySelector(`[name="${name}"]`);
    if (input) {
      fieldError(input, t("install.err.server"));
      shown = true;
    }
  }
  return shown;
}

const CONTACT_ROLES = ["family", "neighbour", "key_holder", "guardian", "resident"];
const ENOUGH_CONTACTS = 3;

async function loadContacts() {
  let file = null;
  try {
    file = await api(`/sites/${site.id}`);
  } catch (err) {
    announce(errorText(err), "error");
    return;
  }
  const contacts = file.contacts ?? [];
  $("#contact-list").replaceChildren(...contacts.map((c) => h("li", { "data-contact-id": c.id },
    h("span", {}, h("strong", {}, c.name), " · ", label("role", c.role)), h("span", {}, c.phone ?? ""))));
  const missing = Math.max(0, ENOUGH_CONTACTS - contacts.length);
  $("#contacts-title").dataset.count = String(contacts.length);
  $("#contact-list").setAttribute("aria-label",
    missing ? t("install.contact.need", { n: missing }) : t("install.contact.enough"));
  $("#contact-list").dataset.missing = String(missing);
}

async function addContact(e) {
  e.preventDefault();
  const name = $("#c-name");
  const phone = $("#c-phone");
  const ok = check([
    [name, name.value.trim() ? null : t("install.err.required")],
    [phone, !phone.value.trim() ? t("install.err.required") : phoneOk(phone.value) ? null : t("install.err.phone")],
  ]);
  if (!ok) return;
  const count = Number($("#contacts-title").dataset.count ?? 0);
  const body = { site_id: site.id, name: name.value.trim(), role: $("#c-role").value,
    phone: phone.value.trim(), priority: count + 1 };
  try {
    await api("/contacts", { method: "POST", body });
  } catch (err) {
    if (!showServerFields(err, $("#contact-form"))) announce(errorText(err), "error");
    return;
  }
  announce(t("install.contact.added", { name: body.name }));
  name.value = "";
  phone.value = "";
  await loadContacts();
  name.focus();
}

function fillRoles() {
  const chosen = $("#c-role").value;
  $("#c-role").replaceChildren(...CONTACT_ROLES.map((r) => h("option", { value: r }, label("role", r))));
  if (chosen) $("#c-role").value = chosen;
}

function fillCategories() {
  const kind = $("#f-kind").value;
  $("#f-category").replaceChildren(...CATEGORIES[kind].map((c) => h("option", { value: c }, label("category", c))));
}

function drawStaticLabels() {
  for (const option of $("#f-kind").options) option.textContent = label("sitekind", option.value);
  fillCategories();
  fillRoles();
  drawOwnText();
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
    // An empty search lists the sites nearest to hand (the first page), never nothing.
    const q = encodeURIComponent($("#site-q").value.trim());
    const page = await api(`/sites?q=${q}&limit=20`);
    if (!page.items.length) {
      $("#site-results").replaceChildren(h("li", { class: "muted", id: "no-sites" }, t("install.no_sites")));
      return;
    }
    $("#site-results").replaceChildren(...page.items.map((s) => h("li", {},
      h("span", {}, `${s.resident_name ?? s.name}`, h("br"), h("small", { class: "muted" }, s.address)),
      h("button", { type: "button", "data-site-id": s.id, onclick: () => chooseSite(s),
        "aria-label": t("install.pick_site", { name: `${s.resident_name ?? s.name} ${s.address}` }) },
      t("install.pick")))));
  } catch (err) {
    announce(err.userText ?? String(err), "error");
  }
}

async function createSite(e) {
  e.preventDefault();
  const [lat, latError] = coordinate($("#f-lat"), 90, "install.err.lat_range");
  const [lon, lonError] = coordinate($("#f-lon"), 180, "install.err.lon_range");
  const half = !latError && !lonError && (lat === null) !== (lon === null);
  const phone = $("#f-phone").value.trim();
  const ok = check([
    [$("#f-name"), $("#f-name").value.trim() ? null : t("install.err.required")],
    [$("#f-address"), $("#f-address").value.trim() ? null : t("install.err.required")],
    [$("#f-phone"), phone && !phoneOk(phone) ? t("install.err.phone") : null],
    [$("#f-lat"), latError ?? (half && lat === null ? t("install.err.pair") : null)],
    [$("#f-lon"), lonError ?? (half && lon === null ? t("install.err.pair") : null)],
  ]);
  if (!ok) return;
  const body = {
    org_id: Number($("#f-org").value), kind: $("#f-kind").value, category: $("#f-category").value,
    name: $("#f-name").value.trim(), address: $("#f-address").value.trim(),
    resident_name: $("#f-resident").value.trim() || null, phone: phone || null,
    latitude: lat, longitude: lon,
  };
  try {
    chooseSite(await api("/sites", { method: "POST", body }));
  } catch (err) {
    if (!showServerFields(err, $("#site-form"))) announce(errorText(err), "error");
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
  scanning.button.textContent = scanning.label;
  scanning = null;
  $("#scanner").hidden = true;
}

// LoRa Alliance TR005 device QR code: LW:D0:<JoinEUI>:<DevEUI>:<ProfileID>[:...]
function fromQr(raw) {
  const lorawan = /^LW:D0:([0-9A-F]{16}):([0-9A-F]{16})(?::|$)/i.exec(raw);
  return lorawan ? lorawan[2] : raw;
}

async function scan(input, button, label, after) {
  if (scanning) return stopScan();
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices?.getUserMedia) {
    $("#scan-note").textContent = t("install.scan_unsupported");
    $("#scan-note").hidden = false;
    input.focus();
    return;
  }
  try {
    const detector = new BarcodeDetector();
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    const video = $("#scanner");
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    scanning = { stream, frame: 0, button, label };
    button.textContent = t("install.scan_stop");
    const look = async () => {
      if (!scanning) return;
      const codes = await detector.detect(video).catch(() => []);
      if (codes.length) {
        input.value = fromQr(codes[0].rawValue.trim());
        stopScan();
        after();
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

function chosenModel() {
  return models.find((m) => m.code === $("#r-model").value);
}

function showHint() {
  const model = chosenModel();
  $("#r-hint").textContent = model ? tx(`hint.${model.codec}`) : "";
}

async function loadModels() {
  models = await api("/devices/models").catch(() => []);
  const vendorModels = models.filter((m) => m.codec !== "native");
  $("#r-model").replaceChildren(...vendorModels.map((m) =>
    h("option", { value: m.code }, `${m.vendor} ${m.name}`)));
  const codecs = [...new Set(models.map((m) => m.codec))];
  $("#x-codec").replaceChildren(...codecs.map((c) => h("option", { value: c }, c)));
  showHint();
}

function generatedId(codec, external) {
  // A devEui or IEEE address as one hex word (the label's grouping is not part of the id).
  const hex = external.replace(/[\s:._-]/g, "");
  const compact = /^(0x)?[0-9A-Fa-f]{16}$/.test(hex) ? hex.toUpperCase().replace(/^0X/, "") : external;
  const safe = compact.replace(/[^A-Za-z0-9_.:-]/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return `${CODEC_PREFIX[codec] ?? "DEV"}-${safe}`.slice(0, 64);
}

function errorText(err) {
  return err.fields?.length ? err.fields.map((f) => f.message).join("; ") : err.userText ?? String(err);
}

let boundText = null; // [key, params] of the binding notice, redrawn in the other language

function showBound(key, params) {
  boundText = [key, params];
  $("#bound").textContent = t(key, params);
}

async function registerDevice(e) {
  e.preventDefault();
  stopScan();
  const model = chosenModel();
  if (!model) return;
  const external = $("#r-external").value.trim();
  const id = $("#r-device-id").value.trim() || generatedId(model.codec, external);
  const body = { id, model_code: model.code, identities: [{ codec: model.codec, external_id: external }] };
  try {
    await api("/devices", { method: "POST", body });
  } catch (err) {
    announce(errorText(err), "error");
    return;
  }
  $("#device-id").value = id;
  $("#register-new").open = false;
  for (const field of ["#r-external", "#r-device-id"]) $(field).value = "";
  announce(tx("reg.done", { id }));
  $("#room").focus();
}

async function listDiscovered() {
  let found = [];
  try {
    found = await api("/devices/discovered?unregistered=true&limit=50");
  } catch (err) {
    announce(errorText(err), "error");
    return;
  }
  if (!found.length) {
    $("#r-discovered-list").replaceChildren(h("li", { class: "muted" }, tx("reg.none_discovered")));
    return;
  }
  $("#r-discovered-list").replaceChildren(...found.map((d) => h("li", {},
    h("span", {}, `${d.name ?? d.device_key}${d.smoke_detector ? " 🔥" : ""}`, h("br"),
      h("small", { class: "muted" }, [d.manufacturer, d.model, d.device_key].filter(Boolean).join(" · "))),
    h("button", { type: "button", "data-device-key": d.device_key, onclick: () => pickDiscovered(d) }, tx("reg.pick")))));
}

function pickDiscovered(device) {
  const model = models.find((m) => m.codec === "homeassistant");
  if (model) $("#r-model").value = model.code;
  $("#r-external").value = device.device_key;
  showHint();
  $("#r-device-id").focus();
}

async function fixIdentity(e) {
  e.preventDefault();
  const id = $("#x-device-id").value.trim();
  const codec = $("#x-codec").value;
  const body = { external_id: $("#x-external").value.trim() };
  if ($("#x-reason").value.trim()) body.reason = $("#x-reason").value.trim();
  try {
    const device = await api(`/devices/${encodeURIComponent(id)}/identities/${encodeURIComponent(codec)}`,
      { method: "PUT", body });
    const now = device.identities.find((i) => i.codec === codec);
    announce(tx("fix.done", { id, external: now?.external_id ?? body.external_id }));
    $("#fix-identity").open = false;
  } catch (err) {
    announce(errorText(err), "error");
  }
}

function bindingBody(move = false) {
  const body = { site_id: site.id, room: $("#room").value.trim() };
  if ($("#position").value.trim()) body.position = $("#position").value.trim();
  if ($("#notes").value.trim()) body.notes = $("#notes").value.trim();
  if (move) body.move = true;
  return body;
}

async function bind(e) {
  e.preventDefault();
  stopScan();
  await sendBinding($("#device-id").value.trim(), false);
}

async function sendBinding(id, move) {
  const body = bindingBody(move);
  $("#device-id").value = id;
  let device;
  try {
    device = await api(`/devices/${encodeURIComponent(id)}/binding`, { method: "PUT", body });
  } catch (err) {
    if (err.code === "bound_elsewhere") return askToMove(id, err);
    const unknown = err.status === 404 && err.message === "no such device";
    // Labels print ids in capitals; a lower-case typing of one is the same detector.
    if (unknown && id !== id.toUpperCase()) return sendBinding(id.toUpperCase(), move);
    announce(unknown ? t("install.no_device", { id }) : errorText(err), "error");
    return;
  }
  $("#move-confirm").hidden = true;
  deviceId = id;
  $("#bind-form").hidden = true;
  if (move) showBound("install.moved", { id, from: pending?.from ?? "", room: body.room });
  else showBound("install.bound", { id, room: device.room ?? body.room });
  $("#bound").hidden = false;
  $("#step-test").hidden = false;
  $("#install").dataset.deviceId = id;
  $("#start-test").focus();
  $("#step-test").scrollIntoView({ block: "start" });
}

let pending = null;

// A detector bound to another household moves only after the installer confirms, having read
// where it hangs now: that household loses it.
async function askToMove(id, err) {
  let where = null;
  try {
    where = await api(`/devices/${encodeURIComponent(id)}`);
  } catch {
    where = null;
  }
  const name = where?.site?.name ?? "";
  $("#move-text").textContent = where?.site
    ? t("install.move_text", { id, site: name, address: where.site.address,
      room: where.room ? ` · ${where.room}` : "" })
    : err.message;
  pending = { id, from: name };
  $("#move-confirm").hidden = false;
  $("#move-confirm").dataset.deviceId = id;
  $("#move-no").focus();
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
  bindLangSwitch($("#lang"), () => {
    drawStaticLabels();
    if (boundText) showBound(...boundText);
    redrawCommissioning();
  });
  $("#logout").addEventListener("click", logout);
  try {
    await requireLogin();
  } catch {
    return;
  }
  $("#site-search").addEventListener("submit", searchSites);
  $("#site-form").addEventListener("submit", createSite);
  $("#contact-form").addEventListener("submit", addContact);
  $("#f-kind").addEventListener("change", fillCategories);
  $("#locate").addEventListener("click", locate);
  $("#site-change").addEventListener("click", () => {
    $("#site-chosen").hidden = true;
    $("#site-pick").hidden = false;
  });
  $("#scan").addEventListener("click", () =>
    scan($("#device-id"), $("#scan"), t("install.scan"), () => $("#room").focus()));
  $("#r-scan").addEventListener("click", () =>
    scan($("#r-external"), $("#r-scan"), tx("reg.scan"), () => $("#r-device-id").focus()));
  $("#r-model").addEventListener("change", showHint);
  $("#register-form").addEventListener("submit", registerDevice);
  $("#r-discovered").addEventListener("click", listDiscovered);
  $("#fix-form").addEventListener("submit", fixIdentity);
  $("#bind-form").addEventListener("submit", bind);
  $("#start-test").addEventListener("click", () => startCommissioning(deviceId));
  $("#next-device").addEventListener("click", nextDevice);
  $("#move-yes").addEventListener("click", () => sendBinding(pending.id, true));
  $("#move-no").addEventListener("click", () => {
    pending = null;
    $("#move-confirm").hidden = true;
    $("#device-id").focus();
  });
  await Promise.all([loadOrganisations(), loadModels()]);
  document.body.dataset.ready = "1";
}

main();
