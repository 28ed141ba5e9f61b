"""The faults, and the rig that runs one scenario and measures it (short and long form)."""

from __future__ import annotations

import pwd
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import orjson
import psycopg
from psycopg import sql

from bench.reliability.harness import (
    FIRES,
    WAVE1,
    Load,
    Result,
    Servers,
    Service,
    leaks,
    scalar,
    seed,
    service_env,
    wait_for,
)
from bench.reliability.proxy import FaultProxy
from bench.reliability.receiver import Receiver

# Services give up a statement after this long, so a lock shows up as an error and a retry.
STATEMENT_TIMEOUT_MS = 2000


def through(url: str, port: int, options: str | None = None) -> str:
    """``url`` with its port replaced by the proxy's (and libpq ``options`` added)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit(":", 1)[0]
    query = parts.query
    if options:
        query = (query + "&" if query else "") + "options=" + quote(options, safe="")
    return urlunsplit((parts.scheme, f"{host}:{port}", parts.path, query, ""))


@dataclass
class Rig:
    """Everything one scenario runs: proxies, services, receiver, load."""

    servers: Servers
    devices: int = 50
    rate: float = 500.0
    fires: tuple[str, ...] = FIRES
    receiver: Receiver = field(default_factory=Receiver)
    state: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = self.servers
        self.prefix = f"rel{uuid.uuid4().hex[:8]}/v1"
        self.device_ids = [f"REL-{self.prefix[3:11]}-{n:05d}" for n in range(self.devices)]
        self.receiver.start()
        self.fire_devices = seed(s.database_url, self.receiver, self.device_ids, self.fires)
        self.mqtt_proxy = FaultProxy(s.broker.host, s.broker.port).start()
        self.ingest_db = FaultProxy(s.pg.host, s.pg.port).start()
        self.alerting_db = FaultProxy(s.pg.host, s.pg.port).start()
        options = f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
        mqtt_url = f"mqtt://127.0.0.1:{self.mqtt_proxy.port}"
        client = f"rel-ingest-{uuid.uuid4().hex[:6]}"
        self.ingest = Service(
            "ingest",
            service_env(
                through(s.database_url, self.ingest_db.port, options), mqtt_url, self.prefix, client
            ),
            s.workdir / "ingest.log",
        )
        self.alerting = Service(
            "alerting",
            service_env(
                through(s.database_url, self.alerting_db.port, options),
                mqtt_url,
                self.prefix,
                client,
            ),
            s.workdir / "alerting.log",
        )

    @property
    def url(self) -> str:
        return self.servers.database_url

    def stored(self) -> int:
        return scalar(
            self.url,
            "SELECT count(*) FROM readings WHERE device_id LIKE %s",
            (f"REL-{self.prefix[3:11]}-%",),
        )

    def start(self) -> None:
        self.ingest.start()
        self.alerting.start()
        load = Load("127.0.0.1", self.servers.broker.port, self.prefix, self.device_ids)
        # A message published before ingest subscribed exists nowhere: probe until one lands.
        probe = self.device_ids[-1]
        for n in range(120):
            for service in (self.ingest, self.alerting):
                if service.pid is None:
                    raise RuntimeError(f"{service.command} exited; see {service.log_path}")
            load.publish(f"{self.prefix}/{probe}/event", orjson.dumps({"type": "test", "seq": n}))
            if wait_for(
                lambda: scalar(self.url, "SELECT count(*) FROM events WHERE type = 'test'") > 0, 0.5
            ):
                break
        load.stop()

    def close(self) -> None:
        self.ingest.stop()
        self.alerting.stop()
        for proxy in (self.mqtt_proxy, self.ingest_db, self.alerting_db):
            proxy.close()
        self.receiver.stop()


@dataclass(frozen=True)
class Fault:
    """A named fault: ``begin(rig)`` makes it, ``end(rig)`` repairs it."""

    name: str
    expected: str
    begin: Callable[[Rig], None]
    end: Callable[[Rig], None]
    cleanup: Callable[[Rig], None] = lambda rig: None
    min_hold_s: float = 0.0  # some faults only bite after a while (a statement timeout)


def run(rig: Rig, fault: Fault, *, load_s: float = 8.0, hold_s: float = 3.0) -> Result:
    """Load, fault, a fire alarm during and after it; measure everything in :class:`Result`."""
    result = Result(fault.name)
    hold_s = max(hold_s, fault.min_hold_s)
    try:
        return _run(rig, fault, result, load_s, hold_s)
    finally:
        fault.cleanup(rig)


def _run(rig: Rig, fault: Fault, result: Result, load_s: float, hold_s: float) -> Result:
    rig.start()
    load = Load("127.0.0.1", rig.servers.broker.port, rig.prefix, rig.device_ids)
    limit = int(rig.rate * load_s)
    load.run(rig.rate, limit)
    time.sleep(load_s / 4)
    published_at: dict[str, float] = {}

    def fire(which: str) -> None:
        device = rig.fire_devices[which]
        published_at[which] = time.monotonic()
        load.publish(f"{rig.prefix}/{device}/event", orjson.dumps({"type": "alarm", "seq": 1}))

    fault.begin(rig)
    try:
        time.sleep(hold_s / 2)
        fire("during")
        time.sleep(hold_s / 2)
    finally:
        fault.end(rig)
    ended = time.monotonic()
    fire("after")
    load.stop()
    result.published = load.published
    result.accepted = len(load.accepted)
    target = result.accepted
    took = wait_for(lambda: rig.stored() >= target, timeout=120, interval=0.2)
    result.recovery_s = None if took is None else round(time.monotonic() - ended, 2)
    for which in FIRES:
        people = [f"{which}-{role}" for role in WAVE1]
        wait_for(lambda p=people: all(rig.receiver.delivered(who) for who in p), 90)  # type: ignore[misc]
    time.sleep(1.0)  # room for a late duplicate, if there were one
    rows = psycopg.connect(rig.url, autocommit=True)
    with rows:
        stored_keys = {
            (r[0], int(r[1]))
            for r in rows.execute(
                "SELECT device_id, msg_key FROM readings WHERE device_id LIKE %s",
                (f"REL-{rig.prefix[3:11]}-%",),
            )
        }
        result.dead_letters = int(
            (rows.execute("SELECT count(*) FROM dead_letters").fetchone() or (0,))[0]
        )
    for service in (rig.ingest, rig.alerting):
        text = service.log_path.read_text(errors="replace") if service.log_path.exists() else ""
        result.leaks += [f"{service.command}: {name}" for name in leaks(text)]
        for needle in ("database unavailable", "No space left", "statement timeout"):
            if n := text.count(needle):
                result.notes.append(f"{service.command} log: {n}x {needle!r}")
    result.stored = len(stored_keys)
    result.lost = len(load.accepted - stored_keys)
    for which in FIRES:
        pages = [rig.receiver.delivered(f"{which}-{r}") for r in WAVE1]
        if all(pages):
            result.fires_answered += 1
            first = min(h.at for hits in pages for h in hits)
            result.alert_delay_s[which] = round(first - published_at[which], 2)
        else:
            result.alert_delay_s[which] = None
        result.duplicate_pages += sum(len(hits) - 1 for hits in pages if hits)
    return result


# --- the faults -------------------------------------------------------------------------------


def _hog_connections(rig: Rig) -> None:
    """Take every connection slot, then drop the services' sessions so they must reconnect."""
    admin = rig.servers.pg.admin_url
    hogs: list[psycopg.Connection[Any]] = []

    def fill() -> None:
        for _ in range(400):  # bounded: max_connections is 200 on the private server
            try:
                hogs.append(psycopg.connect(admin, autocommit=True, connect_timeout=3))
            except psycopg.OperationalError:
                return

    fill()
    rig.state["hogs"] = hogs
    hogs[-1].execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid()",
        (urlsplit(rig.url).path.lstrip("/"),),
    )
    time.sleep(0.3)  # the ended sessions free their slots; take them before the services do
    fill()
    rig.state["slots"] = len(hogs)


