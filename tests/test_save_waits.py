"""A save made while another session holds the writers' lock (an import) waits off
the screen's thread: the form says so, takes no typing and no second save, and
every other screen keeps working; when the lock is free the record is stored and
the form goes on as after any save. The lock is held by a real separate process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from isolation_tui.app import IsolationApp
from isolation_tui.headless import compact as compact_mod
from isolation_tui.i18n import t
from isolation_tui.screens.base import FormScreen
from isolation_tui.screens.incidents import IncidentsScreen
from isolation_tui.storage import engine
from isolation_tui.storage.engine import JournalStorage
from isolation_tui.storage.repository import Store
from isolation_tui.storage.tables import STAYS

SIZE = (80, 24)
MAN = "110105194912310011"

HOLD = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def hotel(store: Store) -> Store:
    rooms = [{"code": c, "floor": c[0], "beds": 1, "blocked": False} for c in ("301", "302")]
    store.save_point("DD01", "一号点", rooms)
    return store


@pytest.fixture
def lock_holder(db_path: Path, hotel: Store) -> Iterator[subprocess.Popen[str]]:
    """Another process holding ``<db>-lock`` as a writer does, until its stdin closes."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db_path.with_name(db_path.name + "-lock"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    yield holder
    release(holder)


def release(holder: subprocess.Popen[str]) -> None:
    if holder.stdin is not None and not holder.stdin.closed:
        holder.stdin.close()
    holder.wait(timeout=30)


def status(form: FormScreen) -> str:
    return str(form.query_one("#form-status", Static).content)


def value(form: FormScreen, name: str) -> str:
    return form.query_one(f"#field-{name}", Input).value


async def new_arrival(pilot: Pilot[None], app: IsolationApp) -> FormScreen:
    await pilot.press("f2", "n")
    await pilot.pause()
    assert isinstance(app.screen, FormScreen)
    return app.screen


async def until(pilot: Pilot[None], condition: Callable[[], bool]) -> None:
    """Let the program run until ``condition()`` holds (a bounded number of turns)."""
    for _ in range(200):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the program never got there")


async def test_a_save_waits_for_another_session_and_the_screens_keep_working(
    hotel: Store, lock_holder: subprocess.Popen[str], lang: str
) -> None:
    app = IsolationApp(hotel, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        form = await new_arrival(pilot, app)
        form.query_one("#field-transport", Input).value = "CA123"
        await pilot.press(*"王强", "enter", *MAN, "enter", *"13812345678", "ctrl+s")
        await until(pilot, lambda: status(form) == t("ui.saving_waiting"))
        assert hotel.rows(STAYS) == {}
        # Nothing typed lands in the waiting form, and a second save does nothing.
        await pilot.press("x", "ctrl+s")
        assert form.form.disabled and value(form, "phone") == "13812345678"
        # Another screen comes and is drawn while the save waits.
        await pilot.press("f4")
        assert isinstance(app.screen, IncidentsScreen) and app.current_mode == "incidents"
        assert t("ui.col_summary") in app.export_screenshot()
        assert hotel.rows(STAYS) == {}

        release(lock_holder)
        await until(pilot, lambda: len(hotel.rows(STAYS)) == 1)
        await app.workers.wait_for_complete()
        await pilot.pause()
        stay = next(iter(hotel.rows(STAYS).values()))
        assert stay["person"]["name"] == "王强" and stay["transport"] == "CA123"
        # Back on the form: ready for the next person of the bus, as after any save.
        await pilot.press("f2")
        await pilot.pause()
        assert app.screen is form and not form.form.disabled
        assert value(form, "transport") == "CA123" and value(form, "name") == ""
        assert app.focused is form.query_one("#field-name")
        assert len(hotel.rows(STAYS)) == 1  # the second ctrl+s stored nothing


async def test_a_refusal_after_the_wait_shows_beside_its_field(
    hotel: Store, lock_holder: subprocess.Popen[str]
) -> None:
    app = IsolationApp(hotel, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        form = await new_arrival(pilot, app)
        await pilot.press("enter", *MAN, "ctrl+s")  # no name
        await until(pilot, lambda: status(form) == t("ui.saving_waiting"))
        release(lock_holder)
        await until(pilot, lambda: status(form) != t("ui.saving_waiting"))
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert status(form).startswith(t("ui.not_saved", field=t("field.name"), message=""))
        assert app.focused is form.query_one("#field-name")
        assert hotel.rows(STAYS) == {}


FOLD_WAITING = """
import sys
from isolation_tui.headless.compact import run_compaction
from isolation_tui.storage import engine
engine.COMPACT_MIN_BYTES = 0
sys.stdin.readline()
run_compaction(sys.argv[1], background=True)
"""


async def test_a_save_over_the_compaction_line_is_stored_and_drawn_while_the_fold_runs(
    hotel: Store, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The save whose entry takes the journal over the line returns with the record
    stored and the form ready; the fold runs in a process of its own (here one that
    waits to be told), and the screens keep working meanwhile."""
    folds: list[subprocess.Popen[str]] = []

    def start(storage: JournalStorage) -> subprocess.Popen[str]:
        fold = subprocess.Popen(
            [sys.executable, "-c", FOLD_WAITING, str(storage.path)],
            stdin=subprocess.PIPE,
            text=True,
        )
        folds.append(fold)
        return fold

    monkeypatch.setattr(compact_mod, "start_background_compaction", start)
    storage = hotel.db.storage
    assert isinstance(storage, JournalStorage)
    monkeypatch.setattr(engine, "COMPACT_MIN_BYTES", storage._journal_offset + 1)
    snapshot = db_path.read_bytes()
    app = IsolationApp(hotel, point="DD01")
    try:
        async with app.run_test(size=SIZE) as pilot:
            form = await new_arrival(pilot, app)
            await pilot.press(*"王强", "enter", *MAN, "enter", *"13812345678", "ctrl+s")
            await pilot.pause()
            stays = hotel.rows(STAYS)
            assert [s["person"]["name"] for s in stays.values()] == ["王强"]
            assert status(form).startswith(t("ui.saved_arrival", id=1, name="王强", room="")[:5])
            assert value(form, "name") == "" and not form.form.disabled
            # The fold was started once, and waits: nothing folded in the save.
            assert len(folds) == 1 and folds[0].poll() is None
            assert db_path.read_bytes() == snapshot
            await pilot.press("f4")
            await pilot.pause()
            assert isinstance(app.screen, IncidentsScreen)
            assert t("ui.col_summary") in app.export_screenshot()

            folds[0].communicate("go\n", timeout=60)
            assert folds[0].returncode == 0
            assert db_path.read_bytes() != snapshot  # folded, beside this session
            await pilot.press("f2")
            await pilot.pause()
            assert app.screen is form
    finally:
        for fold in folds:
            if fold.poll() is None:
                fold.kill()
                fold.wait()
    hotel.refresh()
    assert [s["person"]["name"] for s in hotel.rows(STAYS).values()] == ["王强"]
    fresh = JournalStorage(db_path, read_only=True)
    try:
        assert fresh.seq == storage.seq and not fresh.over_the_line()
    finally:
        fresh.close()
