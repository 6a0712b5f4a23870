"""Everyday work costs the live work: on a point with months of sealed history, the
screens and their forms, the counters, the handover, ``stats``, ``check``, imports
and a session following another's saves read the segments' headers only, never a
sealed month's records (what a list of the past pages to, or a filter, may read)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import CliRunner
from test_sealed_reads import opened
from test_store_seal import twin
from textual.widgets import Static

from isolation_tui.app import IsolationApp
from isolation_tui.headless.check import problems
from isolation_tui.headless.demo import run_demo
from isolation_tui.i18n import t
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.index import MARKS
from isolation_tui.storage.journal import decode_snapshot, encode_snapshot
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.sealing import seal_history
from isolation_tui.storage.segments import encode_segment, head_of, segment_path
from isolation_tui.storage.tables import INCIDENTS, STAYS
from isolation_tui.widgets.record_table import RecordTable


@pytest.fixture(scope="module")
def sealed_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo with every month before this one sealed (`seal --until` this month)."""
    path = tmp_path_factory.mktemp("everyday") / "demo.db"
    assert run_demo(path, force=False, scale=1) == 0
    store = open_store(path, actor=Actor("sealer"))
    try:
        assert len(seal_history(store.db.storage, datetime.now().strftime("%Y-%m"), MARKS)) >= 2
    finally:
        store.close()
    return path


@pytest.fixture
def copy(sealed_demo: Path, tmp_path: Path) -> Path:
    """A copy to write to."""
    return twin(sealed_demo, tmp_path)


@pytest.fixture
def session(sealed_demo: Path) -> Iterator[Store]:
    store = open_store(sealed_demo, read_only=True, actor=Actor("reader"))
    yield store
    store.close()


# Everyday keys, at all points and then at the first point of the overview: each
# screen, and each form opened and left.
KEYS = [
    "f1", "f2", "n", "escape", "k", "escape", "t", "escape", "f3", "d", "escape", "f4",
    "n", "escape", "f5", "h", "escape", "f7", "d", "escape", "n", "escape", "f8", "r",
    "escape", "i", "escape", "f9", "escape",
]  # fmt: skip


