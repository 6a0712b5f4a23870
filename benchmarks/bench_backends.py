"""The file store and PostgreSQL side by side, on the same work, in one run.

    python benchmarks/bench_backends.py [--saves 60] [--runs 3]

Writes the demo (scale 1, about 94,000 documents) into a file store and into a
PostgreSQL database on a server this run starts itself (``initdb`` into a temporary
folder, a Unix socket there, as the tests do; stopped at the end), then measures on
each:

* **a supervisor's save**: ``store.stays.register`` of one person, median and p95;
* **stats cold**: ``isolation-tui stats --json`` in a fresh process, start to exit;
* **first frame**: a fresh process, from start to the overview drawn (80×24);
* **seen by another session**: from one session's save returning to a second
  session, calling ``refresh()`` as the terminal program does, holding it (the file
  store: a ``stat`` of the journal; PostgreSQL: the NOTIFY on its socket);
* **a 5,000-row import**: ``isolation-tui import arrivals`` of 5,000 people into a
  point of 5,000 rooms, in a fresh process;
* **memory per idle session**: resident memory of a process that opened the store
  and waits (for PostgreSQL, plus the server process serving its connection).

Figures are printed, never asserted. The server runs with ``fsync=off`` like the
tests' own, so its saves are cheaper than a production server's would be.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from pg_server import running_server

from isolation_tui.domain.idnumber import make_resident_id
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store

IMPORT_ROWS = 5000

FIRST_FRAME = r"""
import sys, time
started = time.perf_counter()
import asyncio
from isolation_tui.app import IsolationApp
from isolation_tui.storage.repository import open_store

async def main():
    app = IsolationApp(open_store(sys.argv[1]))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        print(time.perf_counter() - started)

