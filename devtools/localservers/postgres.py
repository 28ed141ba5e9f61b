"""A private PostgreSQL cluster in one folder: trust auth, UTF8, C locale, TCP on 127.0.0.1 only."""

from __future__ import annotations

import logging
import os
import pwd
import signal
import stat
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Self
from urllib.parse import quote

import psycopg

from devtools.localservers.binaries import has_timescaledb, postgres_bindir
from devtools.localservers.process import (
    LOOPBACK,
    ChildServer,
    LocalServerError,
    child_environment,
    run_as,
)

log = logging.getLogger(__name__)

StopMode = Literal["smart", "fast", "immediate"]
_SIGNALS: dict[str, signal.Signals] = {
    "smart": signal.SIGTERM,  # wait for sessions to end
    "fast": signal.SIGINT,  # roll back sessions, checkpoint, exit
    "immediate": signal.SIGQUIT,  # exit at once, as a crash would; recovery runs on start
}
# sockaddr_un holds 108 bytes; a longer socket path cannot be bound.
_MAX_SOCKET_PATH = 100


class LocalPostgres(ChildServer):
    """A private PostgreSQL server; the superuser is ``postgres``, authentication is trust.

    ``fsync=False`` trades crash safety of the machine (not of the server) for speed: right for
    tests, where a killed or restarted server must still lose nothing it committed.
    ``settings`` adds or overrides ``postgresql.conf`` values (``shared_preload_libraries``...).
    ``timescaledb``: preload TimescaleDB; None (the default) does so whenever the binaries have
    it, because the extension cannot be created on a server that did not preload it, and
    a machine that has it must test what production runs.
    """

    name = "postgres"
    stop_signal = signal.SIGINT
    superuser = "postgres"

    def __init__(
        self,
        folder: Path | str,
        *,
        port: int | None = None,
        fsync: bool = True,
        settings: Mapping[str, str] | None = None,
        bindir: Path | None = None,
        timescaledb: bool | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        super().__init__(folder, port=port, startup_timeout=startup_timeout)
        self.data_dir = self.folder / "data"
        self.fsync = fsync
        self.settings = dict(settings or {})
        self._bindir = bindir
        self._timescaledb = timescaledb

    @property
    def timescaledb(self) -> bool:
        """True when this server preloads TimescaleDB."""
        if self._timescaledb is None:
            self._timescaledb = has_timescaledb(self.bindir)
        return self._timescaledb

    @timescaledb.setter
    def timescaledb(self, preload: bool) -> None:
        """Preload TimescaleDB or not from the next start on (as an operator would)."""
        self._timescaledb = preload

    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            self._bindir = postgres_bindir()
        return self._bindir

    @property
    def admin_url(self) -> str:
        """URL of the ``postgres`` maintenance database, as the superuser."""
        return self.url_for("postgres")

    def url_for(self, dbname: str) -> str:
        """URL of database ``dbname`` on this server, as the superuser."""
        return f"postgresql://{self.superuser}@{self.host}:{self.port}/{quote(dbname, safe='')}"

    def stop(self, mode: StopMode = "fast", timeout: float = 60.0) -> None:
        """Shut down; ``immediate`` behaves like a crash (the next start runs recovery)."""
        self._stop(_SIGNALS[mode], timeout)

    def restart(self, mode: StopMode = "fast") -> Self:
        """Stop in ``mode`` and start again on the same port."""
        self.stop(mode)
        return self.start()

    def _user(self) -> str | None:
        # initdb and postgres refuse to run as root.
        return "postgres" if os.geteuid() == 0 else None

    def _prepare(self) -> None:
        user = self._user()
        owner = pwd.getpwnam(user) if user else None
        if owner is not None:
            _make_traversable(self.folder)
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self.folder.chmod(0o700)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        conf = self.data_dir / "smokewatch.conf"
        conf.write_text(self._config_text(), encoding="utf-8")
        if owner is not None:
            os.chown(conf, owner.pw_uid, owner.pw_gid)

    def _initdb(self) -> None:
        command = [
            str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", self.superuser,
            "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
        ]  # fmt: skip
        done = subprocess.run(  # noqa: S603 - fixed argument list, no shell
            command,
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env=child_environment(),
            **run_as(self._user()),
        )
        if done.returncode != 0:
            raise LocalServerError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        # Our settings live in their own file, rewritten on every start (the port may change).
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\ninclude_if_exists = 'smokewatch.conf'\n")

    def _config_text(self) -> str:
        sockets = str(self.folder)
        if len(sockets) + len("/.s.PGSQL.65535.lock") > _MAX_SOCKET_PATH:
            sockets = ""  # no unix socket then; every client here uses TCP
        values = {
            "listen_addresses": LOOPBACK,
            "port": str(self.port),
            "unix_socket_directories": sockets,
            "max_connections": "200",
            "shared_buffers": "128MB",
            "fsync": "on" if self.fsync else "off",
            # Without fsync a torn page cannot be repaired anyway; skip the extra WAL volume.
            "full_page_writes": "on" if self.fsync else "off",
            "max_wal_size": "1GB",
            "timezone": "UTC",
            "log_timezone": "UTC",
            "log_line_prefix": "%m [%p] %q%u@%d ",
        }
        if self.timescaledb:
            values |= {
                "shared_preload_libraries": "timescaledb",
                # No internet on test machines; and nothing of ours is reported anywhere.
                "timescaledb.telemetry_level": "off",
                # One scheduler per database with the extension, plus the jobs they start.
                "max_worker_processes": "32",
                "timescaledb.max_background_workers": "24",
            }
        values |= self.settings
        return "".join(f"{key} = '{_quote(value)}'\n" for key, value in values.items())

    def _command(self) -> list[str]:
        return [str(self.bindir / "postgres"), "-D", str(self.data_dir)]

    def _is_ready(self) -> bool:
        # postmaster.pid names the server's pid and, once it accepts connections, "ready".
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        status = [line.strip() for line in lines[:8]]
        if self._proc is None or status[:1] != [str(self._proc.pid)] or status[7:] != ["ready"]:
            return False
        try:
            with psycopg.connect(self.admin_url, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "''")


def _make_traversable(folder: Path) -> None:
    """Let other users pass through every parent of ``folder`` (the execute bit, no listing).

    As root we run PostgreSQL as ``postgres``, and temporary folders are created 0700.
    """
    for parent in folder.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            log.info("adding o+x to %s so the postgres user can reach %s", parent, folder)
            parent.chmod(stat.S_IMODE(mode) | stat.S_IXOTH)
