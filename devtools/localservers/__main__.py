"""``python -m devtools.localservers check | timescaledb | serve FOLDER``.

``check`` finds the binaries; ``timescaledb`` prints the PostgreSQL bin folder when it has
TimescaleDB (exit 0) or says why not on stderr (exit 1); ``serve`` runs both servers.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from devtools.localservers import (
    LocalMosquitto,
    LocalPostgres,
    LocalServerError,
    has_timescaledb,
    mosquitto_binary,
    postgres_bindir,
)


def check() -> int:
    """Report the binaries found on stderr; print the Debian packages still missing on stdout."""
    missing = []
    for package, find in (("postgresql", postgres_bindir), ("mosquitto", mosquitto_binary)):
        try:
            print(f"{package}: {find()}", file=sys.stderr)
        except LocalServerError as exc:
            print(f"{package}: {exc}", file=sys.stderr)
            missing.append(package)
    print(" ".join(missing))
    return 0


def timescaledb() -> int:
    """Print the bin folder when its PostgreSQL has TimescaleDB; say why not otherwise."""
    try:
        bindir = postgres_bindir()
    except LocalServerError as exc:
        print(exc, file=sys.stderr)
        return 1
    if not has_timescaledb(bindir):
        print(f"{bindir} has no TimescaleDB (set SMOKEWATCH_PG_BINDIR)", file=sys.stderr)
        return 1
    print(bindir)
    return 0


def serve(folder: Path) -> int:
    """Run both servers with data in ``folder`` until Ctrl-C or SIGTERM."""

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    with LocalPostgres(folder / "postgres") as pg, LocalMosquitto(folder / "mosquitto") as mq:
        print(f"SMOKEWATCH_DATABASE_URL={pg.admin_url}", flush=True)
        print(f"SMOKEWATCH_MQTT_URL={mq.url}", flush=True)
        try:
            while pg.is_running and mq.is_running:  # until Ctrl-C or a server exits
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["check"]:
        return check()
    if argv[:1] == ["timescaledb"]:
        return timescaledb()
    if argv[:1] == ["serve"] and len(argv) == 2:
        return serve(Path(argv[1]).resolve())
    usage = "usage: python -m devtools.localservers check | timescaledb | serve FOLDER"
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
