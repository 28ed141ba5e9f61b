"""Private PostgreSQL and Mosquitto on free loopback ports, for tests, benchmarks and demos.

Each server lives in one folder (data, configuration, socket, log) and runs as a child of this
process. A tiny guard process holds a pipe to us and stops the server when that pipe closes, so
even a test run killed with SIGKILL leaves no database or broker behind; ``stop`` and an
``atexit`` hook cover ordinary exits. PostgreSQL refuses to run as root, so as root it runs as
the ``postgres`` system user and the folder is made reachable for that user.

    with LocalPostgres(folder / "pg", fsync=False) as pg, LocalMosquitto(folder / "mqtt") as mq:
        migrate(pg.admin_url); ...; mq.url  # "mqtt://127.0.0.1:PORT"

``python -m devtools.localservers check`` reports the binaries it would use and prints the Debian
packages that are missing; ``python -m devtools.localservers serve FOLDER`` runs both until Ctrl-C.
"""

from devtools.localservers.binaries import has_timescaledb, mosquitto_binary, postgres_bindir
from devtools.localservers.mosquitto import LocalMosquitto
from devtools.localservers.postgres import LocalPostgres, StopMode
from devtools.localservers.process import LOOPBACK, LocalServerError, free_port

__all__ = [
    "LOOPBACK",
    "LocalMosquitto",
    "LocalPostgres",
    "LocalServerError",
    "StopMode",
    "free_port",
    "has_timescaledb",
    "mosquitto_binary",
    "postgres_bindir",
]
