"""Import benchmark: a good file, the same file with one bad last row, and a dry run.

Run from the repository root (under a minute with the defaults)::

    python benchmarks/bench_import.py                       # 2,000, 5,000 and 10,000 rows
    python benchmarks/bench_import.py --sizes 5000,10000,20000

For each size it sets up a database with one point and beds for everyone (in a
temporary directory, ``--tmpdir``), writes an arrivals CSV of that many people,
and times ``run_import`` (the ``import`` command without interpreter start-up) on
a fresh copy of the database for each case:

* **good**: every row imported and committed;
* **bad last row**: the last row has a wrong check digit, so every row is checked,
  then the whole import is abandoned and nothing is written;
* **dry run**: ``--dry-run`` of the good file.

Refusing a file (or rehearsing it) must cost no more than importing it: the last
column gives the worst of the two others divided by the good import, and the
line after the table says PASS when that stays under 1.5 at every size and the
per-row cost of each case at the largest size stays within 1.5 times the one at
the smallest (linear, not quadratic).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from isolation_tui.domain.idnumber import make_resident_id
from isolation_tui.headless.imports import run_import
from isolation_tui.i18n import set_language
from isolation_tui.storage.repository import open_store

HEADER = ("point", "name", "id_number", "category", "arrived_at")
BEDS_PER_ROOM = 100


def arrivals_csv(path: Path, rows: int, *, bad_last: bool) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    for n in range(rows):
        number = make_resident_id("210602", date(1950, 1, 1) + timedelta(days=n), n)
        if bad_last and n == rows - 1:
            number = number[:-1] + ("0" if number[-1] != "0" else "1")
        writer.writerow(("P1", f"测试{n}", number, "inbound", "2022-03-25 14:05"))
    path.write_text(buffer.getvalue(), encoding="utf-8")


def base_database(path: Path, rows: int) -> None:
    store = open_store(path, create=True)
    try:
        rooms = [
            {"code": str(1000 + i), "floor": str(i // 20), "beds": BEDS_PER_ROOM, "blocked": False}
            for i in range(rows // BEDS_PER_ROOM + 1)
        ]
        store.save_point("P1", "基准酒店", rooms)  # type: ignore[arg-type]
    finally:
        store.close()


def timed(kind: str, file: Path, db: Path, *, dry_run: bool) -> tuple[float, int]:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        start = time.perf_counter()
        code = run_import(kind, file, db, dry_run=dry_run)
        return time.perf_counter() - start, code


def copy_db(base: Path, target_dir: Path) -> Path:
    target_dir.mkdir()
    for part in base.parent.iterdir():
        if part.name.startswith(base.name) and not part.name.endswith("-lock"):
            shutil.copy2(part, target_dir / part.name)
    return target_dir / base.name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,5000,10000", help="rows per file, comma-separated")
    parser.add_argument("--tmpdir", default=None, help="where to build the databases")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    set_language("en")
    results: list[tuple[int, float, float, float]] = []
    print(f"{'rows':>7} {'good s':>8} {'bad last row s':>15} {'dry run s':>10} {'worst/good':>11}")
    with tempfile.TemporaryDirectory(dir=args.tmpdir, prefix="bench-import-") as tmp:
        root = Path(tmp)
        for rows in sizes:
            work = root / str(rows)
            work.mkdir()
            base = work / "base" / "points.db"
            base.parent.mkdir()
            base_database(base, rows)
            good, bad = work / "good.csv", work / "bad.csv"
            arrivals_csv(good, rows, bad_last=False)
            arrivals_csv(bad, rows, bad_last=True)
            good_s, code = timed("arrivals", good, copy_db(base, work / "g"), dry_run=False)
            assert code == 0, "the good file must import"
            bad_s, code = timed("arrivals", bad, copy_db(base, work / "b"), dry_run=False)
            assert code == 1, "the bad file must be refused"
            dry_s, code = timed("arrivals", good, copy_db(base, work / "d"), dry_run=True)
            assert code == 0, "the dry run must pass"
            results.append((rows, good_s, bad_s, dry_s))
            ratio = max(bad_s, dry_s) / good_s
            print(f"{rows:>7} {good_s:>8.2f} {bad_s:>15.2f} {dry_s:>10.2f} {ratio:>11.2f}")
            shutil.rmtree(work)
    within = all(max(b, d) / g < 1.5 for _, g, b, d in results)
    first, last = results[0], results[-1]
    linear = (
        all((last[i] / last[0]) <= 1.5 * (first[i] / first[0]) for i in (1, 2, 3))
        if len(results) > 1
        else True
    )
    verdict = "PASS" if within and linear else "FAIL"
    print(f"{verdict}: refusing or rehearsing costs under 1.5x the import, per row cost linear")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
