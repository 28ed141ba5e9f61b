"""`smokewatch demo` where devtools is not installed (the container image) says what to do."""

from __future__ import annotations

import sys

from click.testing import CliRunner

from smokewatch.cli import main


def test_demo_without_devtools_explains_instead_of_a_traceback(monkeypatch) -> None:
    for name in list(sys.modules):
        if name.startswith(("smokewatch.demo", "devtools")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "devtools", None)  # import devtools fails as if absent
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 1, result.output
    assert "source checkout" in result.output
    assert "scripts/demo" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