async def test_every_screen_and_form_reads_no_sealed_month(
    session: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = opened(monkeypatch)
    app = IsolationApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        for scope in ("all", "one point"):
            for key in KEYS:
                await pilot.press(key)
                await pilot.pause()
                assert names == [], (scope, key, type(app.screen).__name__)
            await pilot.press("f1", "enter")
            await pilot.pause()
        assert session.db.storage.sealed_outside()[0]


async def test_f4_lists_the_live_incidents_first_and_pages_to_sealed_ones(
    session: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = session.live_rows(INCIDENTS)
    sealed = list(session.record_ids(INCIDENTS, None))
    assert len(sealed) > len(live)
    names = opened(monkeypatch)
    app = IsolationApp(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        table = app.screen.query_one("#incidents-table", RecordTable)
        shown = [str(key.value) for key in table.rows]
        assert sorted(shown) == sorted(live)
        assert names == []
        await pilot.press("end")  # the oldest incident ever: sealed
        await pilot.pause()
        assert table.current_key() == str(min(map(int, sealed)))
        assert names  # read from the segments holding the page shown
        assert session.db.storage.sealed_outside()[0]  # the history stays sealed


SPY = """
import sys
from isolation_tui.storage import engine
real = engine.read_segment
def reading(db, db_id, listed, *, body, parse=True):
    if body and parse:
        print("READ SEALED " + listed.name, file=sys.stderr)
    return real(db, db_id, listed, body=body, parse=parse)
engine.read_segment = reading
from isolation_tui.cli import main
sys.argv[0] = "isolation-tui"
main()
"""


def spied(*args: str) -> subprocess.CompletedProcess[str]:
    """``isolation-tui ARGS`` in a real process that says on stderr each sealed
    month whose records it reads."""
    return subprocess.run(
        [sys.executable, "-c", SPY, "--lang", "en", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "command",
    [
        ["stats", "--json"],
        ["stats", "--point", "ZA02"],
        ["handover", "--format", "md"],
        ["handover", "--point", "ZA02"],
        ["check"],
    ],
)
def test_everyday_commands_read_no_sealed_month(sealed_demo: Path, command: list[str]) -> None:
    result = spied(*command, "--db", str(sealed_demo))
    assert result.returncode == 0, result.stderr
    assert "READ SEALED" not in result.stderr


def test_an_incidents_import_reads_only_the_months_its_rows_reach(
    sealed_demo: Path, tmp_path: Path
) -> None:
    today = tmp_path / "today.csv"
    now = datetime.now().strftime("%Y-%m-%d %H:%M")
    today.write_text(f"point,occurred_at,kind,severity,summary\nZA02,{now},other,1,门禁故障\n")
    result = spied("import", "incidents", str(today), "--dry-run", "--db", str(sealed_demo))
    assert result.returncode == 0, result.stderr
    assert "READ SEALED" not in result.stderr
    # A sealed incident sent again is still known: its month and later are read.
    store = open_store(sealed_demo, read_only=True)
    try:
        headers = store.db.storage.sealed_outside()[0]
        last = max(headers, key=lambda header: header["month"])
        incident: dict[str, Any] = next(
            doc
            for part in store.parts(INCIDENTS)
            for doc in part.values()
            if doc["occurred_at"][:7] == last["month"] and not doc.get("voided")
        )
    finally:
        store.close()
    again = tmp_path / "again.csv"
    again.write_text(
        "point,occurred_at,kind,severity,summary\n"
        f"{incident['point']},{incident['occurred_at']},{incident['kind']},"
        f'{incident["severity"]},"{incident["summary"]}"\n'
    )
    result = spied("import", "incidents", str(again), "--dry-run", "--db", str(sealed_demo))
    assert result.returncode == 0, result.stderr
    read = [line.split()[-1] for line in result.stderr.splitlines() if "READ SEALED" in line]
    assert read and all(name >= last["month"] for name in read), read
    assert "0 incidents" in result.stdout or "skipped" in result.stdout, result.stdout


def test_a_session_following_another_processs_saves_reads_no_sealed_month(
    copy: Path, cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = opened(monkeypatch)
    store = open_store(copy, actor=Actor("reader"))
    try:
        before = store.counters()["*"].received
        rows = tmp_path / "arrivals.csv"
        now = datetime.now().strftime("%Y-%m-%d %H:%M")
        rows.write_text(
            "point,name,sex,id_type,id_number,category,arrived_at\n"
            f"ZA02,测试人,M,passport,E9999991,inbound,{now}\n"
        )
        result = cli("import", "arrivals", str(rows), "--db", str(copy))
        assert result.returncode == 0, result.stderr
        store.refresh()
        assert store.counters()["*"].received == before + 1
        for point in (None, "ZA02", *store.points()):
            store.recent_audit(point, 2)
        assert names == []
    finally:
        store.close()


async def test_f2_at_a_point_shows_the_live_stays_and_says_how_many_sealed_ones_follow(
    session: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    point = "KD01"
    ids = session.record_ids(STAYS, point)
    names = opened(monkeypatch)
    app = IsolationApp(session, point=point)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        table = app.screen.query_one(RecordTable)
        shown = len(table.rows)
        assert 0 < shown < len(ids) and names == []
        note = app.screen.query_one("#filter-note", Static)
        assert note.display
        assert str(note.content) == t("ui.sealed_below", count=len(ids) - shown)
        table.move_cursor(row=shown - 1)
        await pilot.press("down")  # on to the first sealed page
        await pilot.pause()
        assert table.current_key() == str(ids[-shown - 1]) and names
        assert not note.display


def without_incidents_by_point(path: Path) -> None:
    """Make the segments as sealed before their headers listed incidents by point."""
    snapshot = decode_snapshot(path.read_bytes(), str(path))
    for listed in snapshot["segments"]:
        segment = segment_path(path, listed["name"])
        first, _, rest = segment.read_bytes().partition(b"\n")
        head, _, body = rest.partition(b"\n")
        header = orjson.loads(head)
        del header["at"][INCIDENTS]
        db_id = first.split(b" ")[2].decode()
        pieces = encode_segment(db_id, listed["name"], header, orjson.loads(body))
        segment.write_bytes(b"".join(pieces))
        listed["head"] = head_of(pieces[0])
    path.write_bytes(encode_snapshot(snapshot))


async def test_f4_at_a_point_over_older_segments_keeps_the_history_sealed(copy: Path) -> None:
    """Segments that do not list incidents by point are walked once for their ids:
    F4 lists the same, and the history is not read into memory."""
    expected = {}
    for point in ("KD01", "ZA02"):
        store = open_store(copy, read_only=True)
        try:
            expected[point] = list(store.sealed_ids(INCIDENTS, point))
        finally:
            store.close()
    without_incidents_by_point(copy)
    store = open_store(copy, read_only=True)
    try:
        assert list(problems(store)) == []
        for point, ids in expected.items():
            assert list(store.sealed_ids(INCIDENTS, point)) == ids
        app = IsolationApp(store, point="KD01")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f4")
            await pilot.pause()
            table = app.screen.query_one("#incidents-table", RecordTable)
            assert len(table._keys) == len(expected["KD01"]) + len(
                [i for i in store.live_rows(INCIDENTS).values() if i["point"] == "KD01"]
            )
        assert store.db.storage.sealed_outside()[0]  # the history stays sealed
    finally:
        store.close()
