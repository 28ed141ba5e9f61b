// Map of sites coloured by state, drawn as SVG in Web Mercator. With a tile server configured
// (config.map_tile_url, e.g. ".../{z}/{x}/{y}.png"; Tianditu and AMap need a key in the URL)
// the tiles lie underneath; without one the sites stand on a plain background.

import { openSiteFile } from "./board-file.js";
import { h } from "./dom.js";
import { label, t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const STATES = ["alarm", "fault", "offline", "ok", "no_device"];
const TILE = 256;

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/** Longitude/latitude to world pixels at zoom z. */
function project(lon, lat, z) {
  const scale = TILE * 2 ** z;
  const s = Math.sin((Math.max(-85, Math.min(85, lat)) * Math.PI) / 180);
  return [((lon + 180) / 360) * scale, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * scale];
}

/** The zoom at which the sites fill 85 % of the frame: whole levels when tiles are drawn (tiles
 * exist only at whole levels), any level on the plain background, so that a sub-district's
 * sites spread over the frame instead of sitting in the middle of it. */
function fitZoom(points, width, height, wholeLevels) {
  const xy = points.map((p) => project(p.longitude, p.latitude, 0));
  const spanX = Math.max(...xy.map((p) => p[0])) - Math.min(...xy.map((p) => p[0]));
  const spanY = Math.max(...xy.map((p) => p[1])) - Math.min(...xy.map((p) => p[1]));
  const fit = Math.log2(Math.min(
    (width * 0.85) / Math.max(spanX, 1e-9), (height * 0.85) / Math.max(spanY, 1e-9)));
  const z = Math.max(1, Math.min(18, fit));
  return wholeLevels ? Math.floor(z) : z;
}

function tileUrl(template, z, x, y, subdomains = "abc") {
  const sub = subdomains[Math.abs(x + y) % subdomains.length];
  return template.replace("{z}", z).replace("{x}", x).replace("{y}", y).replace("{s}", sub);
}

let current = null; // the site whose dot holds the map's one tab stop

const STEP = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };

function moveFocus(e, ring) {
  const at = ring.indexOf(e.target);
  if (at < 0) return;
  let next = null;
  if (e.key in STEP) next = ring[(at + STEP[e.key] + ring.length) % ring.length];
  else if (e.key === "Home") next = ring[0];
  else if (e.key === "End") next = ring[ring.length - 1];
  else if (e.key === "Enter" || e.key === " ") {
    e.preventDefault();
    openSiteFile(Number(e.target.dataset.siteId));
    return;
  }
  if (!next) return;
  e.preventDefault();
  e.target.setAttribute("tabindex", "-1");
  next.setAttribute("tabindex", "0");
  next.focus();
}

let drawn = null; // { container, sites, config, byState } of the last drawing
let liveAlarms = new Set(); // sites with an open fire or heat incident in the board's list

/** The board's live list says which sites have an open fire: the map and its legend follow
 * it at once instead of waiting for the next summary (one source for the count). */
export function setOpenAlarms(siteIds) {
  const next = new Set(siteIds);
  if (next.size === liveAlarms.size && [...next].every((id) => liveAlarms.has(id))) return;
  liveAlarms = next;
  if (drawn) drawMap(drawn.container, drawn.sites, drawn.config, drawn.byState);
}

/** The legend: the board answer's sites by state (every site in scope, drawn or not), with the
 * sites the live list has just put in alarm moved over. */
function legendCounts(serverSites, byState) {
  const counts = Object.fromEntries(STATES.map((s) => [s, byState?.[s] ?? 0]));
  if (!byState) for (const s of serverSites) counts[s.state] = (counts[s.state] ?? 0) + 1;
  for (const s of serverSites) {
    if (liveAlarms.has(s.site_id) && s.state !== "alarm") {
      counts[s.state] -= 1;
      counts.alarm += 1;
    }
  }
  return counts;
}

