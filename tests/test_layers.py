"""The layers point one way: domain and storage, and the headless commands, never
load Textual (they must start fast and work without it)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys, runpy
sys.argv = {argv!r}
try:
    runpy.run_module("isolation_tui", run_name="__main__")
except SystemExit:
    pass
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "textual")
print("TEXTUAL:" + ",".join(loaded))
"""


def loaded_textual(argv: list[str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.rsplit("TEXTUAL:", 1)[1].strip()


def test_domain_and_storage_do_not_import_textual() -> None:
    code = (
        "import sys, pkgutil, importlib, isolation_tui.domain, isolation_tui.storage, "
        "isolation_tui.headless\n"
        "for package in (isolation_tui.domain, isolation_tui.storage, isolation_tui.headless):\n"
        "    for info in pkgutil.iter_modules(package.__path__, package.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "argv",
    [
        ["isolation-tui", "--help"],
        ["isolation-tui", "stats", "--db", "/nonexistent/x.db"],
        ["isolation-tui", "check", "--db", "/nonexistent/x.db"],
        ["isolation-tui", "export", "audit", "--db", "/nonexistent/x.db"],
        ["isolation-tui", "import", "arrivals", "/nonexistent.csv", "--db", "/nonexistent/x.db"],
    ],
)
def test_headless_commands_do_not_import_textual(argv: list[str]) -> None:
    assert loaded_textual(argv) == ""
