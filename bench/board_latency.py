"""Board latency: a fire alarm published on MQTT -> its row visible on the monitoring-centre board.

Runs everything for real on loopback: private PostgreSQL and Mosquitto, ingest and alerting (in
this process, threads), the API under uvicorn, and the board in Debian's headless chromium
(Playwright through its executable path). Each alarm goes to a different household, one at a
time; the browser notes ``Date.now()`` the moment the row enters the page (a MutationObserver),
compared with ``time.time()`` just before the publish (same machine clock). Bounded: --alarms
alarms, 15 s each at most.

    python -m bench.board_latency --alarms 30
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg
from playwright.sync_api import sync_playwright
from psycopg.rows import dict_row

from api.security import Passwords
from api.users.service import insert_user
from bench.servers import private_servers
from core.migrate import migrate
from tests.support import Publisher, ingest_settings, running_ingest, unique_prefix
from tests.support.alerting import alerting_settings, receiver, running_alerting
from tests.support.api import TEST_ACK_SECRET, make_api_settings, running_api
from tests.support.pages import DESKTOP, seed_programme

RESULTS = Path(__file__).parent / "results"
WATCH = """() => {
  window.__seen = {};
  new MutationObserver(() => {
    for (const row of document.querySelectorAll("tr.incident[data-device-id]")) {
      window.__seen[row.dataset.deviceId] ??= Date.now();
    }
  }).observe(document.getElementById("incident-rows"), { childList: true });
}"""


def measure(alarms: int) -> dict[str, Any]:
    chromium = shutil.which("chromium")
    if not chromium:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    prefix = unique_prefix()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sw-board-")))
        database_url, mqtt_url = stack.enter_context(private_servers(workdir, durable=False))
        migrate(database_url)
        rx = stack.enter_context(receiver())
        settings = make_api_settings(database_url, mqtt_url)
        with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as db:
            houses = []
            while len(houses) < alarms:
                houses += seed_programme(db, lambda name: [rx.url(f"ok/{name}")]).houses
            insert_user(
                db, username="bench", name="bench", role="administrator",
                password="bench password", passwords=Passwords.from_settings(settings),
            )  # fmt: skip
        base = stack.enter_context(running_api(settings))
        stack.enter_context(running_ingest(ingest_settings(database_url, mqtt_url, prefix)))
        stack.enter_context(
            running_alerting(alerting_settings(database_url, ack_secret=TEST_ACK_SECRET))
        )
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
        )
        stack.callback(browser.close)
        page = browser.new_page(**DESKTOP)
        page.goto(f"{base}/ui/login?next=/ui/board")
        page.fill("#username", "bench")
        page.fill("#password", "bench password")
        page.click("#login button[type=submit]")
        page.wait_for_selector("#live-state[data-state='open']")
        page.evaluate(WATCH)
        pub = stack.enter_context(Publisher(mqtt_url))
        latencies = []
        for house in houses[:alarms]:
            sent = time.time()
            pub.publish(f"{prefix}/{house.device_id}/event", b'{"type": "alarm", "seq": 1}')
            page.wait_for_function(
                "id => window.__seen[id] !== undefined", arg=house.device_id, timeout=15_000
            )
            seen = page.evaluate("id => window.__seen[id]", house.device_id)
            latencies.append(seen / 1000 - sent)
            time.sleep(0.2)
        page.context.close()  # ends the live stream, so uvicorn stops at once
    ms = sorted(x * 1000 for x in latencies)
    return {
        "alarms": alarms,
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(ms[max(0, int(len(ms) * 0.95) - 1)], 1),
        "max_ms": round(ms[-1], 1),
        "mean_ms": round(statistics.fmean(ms), 1),
        "households_seeded": len(houses),
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=30)
    args = parser.parse_args()
    result = measure(max(1, min(args.alarms, 500)))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "board_latency.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
