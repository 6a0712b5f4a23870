"""How the terminal program feels on a big database: first frame, keys, saves.

    python benchmarks/bench_tui.py [--scale 1]

Writes the demo at ``--scale N`` (scale 1 stores about 94,000 documents), then
in a fresh process for each measurement: the time from start (before importing
anything) to the first frame of the overview, and the time each key takes to be
handled with the screen redrawn: F2 to the arrivals list, typing a filter, opening
the new-arrival form, saving an arrival, F3 and F4. Each key figure is the median
of several runs, and includes the test harness's own cost per key, shown on its
own row. Then the saves a supervisor makes, timed inside the program without the
harness: from the key event (ctrl+s, enter) to the store's commit, and to the next
frame drawn. Figures are printed, never asserted.

    python benchmarks/bench_tui.py --scale 1 3    # one column per scale
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

PROBE = r"""
import json, sys, time
started = time.perf_counter()
from isolation_tui.app import IsolationApp
from isolation_tui.i18n import set_language
from isolation_tui.storage.repository import open_store
from isolation_tui.storage.tables import STAYS
import asyncio

set_language("zh")
figures = {}

async def main():
    store = open_store(sys.argv[1])
    app = IsolationApp(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        figures["first_frame"] = time.perf_counter() - started
        figures["documents"] = sum(len(t) for t in store.db.storage.tables().values())

        async def timed(name, *keys):
            t0 = time.perf_counter()
            await pilot.press(*keys)
            await pilot.pause()
            figures.setdefault(name, []).append(time.perf_counter() - t0)

        for round_ in range(5):
            await timed("a key that does nothing (harness cost)", "f12")
            await timed("F2 arrivals", "f2")
            await timed("type a filter key", "slash", "王")
            await timed("clear the filter", "backspace")
            await pilot.pause(0.4)
            await timed("open the new-arrival form", "enter", "n")
            await pilot.press(*f"测试{round_}", "enter", "enter")
            await pilot.press(*"E%07d" % round_)
            app.screen.query_one("#field-id_type").value = "passport"
            await timed("save an arrival", "ctrl+s")
            await timed("F3 discharges", "escape", "f3")
            await timed("F4 incidents", "f4")
            await timed("F1 overview", "f1")

asyncio.run(main())
print(json.dumps(figures))
"""


SAVE_PROBE = r"""
import asyncio, json, sys, time
from pathlib import Path
from textual import events
import isolation_tui.app as app_module
from isolation_tui.app import IsolationApp
from isolation_tui.i18n import set_language
from isolation_tui.storage.repository import open_store

set_language("zh")
marks = {}
watch = set()


class Timed(IsolationApp):
    # The key event as the program receives it, the commit, the next frame drawn.
    CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))

    async def on_event(self, event):
        if isinstance(event, events.Key) and event.key in watch:
            marks.clear()
            marks["key"] = time.perf_counter()
        await super().on_event(event)

    def _display(self, screen, renderable):
        super()._display(screen, renderable)
        if "commit" in marks and "frame" not in marks:
            marks["frame"] = time.perf_counter()


async def main():
    store = open_store(sys.argv[1])
    storage = store.db.storage
    commit = storage._commit

    def timed_commit(*args, **kwargs):
        commit(*args, **kwargs)
        marks["commit"] = time.perf_counter()

    storage._commit = timed_commit
    app = Timed(store)
    figures = {}
    async with app.run_test(size=(80, 24)) as pilot:

        async def save(name, key):
            watch.add(key)
            await pilot.press(key)
            for _ in range(500):
                if "frame" in marks:
                    break
                await pilot.pause(0.005)
            watch.clear()
            for part in ("commit", "frame"):
                figures.setdefault(f"{name}: to {part}", []).append(marks[part] - marks["key"])

        # The round first: a person who arrives now was not there for the rounds past.
        await pilot.press("f2")
        await pilot.press("k")
        await pilot.pause()
        for n in range(7):
            # Onto the next person by hand: an open row, or at an hour when the
            # demo's round is all entered, a correction of that person's reading.
            await pilot.press("down")
            await pilot.press(*str(360 + n))
            await pilot.pause()
            await save("a temperature (round, enter)", "enter")
        await pilot.press("escape")
        await pilot.pause()
        for n in range(7):
            await pilot.press("n")
            await pilot.pause()
            for field, value in (("name", f"测试{n}"), ("id_type", "passport")):
                app.screen.query_one(f"#field-{field}").value = value
            app.screen.query_one("#field-id_number").value = "E%07d" % n
            await pilot.pause()
            await save("an arrival (new-arrival form, ctrl+s)", "ctrl+s")
            await pilot.press("escape")
            await pilot.pause()
    # The first save of each kind warms caches: leave it out.
    print(json.dumps({name: values[1:] for name, values in figures.items()}))

