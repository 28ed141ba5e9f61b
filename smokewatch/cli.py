"""``smokewatch <command>``: migrate, ingest, sim, and the services added by later parts."""

from __future__ import annotations

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

    settings = AlertingSettings()
    setup_logging(settings)
    with connect(settings.database_url, autocommit=True) as conn:
        planned = plan_digests(conn, settings=settings, now=datetime.now(UTC), on_demand=True)
        conn.execute("SELECT pg_notify('smokewatch_notifications', 'digest')")
    click.echo(f"planned {len(planned)} digest(s)")
