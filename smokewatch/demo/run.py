"""``smokewatch demo``: servers, schema, seed, services, storyline, until Ctrl-C.

Everything lives in one folder (``.smokewatch/demo``): PostgreSQL's data, the broker's
persistence, the inbox, the logs. A restart carries on with the same data; ``--reset`` deletes
the folder first. Services are the ``smokewatch`` commands this build has; adding one is one
line in :func:`services`.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.db import connect, wait_for_database
from core.migrate import migrate
from devtools.localservers import free_port
from devtools.localservers.process import port_accepts
from smokewatch.demo.logins import demo_logins
from smokewatch.demo.seed import seed
from smokewatch.demo.servers import Endpoints, start_servers
from smokewatch.demo.settings import DemoSettings
from smokewatch.demo.story import PACES
from smokewatch.demo.supervisor import Service, Supervisor, python_module, smokewatch_command

log = logging.getLogger(__name__)
API_PORT = 8000
# Escalation waits for people watching ("full") and for tests ("short"), in seconds.
WAVE_WAITS = {"full": ("45", "180"), "short": ("5", "120"), "off": ("45", "180")}


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What the command line chose."""

    reset: bool = False
    story: str = "full"
    inbox_port: int | None = None


class Progress:
    """One line per preparation step, with its duration."""

    def __init__(self, echo: Callable[[str], None], total: int) -> None:
        self.echo, self.total, self.n = echo, total, 0

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        self.n += 1
        started = time.monotonic()
        self.echo(f"[{self.n}/{self.total}] {text} …")
        yield
        self.echo(f"      done in {time.monotonic() - started:.1f}s")


def services(available: set[str], env: dict[str, str]) -> list[Service]:
    """The demo's processes in start order; a ``smokewatch`` command this build lacks is skipped.

    One line per service: (name, the smokewatch command it needs or None, its command line).
    """
    wanted: list[tuple[str, str | None, tuple[str, ...]]] = [
        ("inbox", None, python_module("smokewatch.demo.inbox")),
        ("ingest", "ingest", smokewatch_command("ingest")),
        ("alerting", "alerting", smokewatch_command("alerting")),
        ("api", "api", smokewatch_command("api")),
        ("life", None, python_module("smokewatch.demo.life")),
    ]
    return [
        Service(name, argv, env)
        for name, needs, argv in wanted
        if needs is None or needs in available
    ]


def run_demo(options: DemoOptions, available: set[str], echo: Callable[[str], None]) -> int:
    """Prepare everything, supervise the services until SIGINT or SIGTERM, stop cleanly."""
    settings = DemoSettings()
    folder = settings.demo_dir.resolve()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if options.reset and folder.exists():
        echo(f"--reset: deleting {folder}")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    progress = Progress(echo, 4)
    with ExitStack() as stack:
        with progress.step("starting PostgreSQL and the MQTT broker"):
            ends = start_servers(
                folder,
                stack,
                database_url=settings.database_url if settings.database_configured() else None,
                mqtt_url=settings.mqtt_url if settings.mqtt_configured() else None,
            )
        with progress.step("migrating the database"):
            wait_for_database(ends.database_url)
            migrate(ends.database_url)
        inbox_port = _inbox_port(options.inbox_port, settings.demo_inbox_port)
        with progress.step("seeding 283 households and 131 venues"):
            with connect(ends.database_url) as conn:
                report = seed(conn, inbox_port=inbox_port)
            echo(f"      {report.households} households, {report.venues} venues, "
                 f"{report.devices} detectors")  # fmt: skip
        api_port = API_PORT if not port_accepts(API_PORT) else free_port()
        env = _child_env(
            settings,
            ends=ends,
            folder=folder,
            inbox_port=inbox_port,
            story=options.story,
            available=available,
            api_port=api_port,
        )
        logins = demo_logins(folder, env) if "add-user" in available else []
        supervisor = Supervisor(folder / "logs", env)
        with progress.step("starting services"):
            for service in services(available, env):
                supervisor.start(service)
        stack.callback(supervisor.stop_all)  # runs before the servers stop
        _banner(
            echo, ends=ends, inbox_port=inbox_port, names=list(supervisor.names()),
            folder=folder, available=available, story=options.story, logins=logins,
            api_port=api_port,
        )  # fmt: skip
        while not stop.wait(0.5):  # until Ctrl-C or SIGTERM
            supervisor.poll(on_event=echo)
        echo("stopping services …")
    echo("stopped; data kept in " + str(folder) + " (use --reset to start over)")
    return 0


def _inbox_port(chosen: int | None, configured: int) -> int:
    port = configured if chosen is None else chosen
    if port == 0 or port_accepts(port):
        return free_port()  # busy (another demo?) or "any": take a free one
    return port


