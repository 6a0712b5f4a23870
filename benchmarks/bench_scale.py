"""How the cost of everyday commands grows with the history a database holds.

    python benchmarks/bench_scale.py                    # scales 1 and 10, side by side
    python benchmarks/bench_scale.py --scale 1 10 40    # and 40 (about half an hour more)

Writes the demo at each ``--scale`` (its wall time and peak memory are the first
rows: scale N is a point that has run N times as long, today's work the same as
scale 1's and the earlier N - 1 periods history the demo sealed as it went), seals
the finished history as a point's monthly seal does (``seal``: all but the last two
months, as a session's automatic seal when a month turns; ``--no-seal`` leaves
today's period all live), then times, each in a
fresh process and median of ``--runs``:

* ``stats --json``, cold: wall time and peak memory (the process's maximum RSS);
* the terminal program: start (before any import) to the first frame of the
  overview, and its memory once idle for a second;
* ``check`` and ``handover --format md``: wall time;
* a one-row ``import arrivals``: wall time, on a fresh copy of the database each run;
* ``export arrivals --format csv`` and ``export audit --format json`` to a file:
  wall time, peak memory and the rows written (an export costs the rows it writes,
  its memory the biggest sealed month, not the rows).

Figures are printed side by side, never asserted; after them, each scale's figure
over the first scale's (the issue's targets are ratios, and differences in seconds).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

FIRST_FRAME = r"""
import asyncio, sys, time
started = time.perf_counter()
from isolation_tui.app import IsolationApp
from isolation_tui.i18n import set_language
from isolation_tui.storage.repository import open_store

set_language("zh")

def rss_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

