"""A point's code becomes part of an exported handover's file name. A code with a
slash (``A/B``, or a colleague's ``../../x``) must neither fail the export nor put
the file anywhere but in the exports folder, as one file of a readable name."""

from __future__ import annotations

from pathlib import Path

import pytest

from isolation_tui.headless.handover_report import export
from isolation_tui.storage.repository import Store


@pytest.mark.parametrize("code", ["A/B", "../../x", "..", "一号/点 1"])
def test_a_handover_export_stays_in_the_folder_whatever_the_point_code(
    store: Store, tmp_path: Path, code: str
) -> None:
    store.save_point(code, "点", [{"code": "101", "floor": "1", "beds": 1, "blocked": False}])
    folder = tmp_path / "deep" / "er" / "exports"
    folder.mkdir(parents=True, mode=0o700)
    (folder / "handover-..").mkdir()  # a folder a traversal would need: no help

    path = export(folder, store.handovers.summary(code), "", None, "md", "20261129-0930")

    assert path.parent == folder and path.is_file()
    assert "/" not in path.name and path.name.startswith("handover-")
    written = [p for p in (tmp_path / "deep").rglob("*") if p.is_file()]
    assert written == [path]


def test_an_exports_folder_left_open_to_others_is_made_private_again(
    store: Store, tmp_path: Path
) -> None:
    """A folder others may write (made by hand, or under umask 000) would let a
    colleague replace an exported report with a forged one before it is sent on."""
    import stat

    store.save_point("DD01", "点", [{"code": "101", "floor": "1", "beds": 1, "blocked": False}])
    folder = tmp_path / "exports"
    folder.mkdir()
    folder.chmod(0o777)

    export(folder, store.handovers.summary("DD01"), "", None, "md", "20261129-0930")

    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
