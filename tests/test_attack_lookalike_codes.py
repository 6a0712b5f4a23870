"""A colleague sets up a point or a room whose code looks like another's: ``DD01``
with a zero-width space, a Cyrillic ``О`` for the Latin ``O``, ``1О1`` beside ``101``.
On screen and in every list they read the same, so arrivals are sent, counted and
released at the wrong one. Such a code is refused, naming the character; a code
typed in full-width characters (a Chinese input method) is the ASCII one."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CliRunner

from isolation_tui.storage.repository import open_store
from isolation_tui.storage.tables import POINTS

HEADER = "point,point_name,room,floor,beds\n"


def points(db_path: Path) -> dict[str, list[str]]:
    store = open_store(db_path, read_only=True)
    try:
        return {p["code"]: [r["code"] for r in p["rooms"]] for p in store.rows(POINTS).values()}
    finally:
        store.close()


@pytest.fixture
def dd01(cli: CliRunner, db_path: Path, tmp_path: Path) -> None:
    file = tmp_path / "rooms.csv"
    file.write_text(HEADER + "DD01,一号点,101,1,1\n", encoding="utf-8")
    assert cli("import", "rooms", str(file)).returncode == 0


@pytest.mark.parametrize(
    ("row", "field", "char"),
    [
        ("DD01\u200b,一号点,102,1,1", "point", "U+200B"),
        ("DD0\u041e1,一号点,102,1,1", "point", "U+041E"),
        ("DD01,一号点,1\u041e1,1,1", "room", "U+041E"),
        ("DD01,一号点,10\u00ad1,1,1", "room", "U+00AD"),
        ("DD01,一号点,102,\u0399,1", "floor", "U+0399"),
    ],
)
def test_a_look_alike_code_is_refused_naming_the_character(
    cli: CliRunner, db_path: Path, tmp_path: Path, dd01: None, row: str, field: str, char: str
) -> None:
    file = tmp_path / "more.csv"
    file.write_text(HEADER + row + "\n", encoding="utf-8")

    result = cli("import", "rooms", str(file))

    assert result.returncode == 1
    assert f"more.csv:2: {field}:" in result.stderr and char in result.stderr
    assert points(db_path) == {"DD01": ["101"]}


def test_full_width_codes_are_the_ascii_ones_and_chinese_codes_are_kept(
    cli: CliRunner, db_path: Path, tmp_path: Path, dd01: None
) -> None:
    file = tmp_path / "more.csv"
    file.write_text(HEADER + "ＤＤ01,一号点,１０２,1,1\n二号点,,A栋-301,3楼,2\n", encoding="utf-8")

    result = cli("import", "rooms", str(file))

    assert result.returncode == 0, result.stderr
    assert points(db_path) == {"DD01": ["101", "102"], "二号点": ["A栋-301"]}