async def main():
    app = IsolationApp(open_store(sys.argv[1]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        first = time.perf_counter() - started
        await pilot.pause(1.0)
        print(first, rss_mib())

asyncio.run(main())
"""

ONE_ROW = (
    "point,name,id_type,id_number,category,arrived_at\nZX01,基准,passport,E9000001,inbound,{at}\n"
)

Figures = dict[str, list[float]]


def timed(cmd: list[str]) -> tuple[float, str]:
    """Wall seconds and standard output of ``cmd``, which must succeed."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"benchmark step failed: {' '.join(cmd)}\n{proc.stderr}")
    return time.perf_counter() - started, proc.stdout


def peak(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of ``cmd``, reaped with ``wait4``."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        assert proc.stderr is not None
        sys.exit(f"benchmark step failed: {' '.join(cmd)}\n{proc.stderr.read().decode()}")
    return wall, usage.ru_maxrss / 1024


def copy_db(source: Path, target: Path) -> Path:
    """A fresh copy of the database ``source`` (with whatever files belong to it)."""
    for old in target.parent.glob(target.name + "*"):
        old.unlink()
    for part in source.parent.glob(source.name + "*"):
        if part.name.endswith("-lock"):
            continue
        shutil.copyfile(part, target.with_name(target.name + part.name[len(source.name) :]))
    return target


def measure(scale: int, runs: int, seal: bool, folder: Path, console: Console) -> Figures:
    db = folder / f"scale{scale}.db"
    cli = [sys.executable, "-m", "isolation_tui", "--lang", "en"]
    figures: Figures = {}

    def add(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    wall, rss = peak([*cli, "demo", "--db", str(db), "--scale", str(scale)])
    add("demo written: wall (s)", wall)
    add("demo written: peak memory (MiB)", rss)
    console.print(f"demo --scale {scale} written in {wall:.1f} s, peak {rss:.0f} MiB")

    # One untimed run first: the session's first saves give a demo file its journal.
    work = copy_db(db, folder / "work.db")
    peak([*cli, "stats", "--json", "--db", str(work)])
    if seal:
        started = time.perf_counter()
        timed([*cli, "seal", "--db", str(work)])
        console.print(f"sealed in {time.perf_counter() - started:.1f} s")
    else:
        # Left all live: a session must not seal it by itself either.
        timed([*cli, "seal", "--auto", "off", "--db", str(work)])
    one_csv = folder / "one.csv"
    one_csv.write_text(ONE_ROW.format(at=time.strftime("%Y-%m-%d %H:%M")), encoding="utf-8")

    def stats() -> None:
        wall, rss = peak([*cli, "stats", "--json", "--db", str(work)])
        add("stats --json, cold: wall (s)", wall)
        add("stats --json, cold: peak memory (MiB)", rss)

    def session() -> None:
        out = timed([sys.executable, "-c", FIRST_FRAME, str(work)])[1]
        first, rss = map(float, out.split()[-2:])
        add("first frame (s)", first)
        add("idle session memory (MiB)", rss)

    def check() -> None:
        add("check (s)", timed([*cli, "check", "--db", str(work)])[0])

    def handover() -> None:
        wall = timed([*cli, "handover", "--format", "md", "--db", str(work)])[0]
        add("handover --format md (s)", wall)

    def one_row() -> None:
        target = copy_db(work, folder / "import.db")
        wall = timed([*cli, "import", "arrivals", str(one_csv), "--db", str(target)])[0]
        add("one-row import (s)", wall)

    def exports() -> None:
        for kind, fmt in (("arrivals", "csv"), ("audit", "json")):
            out = folder / f"export.{fmt}"
            wall, rss = peak(
                [*cli, "export", kind, "--format", fmt, "--out", str(out), "--db", str(work)]
            )
            name = f"export {kind} {fmt.upper()}"
            add(f"{name}: wall (s)", wall)
            add(f"{name}: peak memory (MiB)", rss)
            add(f"{name}: rows written", rows_in(out, fmt))
            out.unlink()

    steps: list[Callable[[], None]] = [stats, session, check, handover, one_row, exports]
    for _ in range(runs):
        # Taken in turns, so a burst of other processes' work hits every figure alike.
        for step in steps:
            step()
    figures["documents"] = [float(documents(work))]
    return figures


def rows_in(path: Path, fmt: str) -> int:
    """Rows in an export, read as it was written (a row at a time)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        if fmt == "csv":
            return sum(1 for _ in csv.reader(fh)) - 1
        # Each row of the list starts a line with "  {" (the rows are indented by two).
        return sum(1 for line in fh if line.rstrip("\n") == "  {")


def documents(db: Path) -> int:
    """Documents stored, sealed ones counted from their segments' headers (reading
    them all in would take the memory this benchmark shows is not needed)."""
    from isolation_tui.storage.repository import open_store

    store = open_store(db, read_only=True)
    try:
        storage = store.db.storage
        headers, _ = storage.sealed_outside()
        sealed = sum(sum(header["counts"].values()) for header in headers)
        return sealed + sum(len(rows) for rows in storage.live_tables().values())
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per figure")
    parser.add_argument("--no-seal", dest="seal", action="store_false", help="seal nothing")
    args = parser.parse_args()
    console = Console(width=170)
    scales = " ".join(map(str, args.scale))
    console.print(
        f"python benchmarks/bench_scale.py --scale {scales} --runs {args.runs}"
        f"{'' if args.seal else ' --no-seal'}   "
        f"({os.cpu_count()} CPUs, Python {sys.version.split()[0]})"
    )
    with tempfile.TemporaryDirectory() as tmp:
        by_scale = {s: measure(s, args.runs, args.seal, Path(tmp), console) for s in args.scale}
    table = Table(title="Everyday commands against the history held (medians)")
    table.add_column("what")
    for scale, figures in by_scale.items():
        table.add_column(f"scale {scale} ({figures['documents'][0]:,.0f} docs)", justify="right")
    first = args.scale[0]
    for scale in args.scale[1:]:
        table.add_column(f"×{scale} / ×{first}", justify="right")
    for name in next(iter(by_scale.values())):
        if name == "documents":
            continue
        medians = [statistics.median(figures[name]) for figures in by_scale.values()]
        whole = "MiB" in name or "rows" in name
        cells = [f"{m:,.0f}" if whole else f"{m:.2f}" for m in medians]
        for median in medians[1:]:
            ratio = f"{median / medians[0]:.2f}×"
            if "(s)" in name:
                ratio += f" ({median - medians[0]:+.2f} s)"
            cells.append(ratio)
        table.add_row(name, *cells)
    console.print(table)


if __name__ == "__main__":
    main()
