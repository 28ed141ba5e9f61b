"""Every NOTIFY/LISTEN channel and queue table name comes from core.pg_channels.

SQL cannot import Python, so migrations and .sql files keep literal names: each one they use
must be a constant of the module. Python code must use the constants, never a literal.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from core import pg_channels

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "ingest", "alerting", "api", "device_sim", "smokewatch", "devtools")
PYTHON_TREES = (*PACKAGES, "tests", "bench")
# pg_notify('name', ...), NOTIFY name, LISTEN name (any case, optionally quoted).
SQL_CHANNEL = re.compile(
    r"""pg_notify\(\s*'([^']+)'|\b(?:NOTIFY|LISTEN)\s+"?([a-z_][a-z0-9_]*)""", re.IGNORECASE
)


def _sql_files() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.sql"))


def _channels_in(text: str) -> set[str]:
    # SQL comments are prose ("NOTIFY is delivered when ..."): only statements count.
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    return {a or b for a, b in SQL_CHANNEL.findall(code)}


def test_sql_notifies_only_known_channels() -> None:
    used: dict[str, set[str]] = {}
    for path in _sql_files():
        for name in _channels_in(path.read_text(encoding="utf-8")):
            used.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    unknown = {name: files for name, files in used.items() if name not in pg_channels.CHANNELS}
    assert unknown == {}
    # The scan itself works: the triggers of migrations 0003, 0026 and 0047 and the API's push.
    assert {
        pg_channels.EVENTS_CHANNEL,
        pg_channels.INCIDENTS_CHANNEL,
        pg_channels.COMMANDS_CHANNEL,
        pg_channels.PUSH_CHANNEL,
        pg_channels.NOTIFICATIONS_CHANNEL,
    } <= set(used)


def _docstrings(module: ast.Module) -> list[ast.AST]:
    # Docstrings are prose ("LISTENs on smokewatch_events"), not a use of the name.
    holders = [module, *(n for n in ast.walk(module) if isinstance(n, _DOCUMENTED))]
    return [
        h.body[0].value
        for h in holders
        if h.body and isinstance(h.body[0], ast.Expr) and isinstance(h.body[0].value, ast.Constant)
    ]


_DOCUMENTED = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def test_python_names_channels_only_through_the_module() -> None:
    own = ROOT / "core" / "pg_channels.py"
    names = set(pg_channels.CHANNELS)
    offenders = []
    for tree in PYTHON_TREES:
        for path in sorted((ROOT / tree).rglob("*.py")):
            if path == own or path == Path(__file__).resolve():
                continue
            module = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = {id(d) for d in _docstrings(module)}
            for node in ast.walk(module):
                if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                    continue
                if id(node) in docstrings:
                    continue
                if node.value in names or _channels_in(node.value) & names:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_queue_tables_exist_and_are_announced_on_their_channel() -> None:
    migrations = "\n".join(
        p.read_text(encoding="utf-8") for p in sorted((ROOT / "core" / "migrations").glob("*.sql"))
    )
    for table, channel in pg_channels.QUEUES.items():
        assert re.search(rf"CREATE TABLE (?:IF NOT EXISTS )?{table}\b", migrations), table
        assert channel in pg_channels.CHANNELS


@pytest.mark.parametrize("channel", pg_channels.CHANNELS)
def test_listen_sql_quotes_each_channel(channel: str) -> None:
    assert pg_channels.listen_sql(channel).as_string(None) == f'LISTEN "{channel}"'


def test_listen_sql_refuses_an_unknown_channel() -> None:
    with pytest.raises(ValueError, match="unknown NOTIFY channel"):
        pg_channels.listen_sql("smokewatch_nothing; DROP TABLE events")
