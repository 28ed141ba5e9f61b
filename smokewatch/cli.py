"""``smokewatch <command>``: migrate, ingest, sim, and the services added by later parts."""

from __future__ import annotations

from typing import Any

import click

from core.config import CommonSettings
from core.logging import setup_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Smoke-alarm monitoring for people living alone and small venues."""


@main.command()
def migrate() -> None:
    """Apply pending database migrations (running it twice changes nothing)."""
    from core.db import wait_for_database
    from core.migrate import migrate as apply_migrations

    settings = CommonSettings()
    setup_logging(settings)
    wait_for_database(settings.database_url)
    applied = apply_migrations(settings.database_url)
    if applied:
        click.echo("applied: " + ", ".join(f"{m.version:04d}_{m.name}" for m in applied))
    else:
        click.echo("database schema is up to date")


@main.group()
def timescale() -> None:
    """TimescaleDB: the storage mode, and converting a plain-PostgreSQL database."""


@timescale.command("status")
def timescale_status() -> None:
    """Say which storage mode the database is in, and why."""
    from core.db import connect, wait_for_database
    from core.migrate import storage_mode

    settings = CommonSettings()
    setup_logging(settings)
    wait_for_database(settings.database_url)
    with connect(settings.database_url) as conn:
        mode = storage_mode(conn)
    click.echo(f"storage mode: {mode.name} ({mode.reason})")


@timescale.command("convert")
@click.option("--batch-rows", default=200_000, show_default=True, help="rows per committed batch")
def timescale_convert(batch_rows: int) -> None:
    """Turn readings and events into hypertables with their policies (resumable, online)."""
    from core.db import wait_for_database
    from core.migrate import migrate as apply_migrations
    from core.timescale import ConversionError, convert

    settings = CommonSettings()
    setup_logging(settings)
    wait_for_database(settings.database_url)
    apply_migrations(settings.database_url)
    try:
        convert(settings.database_url, batch_rows=batch_rows, report=click.echo)
    except ConversionError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
def ingest() -> None:
    """Store every detector message in PostgreSQL, exactly once."""
    from ingest.service import IngestService
    from ingest.settings import IngestSettings

    settings = IngestSettings()
    setup_logging(settings)
    IngestService(settings).run_forever()


@main.group(invoke_without_command=True)
@click.pass_context
def alerting(ctx: click.Context) -> None:
    """Turn alarms into incidents and page people until someone answers."""
    if ctx.invoked_subcommand is not None:
        return
    import signal

    from alerting.service import AlertingService
    from alerting.settings import AlertingSettings

    settings = AlertingSettings()
    setup_logging(settings)
    from core.db import wait_for_database

    wait_for_database(settings.database_url)
    service = AlertingService(settings)
    if settings.alerting_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.alerting_metrics_port)
    signal.signal(signal.SIGTERM, lambda *_: service.stop())
    try:
        service.run()
    except KeyboardInterrupt:
        service.stop()


@alerting.command("digest")
def alerting_digest() -> None:
    """Plan a maintainer digest now (still held by quiet hours); the service sends it."""
    from datetime import UTC, datetime

    from alerting.digest import plan_digests
    from alerting.settings import AlertingSettings
    from core.db import connect
    from core.pg_channels import NOTIFICATIONS_CHANNEL

    settings = AlertingSettings()
    setup_logging(settings)
    with connect(settings.database_url, autocommit=True) as conn:
        planned = plan_digests(conn, settings=settings, now=datetime.now(UTC), on_demand=True)
        conn.execute("SELECT pg_notify(%s, 'digest')", (NOTIFICATIONS_CHANNEL,))
    click.echo(f"planned {len(planned)} digest(s)")


@main.command()
@click.option("--host", help="Address to listen on (default SMOKEWATCH_API_HOST).")
@click.option("--port", type=int, help="Port to listen on (default SMOKEWATCH_API_PORT).")
def api(host: str | None, port: int | None) -> None:
    """Serve the REST API (OpenAPI at /docs)."""
    import uvicorn

    from api.app import create_app
    from api.settings import ApiSettings

    settings = ApiSettings()
    setup_logging(settings)
    uvicorn.run(
        create_app(settings),
        host=host or settings.api_host,
        port=settings.api_port if port is None else port,
        proxy_headers=True,
        forwarded_allow_ips=settings.api_forwarded_allow_ips,
        log_config=None,  # keep our logging set-up
        access_log=False,
        # Live-feed streams never end by themselves: without a bound, a stop (deploy, SIGTERM)
        # would wait for every open dashboard to disconnect.
        timeout_graceful_shutdown=5,
    )


@main.command("add-user")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(["administrator", "operator", "installer", "viewer"]),
    required=True,
)
@click.option("--org", "org_code", help="Code of the organisation the user is scoped to.")
@click.option("--name", default="", help="Display name.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option(
    "--password",
    "password_arg",
    help="The password itself (scripts only: other users of the machine can see it).",
)
def add_user(
    *,
    username: str,
    role: str,
    org_code: str | None,
    name: str,
    password_stdin: bool,
    password_arg: str | None,
) -> None:
    """Create a user (an administrator without --org sees the whole system)."""
    import sys

    from api.security import Passwords
    from api.settings import ApiSettings
    from api.users.service import UserError, insert_user
    from core.db import connect

    settings = ApiSettings()
    setup_logging(settings)
    if password_arg is not None:
        password = password_arg
    elif password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with connect(settings.database_url) as conn:
        try:
            user_id = insert_user(
                conn,
                username=username,
                name=name,
                role=role,
                org_code=org_code,
                password=password,
                passwords=Passwords.from_settings(settings),
            )
        except UserError as exc:
            raise click.ClickException(str(exc)) from exc
        conn.commit()
    click.echo(f"user {username} created (id {user_id}, role {role})")


@main.group(invoke_without_command=True)
@click.option("--households", type=int, help="Simulated households (default 283).")
@click.option("--venues", type=int, help="Simulated small venues (default 131).")
@click.option("--id-prefix", help="Device id prefix.")
@click.option("--devices", type=int, help="A numbered fleet of N devices instead of the programme.")
@click.option(
    "--heartbeat",
    "heartbeat_seconds",
    type=float,
    help="Simulated seconds between reports (0: none).",
)
@click.option("--time-scale", type=float, help="Simulated seconds per wall second.")
@click.option("--duration", type=float, default=60.0, show_default=True, help="Wall-clock bound.")
@click.option("--max-messages", type=int, help="Stop after this many messages.")
@click.option("--sim-seconds", type=float, help="Stop after this much simulated time.")
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    help="name[:count][@seconds], repeatable: fire, nuisance, battery, tamper, fault, "
    "self_test, silent, reboot, duplicate, malformed.",
)
@click.option(
    "--connections",
    type=click.Choice(["shared", "per_device"]),
    help="One shared connection or one per device (with Last Will).",
)
@click.option(
    "--ts-format",
    type=click.Choice(["mixed", "iso", "iso_cst", "epoch_ms", "epoch_s", "none"]),
    default="mixed",
    show_default=True,
)
@click.option("--virtual-time", is_flag=True, help="Run as fast as the broker acknowledges.")
@click.option(
    "--register", is_flag=True, help="Register the simulated devices in the database first."
)
@click.option(
    "--dry-run", is_flag=True, help="Print the messages as JSON lines instead of publishing."
)
@click.option("--seed", type=int, help="Random seed.")
@click.pass_context
def sim(ctx: click.Context, **options: Any) -> None:
    """Simulate detectors publishing the native protocol (always bounded)."""
    if ctx.invoked_subcommand is not None:
        return
    import sys

    from device_sim.cli_entry import SimOptions, run, summarize
    from device_sim.errors import SimError
    from device_sim.settings import SimSettings

    settings = SimSettings()
    setup_logging(settings)
    realtime = not options.pop("virtual_time")
    sim_options = SimOptions(
        **{k: v for k, v in options.items() if k != "scenarios"},
        scenarios=tuple(options["scenarios"]),
        realtime=realtime,
    )
    try:
        report = run(settings, sim_options, out=sys.stdout if sim_options.dry_run else None)
    except SimError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(summarize(report), err=sim_options.dry_run)


@sim.command("load")
@click.option("--devices", type=int, default=10_000, show_default=True)
@click.option("--id-prefix", default="LOAD", show_default=True)
@click.option("--processes", type=int, default=2, show_default=True)
@click.option(
    "--rate",
    type=float,
    help="Messages per second over all processes (default: as fast as possible).",
)
@click.option("--count", type=int, default=100_000, show_default=True)
@click.option("--duration", type=float, default=60.0, show_default=True)
@click.option(
    "--alarm-every", type=int, default=0, show_default=True, help="Every Nth message is an alarm."
)
@click.option("--engine", type=click.Choice(["raw", "paho"]), default="raw", show_default=True)
@click.option("--register", is_flag=True, help="Register the load devices first.")
def sim_load(register: bool, **options: Any) -> None:
    """Publish a bounded telemetry load from several processes, for benchmarks."""
    from device_sim.cli_entry import run_load, summarize
    from device_sim.errors import SimError
    from device_sim.load import LoadOptions
    from device_sim.settings import SimSettings

    settings = SimSettings()
    setup_logging(settings)
    try:
        report = run_load(settings, LoadOptions(**options), register=register)
    except SimError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(summarize(report))


@main.command()
@click.option("--reset", is_flag=True, help="Delete the demo folder's data and start over.")
@click.option(
    "--story",
    type=click.Choice(["full", "short", "off"]),
    default="full",
    show_default=True,
    help="The scripted storyline: paced for people, short (tests), or none.",
)
@click.option("--inbox-port", type=int, help="Port of the demo inbox (default 8765; 0: any).")
def demo(reset: bool, story: str, inbox_port: int | None) -> None:
    """Run the whole system on embedded servers with a simulated sub-district (Ctrl-C stops)."""
    import os
    import sys

    from core.logging import setup_logging as _setup

    try:
        from smokewatch.demo.detach import run_detached
        from smokewatch.demo.run import DemoOptions, run_demo
        from smokewatch.demo.settings import DemoSettings
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("devtools"):
            raise
        # The container image holds the services only; the demo starts its own PostgreSQL
        # and Mosquitto through devtools, which a source checkout has.
        raise click.ClickException(
            "the demo runs from a source checkout (README: scripts/demo); this installation "
            "has no devtools package (the container image holds the services only)"
        ) from exc

    settings = DemoSettings()
    if not settings.demo_detached:  # see smokewatch/demo/detach.py
        raise SystemExit(run_detached(sys.argv[1:], dict(os.environ)))
    _setup(settings)
    options = DemoOptions(reset=reset, story=story, inbox_port=inbox_port)
    raise SystemExit(run_demo(options, set(main.commands), click.echo))