export function drawMap(container, serverSites, config = {}, byState = null) {
  drawn = { container, sites: serverSites, config, byState };
  const sites = serverSites.map((s) => (liveAlarms.has(s.site_id) ? { ...s, state: "alarm" } : s));
  const width = container.clientWidth || 600;
  const height = container.clientHeight || 400;
  const placed = sites.filter((s) => s.latitude !== null && s.longitude !== null
    && s.latitude !== undefined && s.longitude !== undefined);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "map-svg", "data-sites": placed.length });
  root.append(svg("rect", { x: 0, y: 0, width, height, class: "map-bg" }));
  const counts = legendCounts(serverSites, byState);
  if (placed.length) {
    const z = Math.min(
      fitZoom(placed, width, height, Boolean(config.map_tile_url)), Number(config.map_max_zoom ?? 18));
    const xy = placed.map((p) => project(p.longitude, p.latitude, z));
    const cx = (Math.min(...xy.map((p) => p[0])) + Math.max(...xy.map((p) => p[0]))) / 2;
    const cy = (Math.min(...xy.map((p) => p[1])) + Math.max(...xy.map((p) => p[1]))) / 2;
    const ox = cx - width / 2;
    const oy = cy - height / 2;
    if (config.map_tile_url) {
      const tiles = svg("g", { class: "tiles" });
      for (let tx = Math.floor(ox / TILE); tx <= Math.floor((ox + width) / TILE); tx += 1) {
        for (let ty = Math.floor(oy / TILE); ty <= Math.floor((oy + height) / TILE); ty += 1) {
          tiles.append(svg("image", {
            href: tileUrl(config.map_tile_url, z, tx, ty, config.map_subdomains || "abc"),
            x: tx * TILE - ox, y: ty * TILE - oy, width: TILE, height: TILE,
          }));
        }
      }
      root.append(tiles);
    }
    // Alarms drawn last so they are never hidden under a crowd of healthy sites.
    const order = (s) => STATES.length - STATES.indexOf(s.state);
    const dots = placed.map((s, i) => [s, xy[i]]).sort((a, b) => order(b[0]) - order(a[0]));
    const layer = svg("g", { class: "sites" });
    // One tab stop for the whole map (roving tabindex): arrows walk the sites, alarms first.
    const walk = [...dots].sort((a, b) => order(b[0]) - order(a[0])
      || String(a[0].name).localeCompare(String(b[0].name), "zh-CN"));
    const stop = walk.some(([s]) => s.site_id === current) ? current : walk[0]?.[0].site_id;
    const byId = new Map();
    for (const [s, [x, y]] of dots.reverse()) {
      const title = svg("title");
      title.textContent = `${s.name} · ${label("state", s.state)}`;
      const dot = svg("circle", {
        cx: x - ox, cy: y - oy, r: s.state === "alarm" ? 11 : 7,
        class: `site state-${s.state}`, "data-site-id": s.site_id, role: "button",
        tabindex: s.site_id === stop ? 0 : -1, "aria-label": title.textContent,
      }, title);
      dot.addEventListener("click", () => openSiteFile(s.site_id));
      byId.set(s.site_id, dot);
      layer.append(dot);
    }
    layer.addEventListener("keydown", (e) => moveFocus(e, walk.map(([s]) => byId.get(s.site_id))));
    layer.addEventListener("focusin", (e) => { current = Number(e.target.dataset.siteId); });
    root.append(layer);
  }
  if (config.map_attribution) {
    const note = svg("text", { x: width - 6, y: height - 6, class: "map-attribution", "text-anchor": "end" });
    note.textContent = config.map_attribution;
    root.append(note);
  }
  container.replaceChildren(root);
  container.setAttribute("aria-label", `${t("board.map")}: ${
    STATES.map((s) => `${label("state", s)} ${counts[s] ?? 0}`).join(", ")}. ${t("board.map_keys")}`);
  const legend = container.parentElement.querySelector(".legend");
  legend?.replaceChildren(...STATES.map((s) =>
    h("li", { dataset: { state: s, count: String(counts[s] ?? 0) } },
      h("span", { class: `swatch state-${s}`, "aria-hidden": "true" }),
      `${label("state", s)} ${counts[s] ?? 0}`)));
  return t("board.map");
}
