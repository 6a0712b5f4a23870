"""How the terminal program feels on a big database: first frame, keys, saves.

    python benchmarks/bench_tui.py [--scale 1]

Writes the demo at ``--scale N`` (scale 1 stores about 94,000 documents), then
in a fresh process for each measurement: the time from start (before importing
anything) to the first frame of the overview, and the time each key takes to be
handled with the screen redrawn: F2 to the arrivals list, typing a filter, opening
the new-arrival form, saving an arrival, F3 and F4. Each key figure is the median
of several runs, and includes the test harness's own cost per key, shown on its
own row. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
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
from isolation_tui.storage.repository import open_store, STAYS
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


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    if result.returncode:
        sys.exit(f"benchmark step failed:\n{result.stderr}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="fresh processes for first frame")
    args = parser.parse_args()
    console = Console()
    console.print(
        f"python benchmarks/bench_tui.py --scale {args.scale}   "
        f"({os.cpu_count()} CPUs, Python {sys.version.split()[0]})"
    )
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "demo.db"
        started = time.perf_counter()
        run(
            [
                sys.executable,
                "-m",
                "isolation_tui",
                "demo",
                "--db",
                str(db),
                "--scale",
                str(args.scale),
            ]
        )
        console.print(f"demo --scale {args.scale} written in {time.perf_counter() - started:.1f} s")
        results = []
        for _ in range(args.runs):
            # Each run starts from the same data; the probe's saves would add up.
            copy = Path(folder) / "copy.db"
            # A fresh demo is one standalone file; the probe's saves gave the copy a
            # journal, which must not stay beside the next copy.
            for suffix in ("", "-journal"):
                source, target = Path(f"{db}{suffix}"), Path(f"{copy}{suffix}")
                target.unlink(missing_ok=True)
                if source.exists():
                    target.write_bytes(source.read_bytes())
            out = run(
                [sys.executable, "-c", PROBE, str(copy)],
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    documents = results[0]["documents"]
    table = Table(title=f"Terminal program on demo --scale {args.scale} ({documents:,} documents)")
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


if __name__ == "__main__":
    main()
