"""Delivery scenarios (issue 14): slow providers and a kill -9 of alerting mid-retry.

``smokewatch alerting`` runs as a real process against private PostgreSQL; events are
written as ingest writes them (``events`` + ``pending_events`` + NOTIFY, one transaction),
so the figures are the alert engine's own: event committed -> a provider received the page.
Providers are real HTTP servers on loopback (``receiver.Receiver``), one port per destination.

- ``slow_provider``: 20 destinations that hang and 20 that answer HTTP 500, three pages each
  (a household's wave 1), every person with a healthy fallback. While they are being worked
  off, other households raise a fire alarm every ``probe_every_s``: their first page's delay
  (p50, p99) is the figure. The healthy provider has answered one page before (as the SMS
  API a whole city uses has); delivery defaults otherwise (5 s timeout, 3 attempts).
- ``kill_mid_retry``: one household whose first channel answers 500 (or hangs), fallback
  healthy; alerting is killed with SIGKILL as soon as the first channel was tried, and
  started again 2 s later. Measured: alarm -> fallback reached for every person, and pages
  per person beyond one (duplicates).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench.reliability.harness import WAVE1, Service, leaks, service_env, wait_for
from bench.reliability.receiver import Receiver
from core.factory import create_contact, create_device, create_organisation, create_site
from core.pg_channels import EVENTS_CHANNEL

PHONE = "13912345678"  # in every contact's URL and echoed by failing providers: log leak check
PROVIDER_KEY = "PROVKEY7f3a9c"
DEFAULTS = {  # production delivery defaults (alerting/settings.py), stated for the record
    "SMOKEWATCH_ALERTING_REQUEST_TIMEOUT_S": "5",
    "SMOKEWATCH_ALERTING_ATTEMPTS_PER_CHANNEL": "3",
    "SMOKEWATCH_ALERTING_BACKOFF_S": "0.5",
    "SMOKEWATCH_ALERTING_LEASE_S": "10",
}


@dataclass
class Household:
    """A seeded household: its detector and the people of wave 1 (receiver path names)."""

    device: str
    people: list[str]


@dataclass
class World:
    """A database with an organisation tree to hang households on."""

    url: str
    sub_district: int = 0
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])

    def __post_init__(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            self.sub_district = create_organisation(
                conn, level="sub_district", code=f"d-sub-{self.tag}", name="南张街道"
            )

    def household(self, name: str, channels: list[tuple[Receiver, str]]) -> Household:
        """A household whose wave-1 people have these channels (receiver, path kind) in order."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            # A village each: the grid worker (a village contact) is paged for every household
            # of the village, and each household must have its own.
            village = create_organisation(
                conn,
                level="village",
                code=f"d-v-{self.tag}-{name}",
                name="南张村",
                parent_id=self.sub_district,
            )
            site = create_site(
                conn,
                org_id=village,
                name=f"王秀英家 {name}",
                address="南张村三组8号",
                phone=PHONE,
                resident_name="王秀英",
            )
            device = create_device(
                conn, device_id=f"DEL-{self.tag}-{name}", site_id=site, room="厨房"
            )
            people = []
            for role in WAVE1:
                who = f"{name}-{role}"
                urls = [rx.url(f"{kind}/{PHONE}/{who}", key=PROVIDER_KEY) for rx, kind in channels]
                create_contact(
                    conn,
                    site_id=site if role != "grid_worker" else None,
                    org_id=village if role == "grid_worker" else None,
                    name="联系人",
                    role=role,
                    phone=PHONE,
                    channels=urls,
                )
                people.append(who)
        return Household(device, people)

    def alarm(self, device: str) -> float:
        """Write a fire alarm as ingest does; the monotonic time it was committed."""
        now = datetime.now(UTC)
        with psycopg.connect(self.url, autocommit=True) as conn, conn.transaction():
            event = _one(
                conn,
                "INSERT INTO events (device_id, ts, received_at, msg_key, type, priority,"
                " site_id, source) SELECT %s, %s, %s, 1, 'alarm', 1, d.site_id, 'bench'"
                " FROM devices d WHERE d.id = %s RETURNING id",
                (device, now, now, device),
            )
            conn.execute(
                "INSERT INTO pending_events (event_id, event_ts, device_id, type, priority)"
                " VALUES (%s, %s, %s, 'alarm', 1)",
                (event, now, device),
            )
            conn.execute("SELECT pg_notify(%s, %s)", (EVENTS_CHANNEL, str(event)))
        return time.monotonic()


