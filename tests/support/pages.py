"""Browser-test helpers for the pages: Debian's chromium driven by Playwright, a real uvicorn.

The browser is Debian's ``chromium`` (``scripts/test`` installs it with ``fonts-wqy-microhei``),
started through its executable path: Playwright's own browser downloads are never used. When it
is missing the tests fail in CI and are skipped, with the reason, elsewhere.

Screenshots go to ``build/screenshots/`` (ignored by git); ``docs/screenshots/`` holds a copy
of a current set for the README.
"""

from __future__ import annotations

import os
import shutil
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.factory import create_contact, create_device, create_organisation, create_site
from devtools.http import LoopbackHTTPServer
from tests.support.alerting import Household
from tests.support.api import ApiUser, ApiWorld, Org

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
DESKTOP: dict[str, Any] = {"viewport": {"width": 1920, "height": 1080}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    # Relatives and installers open the pages on Android phones.
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
}
# Somewhere in Rencheng district, Jining: the map needs real coordinates.
JINING = (35.414, 116.587)


def chromium_path() -> str:
    """Debian's chromium, or a failure (CI) / a skip with the reason (elsewhere)."""
    found = os.environ.get("SMOKEWATCH_CHROMIUM") or shutil.which("chromium")
    if found:
        return found
    reason = "chromium is not installed (scripts/test installs it: apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the session; each test opens its own contexts."""
    path = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=path,
            args=[
                "--no-sandbox",  # we run as root in CI
                # The monitoring centre's screen is configured to allow the siren without a
                # click (kiosk); the page also shows a banner asking for one when refused.
                "--autoplay-policy=no-user-gesture-required",
                "--disable-gpu",
                "--disable-dev-shm-usage",
            ],
        )
        yield launched
        launched.close()


@dataclass
class Tab:
    """A browser page that remembers its uncaught script errors."""

    page: Any
    errors: list[str]

    def close(self) -> None:
        """Close the page's context (its live stream too, so the server can stop at once)."""
        self.page.context.close()

    def assert_no_script_errors(self) -> None:
        assert not self.errors, f"uncaught script errors: {self.errors}"


@contextmanager
def tabs(browser: Any) -> Iterator[Any]:
    """``open(size, lang=...)`` for new tabs, all closed when the block ends (before the API
    server stops: uvicorn waits for open event streams)."""
    opened: list[Tab] = []

    def open_one(size: dict[str, Any], *, lang: str = "zh-CN") -> Tab:
        tab = open_tab(browser, size, lang=lang)
        opened.append(tab)
        return tab

    try:
        yield open_one
    finally:
        for tab in opened:
            tab.close()


def open_tab(browser: Any, size: dict[str, Any], *, lang: str = "zh-CN") -> Tab:
    """A new context (own cookies) of ``size`` with the page language chosen."""
    context = browser.new_context(locale=lang, **size)
    # The first visit's language; a choice made on the page later is kept across reloads.
    context.add_init_script(
        f"if (!localStorage.getItem('sw.lang')) localStorage.setItem('sw.lang', {lang!r})"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(15_000)
    return Tab(page, errors)


AXE = ROOT / "build" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# Impacts that fail a page; "moderate" and "minor" findings are reported in the message only.
AXE_FAILING = ("serious", "critical")


def axe_source() -> str:
    """axe-core's script (scripts/test installs it under build/axe); CI fails without it."""
    found = Path(os.environ.get("SMOKEWATCH_AXE", AXE))
    if found.exists():
        return found.read_text(encoding="utf-8")
    reason = f"axe-core is not installed at {found} (scripts/test installs it with npm)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def assert_accessible(tab: Tab, *, context: str = "document") -> list[dict[str, Any]]:
    """Run axe-core over the page as it is now; fail on any serious or critical violation.

    The script is evaluated through the debugging protocol, which the pages' Content Security
    Policy does not govern (a <script> tag with it would be refused, as it should be)."""
    page = tab.page
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source() + "\n;undefined")
    # A flashing row or bar alternates two backgrounds: both phases must read, and which one
    # axe happened to see made the check flaky. Every running animation is paused at the start
    # and then at the middle of its cycle (the two phases of the steps(2) flashes), checked in
    # each, and resumed.
    result = page.evaluate(
        """async (context) => {
          const animations = document.getAnimations();
          const seen = new Map();
          try {
            for (const phase of [0, 0.5]) {
              for (const a of animations) {
                a.pause();
                const d = Number(a.effect?.getComputedTiming().duration) || 0;
                a.currentTime = d * phase;
              }
              const r = await axe.run(context === "document" ? document : context,
                { resultTypes: ["violations"] });
              for (const v of r.violations) {
                if (!seen.has(v.id)) seen.set(v.id, { id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) });
              }
            }
          } finally {
            for (const a of animations) a.play();
          }
          return [...seen.values()];
        }""",
        context,
    )
    failing = [v for v in result if v["impact"] in AXE_FAILING]
    assert not failing, f"axe-core on {page.url}: {failing}"
    return list(result)


def login(tab: Tab, base_url: str, user: ApiUser, *, next_path: str) -> None:
    """Log in through the login page and land on ``next_path``."""
    page = tab.page
    page.goto(f"{base_url}/ui/login?next={next_path}")
    page.fill("#username", user.username)
    page.fill("#password", user.password)
    page.click("#login button[type=submit]")
    page.wait_for_url(f"{base_url}{next_path}")
    page.wait_for_selector("body[data-ready='1']")