def _secret(settings: DemoSettings, folder: Path) -> str:
    if "ack_secret" in settings.model_fields_set:
        return settings.ack_secret.get_secret_value()
    path = folder / "ack-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _child_env(
    settings: DemoSettings, *, ends: Endpoints, folder: Path, inbox_port: int, story: str,
    available: set[str], api_port: int,
) -> dict[str, str]:  # fmt: skip
    import os

    wave2, wave3 = WAVE_WAITS[story]
    secret = _secret(settings, folder)
    inherited = {k: v for k, v in os.environ.items() if k != "SMOKEWATCH_DEMO_DETACHED"}
    # The story packs a day into minutes: quiet hours (21:00-07:30 by default) would hold its
    # tamper call and maintenance notices until morning whenever the demo runs in the evening.
    # Set them in the environment to watch that behaviour instead.
    story_hours = {
        "SMOKEWATCH_ALERTING_QUIET_START": "00:00",
        "SMOKEWATCH_ALERTING_QUIET_END": "00:00",
    }
    return story_hours | inherited | {
        "SMOKEWATCH_ENVIRONMENT": "development",
        "SMOKEWATCH_DATABASE_URL": ends.database_url,
        "SMOKEWATCH_MQTT_URL": ends.mqtt_url,
        "SMOKEWATCH_ACK_SECRET": secret,
        "SMOKEWATCH_ACK_BASE_URL": f"http://127.0.0.1:{inbox_port}/a/",
        "SMOKEWATCH_ALERTING_WAVE2_AFTER_S": wave2,
        "SMOKEWATCH_ALERTING_WAVE3_AFTER_S": wave3,
        "SMOKEWATCH_ALERTING_METRICS_PORT": "0",
        "SMOKEWATCH_ALERTING_DIGEST_AT": "",
        "SMOKEWATCH_INGEST_METRICS_PORT": "0",
        "SMOKEWATCH_API_PORT": str(api_port),
        "SMOKEWATCH_API_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
        "SMOKEWATCH_API_SECRET": secret,
        # The emulated SMS and voice providers (in the inbox) call back the API with this.
        "SMOKEWATCH_CALLBACK_TOKEN": hashlib.sha256(f"callbacks:{secret}".encode()).hexdigest(),
        "SMOKEWATCH_DEMO_API_URL": f"http://127.0.0.1:{api_port}",
        "SMOKEWATCH_INGEST_CLIENT_ID": f"smokewatch-demo-ingest-{inbox_port}",
        "SMOKEWATCH_DEMO_DIR": str(folder),
        "SMOKEWATCH_DEMO_INBOX_PORT": str(inbox_port),
        "SMOKEWATCH_DEMO_STORY": story,
        "SMOKEWATCH_DEMO_RUN_ID": uuid.uuid4().hex[:12],
        "SMOKEWATCH_DEMO_ALERTING": "1" if "alerting" in available else "0",
        "PYTHONUNBUFFERED": "1",
    }


def _banner(
    echo: Callable[[str], None], *, ends: Endpoints, inbox_port: int, names: list[str],
    folder: Path, available: set[str], story: str, logins: list[tuple[str, str, str]],
    api_port: int,
) -> None:  # fmt: skip
    inbox = f"http://127.0.0.1:{inbox_port}/"
    dashboard = (
        f"http://127.0.0.1:{api_port}/   (API docs: /docs)"
        if "api" in available
        else "not in this build yet (the API and pages are being built)"
    )
    lines = [
        "",
        "smokewatch demo is running — Nanzhang sub-district, 283 households, 131 venues",
        f"  dashboard     {dashboard}",
        f"  demo inbox    {inbox}   (SMS, voice and WeChat as phones show them; ?lang=en)",
        *_login_lines(logins),
        f"  database      {ends.database_url}   [{ends.database_from}]",
        f"  broker        {ends.mqtt_url}   [{ends.broker_from}]",
        f"  services      {', '.join(names)}   (logs: {folder / 'logs'})",
        "",
        "What to watch in the first minutes (open the inbox):",
        *_watch_lines(story),
        "  then  heartbeats every minute and, now and then, a random nuisance alarm",
        "",
        "Ctrl-C stops everything; data stays in the demo folder.",
    ]
    if "alerting" not in available:
        lines.insert(-1, "(no alert engine in this build: nobody is paged)")
    for line in lines:
        echo(line)


def _watch_lines(story: str) -> list[str]:
    """The storyline with its times (seconds after the services start)."""
    if story == "off":
        return ["  (storyline off: background life only)"]
    pace = PACES[story]
    wave2 = pace.fire_at + float(WAVE_WAITS[story][0])
    return [
        f"  +{pace.fire_at:.0f}s  kitchen fire at 高凤兰's home (82, living alone): wave 1 pages "
        "her, her guardian, family and the grid worker; nobody answers",
        f"  +{wave2:.0f}s  wave 2: village cadre, neighbour, key holder; the cadre acknowledges "
        "from the link, then resolves it as a real fire caught early",
        f"  +{pace.silent_at:.0f}s  a venue's detector goes silent "
        "(past its deadline about 3 minutes later)",
        f"  +{pace.battery_at:.0f}s  a household detector's battery runs low "
        "(a work order, not a page)",
        f"  +{pace.nuisance_at:.0f}s  cooking smoke in 老张家常菜馆's kitchen: "
        "a nuisance alarm, resolved as cooking",
        f"  +{pace.tamper_at:.0f}s  a detector is taken down in an elder's home "
        "(tamper: same-day call)",
        "  (quiet hours are off in the demo, so the story runs at any time of day)",
    ]


def _login_lines(logins: list[tuple[str, str, str]]) -> list[str]:
    lines = [f"  demo login    {user} / {password}   ({role})" for user, password, role in logins]
    return [*lines, "  no login      acknowledge links in the inbox act as the person paged"]
