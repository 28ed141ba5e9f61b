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
