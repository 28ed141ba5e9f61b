"""Demo logins for the dashboard: created through ``smokewatch add-user`` when the API has it.

Passwords are made on the first run and kept in the demo folder (``logins.txt``, mode 600), so
nothing secret is in the repository and a restart keeps the same logins.
"""

from __future__ import annotations

import logging
import secrets
import subprocess
from pathlib import Path

from smokewatch.demo.supervisor import smokewatch_command

log = logging.getLogger(__name__)

# (user name, role, organisation code it is limited to)
DEMO_USERS = (
    ("admin", "administrator", None),
    ("operator", "operator", "nz-nanzhang"),
    ("installer", "installer", "nz-nanzhang"),
    ("viewer", "viewer", "nz-rencheng"),
)


def demo_logins(folder: Path, env: dict[str, str]) -> list[tuple[str, str, str]]:
    """Create the demo users once; return (user, password, role) for the banner."""
    path = folder / "logins.txt"
    if path.exists():
        rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]
        return [(r[0], r[1], r[2]) for r in rows if len(r) == 3]
    created = []
    for user, role, org in DEMO_USERS:
        password = f"demo-{secrets.token_urlsafe(9)}"
        argv = [*smokewatch_command("add-user", user, "--role", role), "--password", password]
        if org:
            argv += ["--org", org]
        done = subprocess.run(  # noqa: S603 - our interpreter and fixed arguments
            argv, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            log.warning("could not create demo user %s: %s", user, done.stderr.strip()[-300:])
            continue
        created.append((user, password, role))
    path.write_text("".join(f"{u}\t{p}\t{r}\n" for u, p, r in created), encoding="utf-8")
    path.chmod(0o600)
    return created