def screenshot(tab: Tab, name: str) -> Path:
    """Write ``build/screenshots/<name>.png`` (the viewport, as a person sees it)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    tab.page.wait_for_timeout(300)  # let CSS transitions and the map settle
    tab.page.screenshot(path=str(path))
    return path


def org_of(db: psycopg.Connection[Any], org_id: int) -> Org:
    row = db.execute(
        "SELECT id, code, name, level, path, parent_id FROM organisations WHERE id = %s", (org_id,)
    ).fetchone()
    assert row is not None
    return Org(**row)


@dataclass
class Programme:
    """A sub-district with villages and households, as the board shows them."""

    sub_district: int
    villages: list[int]
    houses: list[Household]


RESIDENTS = [
    ("王秀英", ["独居", "行动不便"], "厨房"),
    ("李桂兰", ["独居", "听力差"], "卧室"),
    ("张德福", ["孤寡", "失智"], "客厅"),
    ("刘玉珍", ["独居"], "厨房"),
    ("陈永贵", ["残疾", "独居"], "卧室"),
    ("赵淑芬", ["独居", "高龄 89 岁"], "客厅"),
]


def seed_programme(db: psycopg.Connection[Any], channel: Any, *, tag: str = "pg") -> Programme:
    """One sub-district, two villages, six households with a detector each, coordinates around
    Jining and varied device health; contacts are paged through ``channel(name)`` URLs."""
    tag = f"{tag}{uuid.uuid4().hex[:5]}"

    def org(level: str, name: str, parent: int | None) -> int:
        code = f"{tag}-{uuid.uuid4().hex[:6]}"
        return create_organisation(db, level=level, code=code, name=name, parent_id=parent)

    sub = org("sub_district", "南张街道", None)
    villages = [org("village", "南张村", sub), org("village", "北李村", sub)]
    for village in villages:
        for role, name in (("grid_worker", "孙网格"), ("village_cadre", "周村委")):
            create_contact(
                db,
                org_id=village,
                name=name,
                role=role,
                phone="13800000000",
                channels=channel(f"{tag}-{village}-{role}"),
            )
    houses = []
    health = [
        "online = true, connection = 'online', battery_pct = 88, signal_dbm = -71,"
        " offline_deadline = now() + interval '1 hour'",
        "online = false, connection = 'offline', battery_pct = 40,"
        " offline_deadline = now() - interval '1 hour'",
        "online = true, connection = 'online', battery_pct = 12, battery_low = true,"
        " offline_deadline = now() + interval '1 hour'",
    ]
    for i, (resident, situation, room) in enumerate(RESIDENTS):
        village = villages[i % 2]
        lat, lon = JINING[0] + 0.004 * (i % 3) + 0.01 * (i % 2), JINING[1] + 0.006 * (i // 2)
        site = create_site(
            db,
            org_id=village,
            name=f"{resident}家",
            address=f"{'南张村' if i % 2 == 0 else '北李村'}{i + 3}组{i + 11}号",
            phone="0537-1234567",
            resident_name=resident,
            resident_situation=situation,
            key_holder_name="李钥匙",
            key_holder_phone="13900000009",
            latitude=lat,
            longitude=lon,
        )
        device = create_device(
            db,
            device_id=f"NZ-{tag}-{i}",
            site_id=site,
            room=room,
            status="in_service",
            installed_at=datetime.now(UTC) - timedelta(days=30),
        )
        db.execute(
            f"UPDATE device_state SET {health[i % 3]}, last_seen = now() - interval '5 minutes'"
            " WHERE device_id = %s",
            (device,),
        )
        contacts = {}
        for role, name in (
            ("resident", resident),
            ("family", f"{resident[0]}小明"),
            ("neighbour", "赵邻居"),
            ("key_holder", "李钥匙"),
        ):
            contacts[role] = create_contact(
                db,
                site_id=site,
                name=name,
                role=role,
                phone="13800000000",
                channels=channel(f"{tag}-{site}-{role}"),
            )
        houses.append(Household(site, device, village, contacts))
    # What the alerting watchdog does every minute: the per-village counts the board shows.
    db.execute("SELECT sw_refresh_village_health()")
    return Programme(sub, villages, houses)


def operator_for(api: ApiWorld, db: psycopg.Connection[Any], org_id: int) -> ApiUser:
    """An operator scoped to ``org_id``."""
    return api.create_user("operator", org=org_of(db, org_id), name="值班员 张丽")


def wait_for(check: Any, *, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(interval)


def solid_png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    """A plain square PNG (a map tile stand-in drawn by our own tile server)."""
    row = b"\x00" + bytes(rgb) * size
    raw = zlib.compress(row * size)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@contextmanager
def tile_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback XYZ tile server: yields (URL template, paths requested so far)."""
    requested: list[str] = []
    tile = solid_png((214, 226, 206))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requested.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(tile)))
            self.end_headers()
            self.wfile.write(tile)

        def log_message(self, *args: object) -> None:
            pass

    server = LoopbackHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{{z}}/{{x}}/{{y}}.png", requested
    finally:
        server.shutdown()
        server.server_close()