def _free_connections(rig: Rig) -> None:
    for conn in rig.state.pop("hogs", []):
        conn.close()


def _lock_tables(rig: Rig) -> None:
    conn = psycopg.connect(rig.url)
    conn.execute("LOCK TABLE device_state, events IN EXCLUSIVE MODE")
    rig.state["locker"] = conn


def _unlock_tables(rig: Rig) -> None:
    conn = rig.state.pop("locker")
    conn.rollback()
    conn.close()


def _cut_db(rig: Rig) -> None:
    rig.ingest_db.blackhole()
    rig.alerting_db.blackhole()


def _heal_db(rig: Rig) -> None:
    # Sessions that went silent never come back: reset them, as a router reboot would.
    for proxy in (rig.ingest_db, rig.alerting_db):
        proxy.cut()
        proxy.heal()


def _cut_broker(rig: Rig) -> None:
    rig.mqtt_proxy.blackhole()


def _heal_broker(rig: Rig) -> None:
    rig.mqtt_proxy.cut()
    rig.mqtt_proxy.heal()


def _fill_disk(rig: Rig) -> None:
    """Move readings and events to a 48 MB tmpfs tablespace, then fill the tmpfs."""
    # Next to the server's own folder: PostgreSQL (user postgres) can traverse that path.
    mount = Path(rig.servers.pg.folder).parent / f"small-disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    owner = pwd.getpwnam("postgres")
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size=48m,uid={owner.pw_uid},gid={owner.pw_gid},mode=0700",
         "tmpfs", str(mount)],
        check=True,
    )  # fmt: skip
    rig.state["mount"] = mount
    name = f"small_{uuid.uuid4().hex[:6]}"
    rig.state["tablespace"] = name
    ident = sql.Identifier(name)
    move = sql.SQL("ALTER TABLE {} SET TABLESPACE {}")
    with psycopg.connect(rig.servers.pg.admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE TABLESPACE {} LOCATION {}").format(ident, sql.Literal(str(mount)))
        )
    with psycopg.connect(rig.url, autocommit=True) as conn:
        for table in ("readings", "events"):
            conn.execute(move.format(sql.Identifier(table), ident))
    filler = mount / "filler"
    with open(filler, "wb") as out:
        chunk = b"\0" * (1 << 20)
        for _ in range(64):  # bounded: the tmpfs is 48 MB
            try:
                out.write(chunk)
                out.flush()
            except OSError:
                break
    rig.state["filler"] = filler


