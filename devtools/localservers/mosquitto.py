"""A private Mosquitto broker in one folder, configured from ``deploy/mosquitto/local.conf``."""

from __future__ import annotations

import os
import pwd
import signal
import string
from pathlib import Path
from typing import Self

from devtools.localservers.binaries import mosquitto_binary
from devtools.localservers.process import ChildServer, LocalServerError, port_accepts

# deploy/ sits next to core/ in the repository (editable installs and checkouts).
TEMPLATE = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto" / "local.conf"


class LocalMosquitto(ChildServer):
    """A private broker with anonymous access on 127.0.0.1 and on-disk persistence.

    Persistent sessions and their queued QoS 1 messages survive ``stop``/``start`` (written on a
    clean stop) and, up to the last autosave, ``kill``.
    """

    name = "mosquitto"
    stop_signal = signal.SIGTERM

    def __init__(
        self,
        folder: Path | str,
        *,
        port: int | None = None,
        template: Path = TEMPLATE,
        binary: Path | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        super().__init__(folder, port=port, startup_timeout=startup_timeout)
        self.template = template
        self.data_dir = self.folder / "data"
        self.config_path = self.folder / "mosquitto.conf"
        self._binary = binary

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:PORT``."""
        return f"mqtt://{self.host}:{self.port}"

    def stop(self, timeout: float = 30.0) -> None:
        """Stop cleanly (SIGTERM): the persistence file is written before exit."""
        self._stop(signal.SIGTERM, timeout)

    def restart(self) -> Self:
        """Stop cleanly and start again on the same port."""
        self.stop()
        return self.start()

    def _prepare(self) -> None:
        if not self.template.is_file():
            raise LocalServerError(f"the Mosquitto template {self.template} does not exist")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        text = string.Template(self.template.read_text(encoding="utf-8")).substitute(
            port=self.port,
            data_dir=self.data_dir,
            log_file=self.log_path,
            # As root Mosquitto would switch to "mosquitto", who cannot write our folder.
            user=pwd.getpwuid(os.geteuid()).pw_name,
        )
        self.config_path.write_text(text, encoding="utf-8")

    def _command(self) -> list[str]:
        return [str(self._binary or mosquitto_binary()), "-c", str(self.config_path)]

    def _is_ready(self) -> bool:
        # Mosquitto logs "running" after its listeners are bound; the template logs information.
        return " running" in self.log_tail(self._log_offset) and port_accepts(self.port)