def _one(conn: psycopg.Connection[Any], query: str, params: Any) -> int:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def _alerting(url: str, workdir: Path, **extra: str) -> Service:
    env = service_env(url, "mqtt://127.0.0.1:1", "unused/v1", "unused", **(DEFAULTS | extra))
    return Service("alerting", env, workdir / "alerting.log")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def _first_ok(receivers: list[Receiver], who: str) -> float | None:
    hits = [h.at for rx in receivers for h in rx.delivered(who)]
    return min(hits) if hits else None


def _pages(receivers: list[Receiver], who: str) -> int:
    return sum(len(rx.delivered(who)) for rx in receivers)


def slow_provider(
    url: str,
    workdir: Path,
    *,
    hanging: int = 20,
    failing: int = 20,
    probes: int = 40,
    probe_every_s: float = 0.25,
) -> dict[str, Any]:
    """Hanging and failing providers; other households' first page delay."""
    healthy = Receiver().start()
    bad: list[Receiver] = []
    for n in range(hanging + failing):
        rx = Receiver().start()
        rx.set_fault("hang" if n < hanging else "500")
        bad.append(rx)
    world = World(url)
    warm = world.household("warm", [(healthy, "ok")])
    stormy = [
        world.household(f"bad{n}", [(rx, "flaky"), (healthy, "ok")]) for n, rx in enumerate(bad)
    ]
    calm = [world.household(f"probe{n}", [(healthy, "ok")]) for n in range(probes)]
    service = _alerting(url, workdir)
    service.start()
    try:
        time.sleep(2.0)  # the process connects and LISTENs
        world.alarm(warm.device)
        wait_for(lambda: all(healthy.delivered(w) for w in warm.people), 30)
        storm_raised = {h.device: world.alarm(h.device) for h in stormy}
        raised: dict[str, float] = {}
        for house in calm:
            raised[house.device] = world.alarm(house.device)
            time.sleep(probe_every_s)
        wait_for(lambda: all(_first_ok([healthy], w) for h in calm for w in h.people), 60)
        wait_for(lambda: all(_first_ok([healthy], w) for h in stormy for w in h.people), 120)
        time.sleep(1.0)  # room for a late duplicate
    finally:
        for rx in bad:
            rx.set_fault(None)  # let hanging handlers finish
        service.stop()
        for rx in [healthy, *bad]:
            rx.stop()
    first_page = []
    for house in calm:
        firsts = [t for t in (_first_ok([healthy], w) for w in house.people) if t is not None]
        if firsts:
            first_page.append(min(firsts) - raised[house.device])
    fallbacks: dict[str, list[float]] = {"hang": [], "500": []}
    for n, house in enumerate(stormy):
        for who in house.people:
            at = _first_ok([healthy], who)
            if at is not None:
                fallbacks["hang" if n < hanging else "500"].append(at - storm_raised[house.device])
    everyone = [w for h in [*stormy, *calm] for w in h.people]
    planned = _planning_delays(url, [h.device for h in calm])
    text = service.log_path.read_text(errors="replace") if service.log_path.exists() else ""
    return {
        "scenario": "slow_provider",
        "hanging_destinations": hanging,
        "failing_destinations": failing,
        "pages_to_bad_destinations": 3 * len(stormy),
        "probe_households": len(calm),
        "probes_paged": len(first_page),
        "probe_first_page_s": {
            "p50": _pct(first_page, 0.5) if first_page else None,
            "p99": _pct(first_page, 0.99) if first_page else None,
            "max": round(max(first_page), 3) if first_page else None,
        },
        # In the order raised (every probe_every_s from the storm's start): where a slow one
        # spent its time, planning (event -> outbox rows) or sending.
        "probe_first_page_each_s": [
            round(min(t for w in h.people if (t := _first_ok([healthy], w))) - raised[h.device], 3)
            for h in calm
            if any(_first_ok([healthy], w) for w in h.people)
        ],
        "probe_planned_each_s": planned,
        "fallback_after_storm_s": {
            kind: {"n": len(v), "p50": _pct(v, 0.5), "max": round(max(v), 3)} if v else None
            for kind, v in fallbacks.items()
        },
        "unpaged_people": sum(1 for w in everyone if _first_ok([healthy], w) is None),
        "duplicate_pages": sum(max(0, _pages([healthy], w) - 1) for w in everyone),
        "leaks": leaks(text) + (["phone number"] if PHONE in text else []),
    }


