"""Reach latency with the provider emulators (issue 18).

One process runs the API (uvicorn, thread) and the alerting worker (thread) on a private
PostgreSQL, plus the Aliyun voice and SMS emulators, which the real plugins call and which push
their callbacks to the API. Alarms go one at a time, each in its own household with one wave-1
contact:

- **alarm -> phone rings**: the event committed (as ingest commits it) -> the emulator receives
  the signed ``IvrCall`` request (the call is placed);
- **keypress -> acknowledged**: the emulator pushes ``VoiceCallReport`` with ``dtmf`` 1 -> the
  API answered it, the incident acknowledged and committed (the push returns after the commit);
- **reply -> acknowledged**: the emulator pushes ``SmsUp`` "1" -> the same.

    .venv/bin/python -m bench.reach_latency --alarms 100

Bounded: each wait is at most 10 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import uvicorn

from alerting.service import AlertingService
from alerting.settings import AlertingSettings
from api.app import create_app
from api.settings import ApiSettings
from bench.servers import private_servers
from core.factory import create_contact, create_device, create_organisation, create_site
from core.migrate import migrate
from core.pg_channels import EVENTS_CHANNEL
from devtools.localservers import free_port
from devtools.localservers.providers import Message, ProviderEmulator

SECRET = "bench-secret-" + "x" * 32
TOKEN = "bench-callback-token-" + "y" * 20
KEY_ID, KEY_SECRET = "bench-id", "bench-key-secret"


@contextmanager
def running_api(settings: ApiSettings) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None,
                            access_log=False)  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def seed(conn: psycopg.Connection, tag: str, number: str, channel: str) -> str:
    org = create_organisation(conn, level="village", code=f"bench-{tag}", name="bench")
    site = create_site(conn, org_id=org, name=tag, address=f"南张村{tag}号", resident_name="测试")
    device = create_device(conn, device_id=f"BENCH-{tag}", site_id=site, room="厨房")
    create_contact(
        conn, site_id=site, name="住户", role="resident", phone=number, channels=[channel]
    )
    return device


def raise_alarm(conn: psycopg.Connection, device: str, seq: int) -> tuple[float, int]:
    """Commit an alarm as ingest does; (when it was committed, the event id)."""
    now = datetime.now(UTC)
    with conn.transaction():
        event_id = conn.execute(
            "INSERT INTO events (device_id, ts, received_at, msg_key, type, priority, site_id,"
            " source) SELECT %s, %s, %s, %s, 'alarm', 1, d.site_id, 'bench' FROM devices d"
            " WHERE d.id = %s RETURNING id",
            (device, now, now, seq, device),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO pending_events (event_id, event_ts, device_id, type, priority)"
            " VALUES (%s, %s, %s, 'alarm', 1)",
            (event_id, now, device),
        )
        conn.execute("SELECT pg_notify(%s, %s)", (EVENTS_CHANNEL, str(event_id)))
    return time.time(), event_id


def arrival(emu: ProviderEmulator, number: str, timeout: float = 10.0) -> Message:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in list(emu.inbox):
            if message.number == number:
                return message
        time.sleep(0.0005)
    raise TimeoutError(f"nothing reached {number}")


def acknowledged(conn: psycopg.Connection, device: str) -> bool:
    row = conn.execute(
        "SELECT field_acknowledged_at FROM incidents WHERE device_id = %s", (device,)
    ).fetchone()
    return bool(row and row[0])


def recorded(conn: psycopg.Connection, device: str, timeout: float = 10.0) -> None:
    """Wait until the page to ``device``'s household stands delivered (attempt recorded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(
            "SELECT 1 FROM notifications n JOIN incidents i ON i.id = n.incident_id"
            " WHERE i.device_id = %s AND n.status = 'delivered'",
            (device,),
        ).fetchone()
        if row:
            return
        time.sleep(0.001)
    raise TimeoutError(f"the page for {device} was not recorded")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(
        f"{name:28s} n={len(ms):4d}  p50 {percentile(ms, 0.5):7.1f} ms  "
        f"p99 {percentile(ms, 0.99):7.1f} ms  max {max(ms):7.1f} ms  "
        f"mean {statistics.fmean(ms):7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=100)
    parser.add_argument(
        "--press",
        choices=("recorded", "at-once"),
        default="recorded",
        help="press 1 once our side has recorded the call (a person listens first), or the "
        "moment the call is placed (the receipt overtakes our bookkeeping and is retried)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, private_servers(Path(work)) as (url, mqtt_url):
        migrate(url)
        api_settings = ApiSettings(
            environment="test", database_url=url, mqtt_url=mqtt_url, api_secret=SECRET,
            ack_secret=SECRET, callback_token=TOKEN, api_pool_max=8, log_level="WARNING",
        )  # fmt: skip
        alert_settings = AlertingSettings(
            environment="test", database_url=url, ack_secret=SECRET,
            ack_base_url="https://sw.example/a/", alerting_wave2_after_s=3600.0,
            alerting_wave3_after_s=7200.0, alerting_metrics_port=0, alerting_digest_at=None,
            alerting_watch_interval_s=3600.0, alerting_worker_name=f"bench-{uuid.uuid4().hex[:6]}",
            log_level="WARNING",
        )  # fmt: skip
        service = AlertingService(alert_settings)
        worker = threading.Thread(target=service.run, daemon=True)
        with (
            running_api(api_settings) as api,
            ProviderEmulator("aliyun_voice", key_id=KEY_ID, secret=KEY_SECRET, callbacks=api,
                             token=TOKEN) as voice,
            ProviderEmulator("aliyun_sms", key_id=KEY_ID, secret=KEY_SECRET, callbacks=api,
                             token=TOKEN) as sms,
            psycopg.connect(url, autocommit=True) as conn,
        ):  # fmt: skip
            worker.start()
            rings: list[float] = []
            presses: list[float] = []
            replies: list[float] = []
            try:
                for n in range(args.alarms):
                    number = f"1380{n:07d}"
                    channel = (
                        f"alivoice://{KEY_ID}:{KEY_SECRET}@TTS_1/{number}?endpoint={voice.url}"
                    )
                    device = seed(conn, f"v{n}", number, channel)
                    committed, _ = raise_alarm(conn, device, 2 * n)
                    call = arrival(voice, number)
                    rings.append(call.at.timestamp() - committed)
                    if args.press == "recorded":
                        recorded(conn, device)
                    started = time.perf_counter()
                    assert voice.press(call, "1") == 200
                    presses.append(time.perf_counter() - started)
                    assert acknowledged(conn, device)

                    number = f"1390{n:07d}"
                    channel = f"aliyunsms://{KEY_ID}:{KEY_SECRET}@SMS_1/{number}?endpoint={sms.url}"
                    device = seed(conn, f"s{n}", number, channel)
                    raise_alarm(conn, device, 2 * n + 1)
                    text = arrival(sms, number)
                    recorded(conn, device)
                    assert "回复1确认" in text.text
                    started = time.perf_counter()
                    assert sms.reply(number, "1") == 200
                    replies.append(time.perf_counter() - started)
                    assert acknowledged(conn, device)
            finally:
                service.stop()
                worker.join(timeout=30)
        print(f"reach latency, {args.alarms} voice and {args.alarms} SMS alarms, "
              f"press {args.press}, {os.cpu_count()} cores")  # fmt: skip
        report("alarm -> phone rings", rings)
        report("keypress -> acknowledged", presses)
        report("reply -> acknowledged", replies)


if __name__ == "__main__":
    main()
