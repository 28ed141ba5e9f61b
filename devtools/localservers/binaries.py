"""Where the PostgreSQL server and Mosquitto binaries are on this machine."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

from devtools.localservers.process import LocalServerError

# Names the PostgreSQL binaries to use (a folder with initdb and postgres), for example the
# private TimescaleDB tree that ../shared/timescaledb/install prints. Unset: search the machine.
BINDIR_VARIABLE = "SMOKEWATCH_PG_BINDIR"


@cache
def postgres_bindir(preferred_major: int = 15) -> Path:
    """The folder holding ``initdb`` and ``postgres``, preferring the given major version.

    ``SMOKEWATCH_PG_BINDIR`` wins when set. Otherwise looks at ``pg_config --bindir``, then
    Debian's ``/usr/lib/postgresql/*/bin``, then PATH. ``pg_config`` alone is not enough: the
    client package ships it without a server.
    """
    named = os.environ.get(BINDIR_VARIABLE)
    if named:
        bindir = Path(named).resolve()
        if not all(os.access(bindir / name, os.X_OK) for name in ("initdb", "postgres")):
            raise LocalServerError(f"{BINDIR_VARIABLE}={named} holds no initdb and postgres")
        return bindir
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run(  # noqa: S603 - a binary found in PATH, no shell
            [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False
        )
        candidates.append(Path(found.stdout.strip()))
    candidates.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    usable = [
        c
        for c in dict.fromkeys(candidates)
        if all(os.access(c / name, os.X_OK) for name in ("initdb", "postgres"))
    ]
    if not usable:
        raise LocalServerError("PostgreSQL server binaries (initdb, postgres) were not found")
    preferred = [c for c in usable if postgres_major(c) == preferred_major]
    return (preferred or usable)[0]


def postgres_major(bindir: Path) -> int | None:
    """The major version of the server in ``bindir`` (15 for "postgres (PostgreSQL) 15.5")."""
    found = subprocess.run(  # noqa: S603 - our own candidate path, no shell
        [str(bindir / "postgres"), "--version"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    match = re.search(r"\(PostgreSQL\) (\d+)", found.stdout)
    return int(match.group(1)) if match else None


def has_timescaledb(bindir: Path) -> bool:
    """True when the server in ``bindir`` can load TimescaleDB (its control file is installed).

    PostgreSQL finds its share folder relative to its binaries: ``../share`` in a source build,
    ``../../../share/postgresql/<major>`` in Debian's layout.
    """
    major = postgres_major(bindir)
    shares = [bindir.parent / "share", bindir.parent / "share" / "postgresql"]
    if major is not None and len(bindir.parents) > 3:
        shares.append(bindir.parents[3] / "share" / "postgresql" / str(major))
    return any((share / "extension" / "timescaledb.control").exists() for share in shares)


@cache
def mosquitto_binary() -> Path:
    """The ``mosquitto`` broker binary (PATH first, then the sbin folders PATH often lacks)."""
    found = shutil.which("mosquitto") or shutil.which(
        "mosquitto", path="/usr/sbin:/usr/local/sbin:/sbin"
    )
    if not found:
        raise LocalServerError("the mosquitto binary was not found")
    return Path(found)
