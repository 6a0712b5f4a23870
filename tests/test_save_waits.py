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
from isolation_tui.i18n import t
from isolation_tui.screens.base import FormScreen
from isolation_tui.screens.incidents import IncidentsScreen
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
