"""The person on duty named with bytes the terminal's locale cannot decode (a GBK
terminal typing ``--as 张三``, or a colleague's script): refused on the command
line, as a name; never stored half, never blamed on a row of the file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from isolation_tui.domain.errors import FieldError
from isolation_tui.domain.identity import on_duty_name


def test_a_name_with_undecodable_bytes_is_refused_before_anything_is_done(
    db_path: Path, tmp_path: Path
) -> None:
    rooms = tmp_path / "rooms.csv"
    rooms.write_text("point,room,beds\nDD01,101,1\n", encoding="utf-8")
    env = {**os.environ, "ISOLATION_TUI_DB": str(db_path), "LANG": "C.UTF-8"}
    gbk_name = "张三".encode("gb18030")
    result = subprocess.run(
        [sys.executable, "-m", "isolation_tui", "import", "rooms", str(rooms), "--as", gbk_name],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )

    assert result.returncode == 2, result.stderr
    assert "--as" in result.stderr and "rooms.csv:2" not in result.stderr
    assert not db_path.exists()


@pytest.mark.parametrize("name", ["张\udcd5\udcc5", "\ud800"])
def test_a_name_that_is_no_text_is_refused(name: str) -> None:
    with pytest.raises(FieldError) as caught:
        on_duty_name(name)
    assert caught.value.field == "on_duty"


def test_an_unknown_point_with_escapes_is_named_without_them(db_path: Path, tmp_path: Path) -> None:
    """A point code pasted from a colleague's message may carry escape sequences."""
    rooms = tmp_path / "rooms.csv"
    rooms.write_text("point,room,beds\nDD01,101,1\n", encoding="utf-8")
    env = {**os.environ, "ISOLATION_TUI_DB": str(db_path), "LANG": "C.UTF-8"}
    base = [sys.executable, "-m", "isolation_tui"]
    assert subprocess.run([*base, "import", "rooms", str(rooms)], env=env).returncode == 0

    result = subprocess.run(
        [*base, "--point", "DD\x1b]0;pwned\x07\x9b2J99"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )

    assert result.returncode == 1
    assert "DD]0;pwned2J99" in result.stderr and "\x1b" not in result.stderr