asyncio.run(main())
"""


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if result.returncode:
        sys.exit(f"benchmark step failed:\n{result.stderr}")
    return result


def measure(scale: int, runs: int, console: Console) -> dict[str, list[float]]:
    """Write the demo at ``scale``, print the key table, return the save figures."""
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "demo.db"
        started = time.perf_counter()
        run([sys.executable, "-m", "isolation_tui", "demo", "--db", str(db), "--scale", str(scale)])
        console.print(f"demo --scale {scale} written in {time.perf_counter() - started:.1f} s")
        # The demo's history is years old: a probe's session would seal it by itself
        # midway (beside it, then reading the result), which is not what is timed here.
        run([sys.executable, "-m", "isolation_tui", "seal", "--auto", "off", "--db", str(db)])
        results = []
        saves: dict[str, list[float]] = {}
        for i in range(runs):
            # Each run starts from the same data; the probe's saves would add up.
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            for n, probe in enumerate((PROBE, SAVE_PROBE)):
                # Every file of the store (snapshot, journal, sealed months) but the
                # lock, under the same names in a folder of its own: a probe's saves
                # must not reach the next copy.
                here = Path(folder) / f"run-{i}-{n}"
                here.mkdir()
                for part in Path(folder).iterdir():
                    if part.name.startswith(db.name) and not part.name.endswith("-lock"):
                        shutil.copy2(part, here / part.name)
                copy = here / db.name
                out = run([sys.executable, "-c", probe, str(copy)], env=env)
                shutil.rmtree(here)
                figures = json.loads(out.stdout.strip().splitlines()[-1])
                if probe is PROBE:
                    results.append(figures)
                else:
                    for name, values in figures.items():
                        saves.setdefault(name, []).extend(values)
    documents = results[0]["documents"]
    saves["documents"] = [documents]
    table = Table(title=f"Terminal program on demo --scale {scale} ({documents:,} documents)")
    table.add_column("what")
    table.add_column("median", justify="right")
    table.add_column("worst", justify="right")
    first = [r["first_frame"] for r in results]
    table.add_row(
        "start to first frame",
        f"{statistics.median(first) * 1000:.0f} ms",
        f"{max(first) * 1000:.0f} ms",
    )
    for key in results[0]:
        if key in ("first_frame", "documents"):
            continue
        values = [v for r in results for v in r[key]]
        table.add_row(
            key, f"{statistics.median(values) * 1000:.0f} ms", f"{max(values) * 1000:.0f} ms"
        )
    console.print(table)
    return saves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, nargs="+", default=[1])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes for first frame")
    args = parser.parse_args()
    console = Console()
    console.print(
        f"python benchmarks/bench_tui.py --scale {' '.join(map(str, args.scale))}   "
        f"({os.cpu_count()} CPUs, Python {sys.version.split()[0]})"
    )
    by_scale = {scale: measure(scale, args.runs, console) for scale in args.scale}
    table = Table(title="A save inside the program (from the key event), median / worst")
    table.add_column("what")
    for scale, saves in by_scale.items():
        table.add_column(f"scale {scale} ({saves['documents'][0]:,} docs)", justify="right")
    for name in next(iter(by_scale.values())):
        if name == "documents":
            continue
        cells = []
        for saves in by_scale.values():
            values = saves[name]
            cells.append(f"{statistics.median(values) * 1000:.0f} / {max(values) * 1000:.0f} ms")
        table.add_row(name, *cells)
    console.print(table)


if __name__ == "__main__":
    main()