asyncio.run(main())
"""

IDLE = r"""
import sys
from isolation_tui.storage.repository import open_store
store = open_store(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
"""


def cli(*args: str) -> float:
    """Wall time of ``isolation-tui ARGS`` in a fresh process."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "isolation_tui", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return time.perf_counter() - started


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def arrival(n: int, point: str) -> dict[str, str]:
    return {
        "point": point,
        "name": f"旅客{n}",
        "id_type": "passport",
        "id_number": f"BENCH{n:07d}",
        "category": "inbound",
        "arrived_at": "2026-11-28 14:05",
    }


def saves(store: Store, count: int, point: str) -> list[float]:
    times = []
    for n in range(count):
        started = time.perf_counter()
        store.stays.register(arrival(n, point))
        times.append(time.perf_counter() - started)
    return times


def seen_by_another(location: str, writer: Store, point: str, count: int) -> list[float]:
    """A second session refreshes every 5 ms (the terminal program: every 250 ms);
    the figure is from the save returning to the refresh that brings it in."""
    follower = open_store(location, actor=Actor("follower"))
    times = []

    def follow(done: threading.Event, seen: list[float]) -> None:
        while not done.is_set():
            if follower.refresh():
                seen.append(time.perf_counter())
                return
            time.sleep(0.005)

    for n in range(count):
        done = threading.Event()
        seen: list[float] = []
        thread = threading.Thread(target=follow, args=(done, seen))
        thread.start()
        writer.stays.register(arrival(100_000 + n, point))
        saved = time.perf_counter()
        thread.join(timeout=10)
        done.set()
        if seen:
            # The file store's follower may read the entry before the writer's call
            # has returned (after the append, during its fsync): that counts as 0.
            times.append(max(0.0, seen[0] - saved))
    follower.close()
    return times


def big_point(location: str, folder: Path) -> Path:
    store = open_store(location)
    rooms = [
        {"code": f"{r + 1:05d}", "floor": str(r // 50 + 1), "beds": 1, "blocked": False}
        for r in range(IMPORT_ROWS)
    ]
    store.save_point("BIG", "基准点", rooms)  # type: ignore[arg-type]
    store.close()
    file = folder / "arrivals-5000.csv"
    if not file.exists():
        with file.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(("point", "name", "id_number", "category", "arrived_at"))
            for n in range(IMPORT_ROWS):
                number = make_resident_id("210603", date(1930, 1, 1) + timedelta(days=n), n % 1000)
                out.writerow(("BIG", f"旅客{n}", number, "inbound", "2022-03-25 14:05"))
    return file


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def idle_memory(location: str, server_pid_of: object = None) -> tuple[int, int]:
    """RSS of an idle session, and of the server process serving it (0 for a file)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", IDLE, location],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    proc.stdout.readline()
    client = rss_kib(proc.pid)
    server = 0
    if callable(server_pid_of):
        server = sum(rss_kib(pid) for pid in server_pid_of())
    proc.stdin.write("\n")
    proc.stdin.close()
    proc.wait()
    return client, server


def measure(location: str, folder: Path, args: argparse.Namespace, backends: object) -> dict:
    figures: dict[str, object] = {}
    started = time.perf_counter()
    cli("demo", "--db", location, "--force")
    figures["demo"] = time.perf_counter() - started
    store = open_store(location, actor=Actor("bench"))
    point = "BENCH"
    rooms = [
        {"code": f"{r + 1:04d}", "floor": "1", "beds": 1, "blocked": False}
        for r in range(args.saves + args.runs * 5)
    ]
    store.save_point(point, "基准点", rooms)  # type: ignore[arg-type]
    times = saves(store, args.saves, point)
    figures["save"] = (statistics.median(times), p95(times))
    seen = seen_by_another(location, store, point, args.runs * 5)
    figures["seen"] = statistics.median(seen) if seen else float("nan")
    store.close()
    figures["stats"] = statistics.median(
        cli("stats", "--json", "--db", location) for _ in range(args.runs)
    )
    frames = []
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, "-c", FIRST_FRAME, location],
            capture_output=True,
            text=True,
            check=True,
        )
        frames.append(float(out.stdout.strip().splitlines()[-1]))
    figures["first_frame"] = statistics.median(frames)
    file = big_point(location, folder)
    figures["import"] = cli("import", "arrivals", str(file), "--db", location)
    figures["memory"] = idle_memory(location, backends)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=60, help="saves to time per store")
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per figure")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory(prefix="bench-backends-") as tmp, running_server() as server:
        folder = Path(tmp)
        url = server.new_database()
        database = urlsplit(url).path.lstrip("/")

        def backends() -> list[int]:
            import psycopg

            with psycopg.connect(server.url()) as conn:
                rows = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,)
                ).fetchall()
            return [row[0] for row in rows]

        results = {
            "file": measure(str(folder / "isolation.db"), folder, args, None),
            "PostgreSQL": measure(url, folder, args, backends),
        }
    table = Table(title="The file store and PostgreSQL (demo scale 1, ~94,000 documents)")
    table.add_column("")
    for name in results:
        table.add_column(name, justify="right")

    def row(label: str, show: object) -> None:
        table.add_row(label, *(show(r) for r in results.values()))  # type: ignore[operator]

    row("writing the demo", lambda r: ms(r["demo"]))
    row("a save (an arrival), median / p95", lambda r: f"{ms(r['save'][0])} / {ms(r['save'][1])}")
    row("stats, cold (fresh process)", lambda r: ms(r["stats"]))
    row("first frame (fresh process)", lambda r: ms(r["first_frame"]))
    row("another session sees a save", lambda r: ms(r["seen"]))
    row(f"import of {IMPORT_ROWS:,} arrivals", lambda r: ms(r["import"]))
    row(
        "memory per idle session",
        lambda r: (
            f"{r['memory'][0] / 1024:,.0f} MiB"
            + (f" + {r['memory'][1] / 1024:,.0f} MiB server" if r["memory"][1] else "")
        ),
    )
    console.print(table)
    print(json.dumps({k: {n: v for n, v in r.items()} for k, r in results.items()}, default=str))


if __name__ == "__main__":
    main()
