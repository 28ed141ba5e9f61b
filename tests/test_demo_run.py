"""``smokewatch demo`` end to end: private servers, seed, services, the short storyline, Ctrl-C.

Runs the real command in a subprocess with nothing configured (so it starts its own PostgreSQL
and Mosquitto in a temporary folder), waits for the scripted kitchen fire to be paged in two
waves, acknowledged by the village cadre and resolved, then sends SIGINT and checks that every
process the demo started is gone.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

pytestmark = pytest.mark.slow

FIRE_DEVICE = "NZ-H0001"


def descendants(root: int) -> set[int]:
    """Live (non-zombie) processes below ``root``, from /proc."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            parent[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(what: str, check: Callable[[], Any], *, limit: float = 60.0) -> Any:
    """Poll ``check`` until it returns something truthy (bounded; not a timing assertion)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"gave up waiting for {what}")


class Output:
    """Collects the demo's output lines in a thread so the pipe never fills."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert proc.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(proc.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def find(self, pattern: str) -> str | None:
        for line in list(self.lines):
            match = re.search(pattern, line)
            if match:
                return match.group(1)
        return None


def start_demo(folder: Path, *args: str) -> tuple[subprocess.Popen[str], Output]:
    """``smokewatch demo`` with nothing configured, data in ``folder``/demo."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMOKEWATCH_")}
    env |= {"SMOKEWATCH_DEMO_DIR": str(folder / "demo"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "smokewatch", "demo", "--inbox-port", "0", *args],
        cwd=folder,  # no developer's .env
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a terminal of its own, so Ctrl-C can go to the whole group
    )
    return proc, Output(proc)


def ctrl_c(proc: subprocess.Popen[str]) -> int:
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    return proc.wait(timeout=90)


def test_demo_pages_the_fire_in_two_waves_and_stops_cleanly(tmp_path: Path) -> None:
    proc, out = start_demo(tmp_path, "--story", "short")
    started: set[int] = set()
    try:
        inbox = wait_for("the banner", lambda: out.find(r"demo inbox\s+(http://\S+)"))
        db_url = out.find(r"database\s+(postgresql://\S+)")
        assert db_url
        started = descendants(proc.pid)
        assert len(started) >= 5  # servers, their guards, services

        def fire_resolved() -> dict[str, Any] | None:
            with psycopg.connect(db_url, row_factory=dict_row) as conn:
                row = conn.execute(
                    "SELECT * FROM incidents WHERE device_id = %s AND kind = 'fire'",
                    (FIRE_DEVICE,),
                ).fetchone()
            return row if row and row["status"] == "resolved" else None

        incident = wait_for("the fire to be resolved", fire_resolved)
        assert incident["outcome"] == "real_fire"
        assert incident["acknowledged_by"].endswith("(link)")
        with psycopg.connect(db_url, row_factory=dict_row) as conn:
            events = conn.execute(
                "SELECT type FROM events WHERE device_id = %s", (FIRE_DEVICE,)
            ).fetchall()
            pages = conn.execute(
                "SELECT n.wave, n.status, c.role, c.phone FROM notifications n"
                " JOIN contacts c ON c.id = n.contact_id WHERE n.incident_id = %s",
                (incident["id"],),
            ).fetchall()
            acker = conn.execute(
                "SELECT role FROM contacts WHERE id = %s", (incident["ack_contact_id"],)
            ).fetchone()
        assert "alarm" in {e["type"] for e in events}
        assert acker is not None and acker["role"] == "village_cadre"
        delivered = {(p["wave"], p["phone"]) for p in pages if p["status"] == "delivered"}
        assert {w for w, _ in delivered} >= {1, 2}
        # What was delivered reached the inbox, shown per phone, with a working link.
        messages = httpx.get(f"{inbox}api/messages", timeout=10).json()
        fire_phones = {m["phone"] for m in messages if "烟感" in m["title"] + m["body"]}
        assert {phone for _, phone in delivered} <= fire_phones
        link = next(m["ack_url"] for m in messages if m["ack_url"] and m["phone"] in fire_phones)
        page = httpx.get(link, timeout=10)
        assert page.status_code == 200 and "已结案" in page.text and "真实火情" in page.text
        assert httpx.get(inbox, timeout=10).status_code == 200

        # A person clicks through: the detector taken down (same-day call) is acknowledged,
        # then resolved, from its link in the inbox.
        def tamper_link() -> str | None:
            found = httpx.get(f"{inbox}api/messages", timeout=10).json()
            return next(
                (m["ack_url"] for m in found if "被拆" in m["title"] and m["ack_url"]), None
            )

        link = wait_for("the tamper page in the inbox", tamper_link)
        acked = httpx.post(link, data={"action": "ack"}, params={"lang": "en"}, timeout=10)
        assert acked.status_code == 200 and "acknowledged" in acked.text
        resolved = httpx.post(
            link,
            data={"action": "resolve", "outcome": "device_fault", "note": "re-mounted"},
            timeout=10,
        )
        assert resolved.status_code == 200 and "已结案" in resolved.text
        with psycopg.connect(db_url, row_factory=dict_row) as conn:
            tamper = conn.execute(
                "SELECT status, outcome, acknowledged_by FROM incidents WHERE kind = 'tamper'"
            ).fetchone()
        assert tamper is not None
        assert (tamper["status"], tamper["outcome"]) == ("resolved", "device_fault")
        forged = httpx.get(link[:-3] + "abc", timeout=10)
        assert forged.status_code == 400
    finally:
        code = ctrl_c(proc)
    assert code == 0, "\n".join(out.lines[-30:])
    assert [pid for pid in started if alive(pid)] == []
    assert any("stopped; data kept" in line for line in out.lines)
    # Services stop before the broker and the database they use.
    ingest_log = (tmp_path / "demo" / "logs" / "ingest.log").read_text()
    assert "ingest stopped" in ingest_log and "lost the broker" not in ingest_log


def test_demo_keeps_its_data_across_restarts_and_reset_starts_over(tmp_path: Path) -> None:
    marker = "INSERT INTO organisations (level, code, name) VALUES ('grid', 'test-marker', 'x')"
    count = "SELECT count(*) AS n FROM organisations WHERE code = 'test-marker'"
    found = []
    for run, args in enumerate([(), (), ("--reset",)]):
        proc, out = start_demo(tmp_path, "--story", "off", *args)
        try:
            wait_for("the banner", lambda out=out: out.find(r"demo inbox\s+(http://\S+)"))
            db_url = out.find(r"database\s+(postgresql://\S+)")
            assert db_url
            with psycopg.connect(db_url, row_factory=dict_row, autocommit=True) as conn:
                if run == 0:
                    conn.execute(marker)
                row = conn.execute(count).fetchone()
                sites = conn.execute("SELECT count(*) AS n FROM sites").fetchone()
            assert row is not None and sites is not None
            found.append((row["n"], sites["n"]))
        finally:
            assert ctrl_c(proc) == 0, "\n".join(out.lines[-30:])
    assert found == [(1, 414), (1, 414), (0, 414)]
