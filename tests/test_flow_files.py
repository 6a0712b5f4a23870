"""Files the terminal program writes: one known folder, private, never overwritten."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import CliRunner
from textual.widgets import Static

from isolation_tui.app import IsolationApp
from isolation_tui.storage.repository import Store

SIZE = (80, 24)


async def export_twice(app: IsolationApp) -> list[str]:
    """`e` then ctrl+s, twice in the same minute; the messages shown."""
    said = []
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(2):
            await pilot.press("f5", "e")
            await pilot.pause()
            await pilot.press("ctrl+s")
            await pilot.pause()
            # A refusal is said in the form (it stays open); a file written, after it.
            said += [str(w.content) for w in app.screen.query("#form-status").results(Static)]
            said += [entry.message for entry in app.said]
            if app.screen.query("#form-status"):
                await pilot.press("escape")
    return said


@pytest.mark.parametrize("documents", [True, False])
async def test_handover_export_goes_to_the_exports_folder(
    one_person: Store, home: Path, lang: str, documents: bool
) -> None:
    if documents:
        (home / "Documents").mkdir()
        folder = home / "Documents" / "isolation-tui" / "exports"
    else:  # a server account without a documents folder: the data folder
        folder = home / ".local" / "share" / "isolation-tui" / "exports"
    said = await export_twice(IsolationApp(one_person, point="DD01"))
    assert list(Path.cwd().iterdir()) == []
    written = sorted(folder.iterdir())
    assert len(written) == 2  # the second export of the minute did not overwrite the first
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in written:
        assert path.name.startswith("handover-DD01-") and path.suffix == ".md"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert "李四" in path.read_text(encoding="utf-8")
        assert any(str(path) in message for message in said)


async def test_an_exports_folder_that_is_a_symlink_is_refused(
    one_person: Store, home: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    parent = home / ".local" / "share" / "isolation-tui"
    parent.mkdir(parents=True)
    os.symlink(elsewhere, parent / "exports")
    said = await export_twice(IsolationApp(one_person, point="DD01"))
    assert list(elsewhere.iterdir()) == []
    assert any(str(parent / "exports") in message for message in said)


def test_an_unknown_point_is_refused_before_the_program_starts(
    one_person: Store, cli: CliRunner
) -> None:
    one_person.close()
    result = cli("--point", "DD99", timeout=30)
    assert result.returncode == 1
    assert "DD99" in result.stderr and "isolation-tui points" in result.stderr