def _free_disk(rig: Rig) -> None:
    filler: Path = rig.state.pop("filler")
    filler.unlink()


def _drop_small_disk(rig: Rig) -> None:
    name, mount = rig.state.pop("tablespace", None), rig.state.pop("mount", None)
    if name is not None:
        with psycopg.connect(rig.url, autocommit=True) as conn:
            conn.execute("ALTER TABLE readings SET TABLESPACE pg_default")
            conn.execute("ALTER TABLE events SET TABLESPACE pg_default")
        with psycopg.connect(rig.servers.pg.admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP TABLESPACE {}").format(sql.Identifier(name)))
    if mount is not None:
        subprocess.run(["umount", str(mount)], check=False)
        mount.rmdir()


def _provider(kind: Any) -> tuple[Callable[[Rig], None], Callable[[Rig], None]]:
    return (lambda rig: rig.receiver.set_fault(kind)), (lambda rig: rig.receiver.set_fault(None))


def faults() -> dict[str, Fault]:
    """Every fault by name."""
    lost0 = "0 lost, both fires paged"
    out = [
        Fault("ingest_sigkill", lost0 + "; redeliveries deduplicated",
              lambda r: r.ingest.kill(), lambda r: r.ingest.start()),
        Fault("alerting_sigkill", lost0 + "; at most one repeat per person",
              lambda r: r.alerting.kill(), lambda r: r.alerting.start()),
        Fault("postgres_restart", lost0 + "; ingest holds acks while down",
              lambda r: r.servers.pg.stop("fast"), lambda r: r.servers.pg.start()),
        Fault("postgres_connection_limit", lost0 + "; services reconnect when slots free",
              _hog_connections, _free_connections),
        Fault("statement_timeout_lock", lost0 + "; timed-out writes retried, not dead-lettered",
              _lock_tables, _unlock_tables, min_hold_s=STATEMENT_TIMEOUT_MS / 1000 * 2.5),
        Fault("mosquitto_restart", lost0 + "; persistent session keeps queued QoS 1",
              lambda r: r.servers.broker.stop(), lambda r: r.servers.broker.start()),
        Fault("network_cut_database", lost0 + "; silent drop, services reconnect",
              _cut_db, _heal_db),
        Fault("network_cut_broker", lost0 + "; silent drop, keepalive reconnects",
              _cut_broker, _heal_broker),
        Fault("database_disk_full", lost0 + "; writes held (not acked) until space returns",
              _fill_disk, _free_disk, _drop_small_disk),
    ]  # fmt: skip
    for kind in ("hang", "500", "err", "slow"):
        begin, end = _provider(kind)
        out.append(Fault(f"provider_{kind}", "fallback channel pages everyone; 0 lost", begin, end))
    return {f.name: f for f in out}
