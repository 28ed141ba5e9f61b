"""``python -m core.localservers check | serve FOLDER``: find binaries, or run both servers."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from core.localservers import (
    LocalMosquitto,
    LocalPostgres,
    LocalServerError,
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
    if argv[:1] == ["serve"] and len(argv) == 2:
        return serve(Path(argv[1]).resolve())
    print("usage: python -m core.localservers check | serve FOLDER", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