def kill_mid_retry(
    url: str, workdir: Path, *, fault: str = "500", restart_after_s: float = 2.0
) -> dict[str, Any]:
    """Kill alerting while the first channel is being retried; time to the fallback."""
    flaky, healthy = Receiver().start(), Receiver().start()
    flaky.set_fault(fault)  # type: ignore[arg-type]
    world = World(url)
    house = world.household("k", [(flaky, "flaky"), (healthy, "ok")])
    # The reliability rig's delivery settings (1 s timeout, 2 attempts, 0.1 s backoff: the
    # fallback in 1.7 s without a kill), with the new default lease of 10 s.
    service = _alerting(
        url,
        workdir,
        SMOKEWATCH_ALERTING_REQUEST_TIMEOUT_S="1",
        SMOKEWATCH_ALERTING_ATTEMPTS_PER_CHANNEL="2",
        SMOKEWATCH_ALERTING_BACKOFF_S="0.1",
    )
    service.start()
    try:
        time.sleep(2.0)
        raised = world.alarm(house.device)
        if fault == "hang":
            # A hanging request is recorded only when it ends: wait until a page is claimed
            # for the first channel, and a moment for its request to leave.
            wait_for(lambda: _claimed(url, house), 30, interval=0.005)
            time.sleep(0.2)
        else:
            wait_for(lambda: len(flaky.hits) > 0, 30, interval=0.005)
        killed = time.monotonic()
        service.kill()
        time.sleep(restart_after_s)
        service.start()
        wait_for(lambda: all(_first_ok([healthy], w) for w in house.people), 90)
        time.sleep(2.0)  # room for a late duplicate
    finally:
        flaky.set_fault(None)
        service.stop()
        flaky.stop()
        healthy.stop()
    reached = [_first_ok([healthy], w) for w in house.people]
    text = service.log_path.read_text(errors="replace") if service.log_path.exists() else ""
    return {
        "scenario": f"kill_mid_retry_{fault}",
        "killed_s_after_alarm": round(killed - raised, 3),
        "fallback_s_after_alarm": [None if t is None else round(t - raised, 2) for t in reached],
        "first_channel_requests": len(flaky.hits),
        "pages_per_person": [_pages([healthy], w) for w in house.people],
        "duplicates": sum(max(0, _pages([healthy], w) - 1) for w in house.people),
        "leaks": leaks(text) + (["phone number"] if PHONE in text else []),
    }


def _planning_delays(url: str, devices: list[str]) -> list[float | None]:
    """Per device: event stored -> its first outbox row written (the alert engine's planning)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = dict(
            conn.execute(
                "SELECT i.device_id, extract(epoch FROM min(n.created_at) - min(e.received_at))"
                " FROM incidents i JOIN events e ON e.device_id = i.device_id"
                " JOIN notifications n ON n.incident_id = i.id"
                " WHERE i.device_id = ANY(%s) GROUP BY i.device_id",
                (devices,),
            ).fetchall()
        )
    return [None if rows.get(d) is None else round(float(rows[d]), 3) for d in devices]


def _claimed(url: str, house: Household) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM notifications n JOIN incidents i ON i.id = n.incident_id"
            " WHERE n.status = 'sending' AND i.device_id = %s",
            (house.device,),
        ).fetchone()
    return bool(row and row[0])
