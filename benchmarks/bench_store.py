"""Storage benchmark: this store against stock TinyDB and SQLite, side by side.

Run from the repository root (a few minutes with the defaults)::

    python benchmarks/bench_store.py                  # 10,000 and 100,000 documents
    python benchmarks/bench_store.py --quick          # fewer repetitions, same sizes
    python benchmarks/bench_store.py --sizes 10000 --inserts 100

For each size it builds three stores of that many stay-shaped documents (about 15
fields and a nested ``person``) in a temporary directory (``--tmpdir``, default the
system one, e.g. ``/tmp``) and measures:

* **durable insert**: one ``insert`` that is on disk when the call returns; median
  and p95 over ``--inserts`` calls for this store and SQLite, a handful for stock
  TinyDB (it rewrites the whole file each time);
* **open + counters, cold**: a fresh process opens the store and computes the
  counters (this store: ``open_store(path).counters()`` over a database of real
  stays, with their discharges, incidents and audit entries; stock TinyDB: open,
  read every document, count by point and status; SQLite: open and a ``COUNT(*)
  ... GROUP BY`` over ``json_extract``). The files are first evicted from the page
  cache (``posix_fadvise(DONTNEED)``), so the disk is read too. "open+count" is the
  open and count alone; "with start-up" adds interpreter start-up and imports;
* **seen by another process**: a follower process polls every 50 ms (this store:
  ``Database.refresh()``, a ``stat`` when nothing changed; stock TinyDB: ``stat``,
  then re-read the file; SQLite: ``PRAGMA data_version``) and reports when it sees a
  specific new document; the time runs from the writer's call returning, median of
  several writes;
* **peak memory**: the maximum RSS of the process that opens and counts;
* and, in a line of its own, what this store's occasional journal compaction costs.

All stores are built before any timing, and the inserts of this store and SQLite
(at every size) are taken in turns, one each, so that a burst of other processes'
disk traffic hits them all alike; the open + count runs also take turns.

The engines, as configured here:

* **this store**: ``isolation_tui.storage.database.Database`` (TinyDB over the
  journaled storage: one checksummed journal line and an ``fdatasync`` per commit);
* **stock TinyDB**: ``TinyDB(path)`` with the default ``JSONStorage`` (it does
  ``fsync``, but rewrites the file in place: not crash-safe);
* **SQLite**: ``journal_mode=WAL``, ``synchronous=FULL``, one row per document with
  the document as JSON text (serialised with orjson), each insert its own
  transaction.

At the largest size (100,000 by default) it checks the targets of the design and
prints PASS or FAIL for each: an insert at most 2 ms median and within 5 times
SQLite's; an insert at the largest size within 1.5 times the cost at the smallest;
open + counters under 1 s; another process sees a write within 0.5 s.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import platform
import queue
import random
import resource
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

POLL_SECONDS = 0.05
MARKER_PREFIX = "bench-marker-"
ENGINES = ("ours", "tinydb", "sqlite")
ENGINE_NAMES = {"ours": "this store", "tinydb": "stock TinyDB", "sqlite": "SQLite"}
TABLE = "stays"

# Targets at the largest size.
TARGET_INSERT_MEDIAN = 0.002
TARGET_INSERT_VS_SQLITE = 5.0
TARGET_INSERT_GROWTH = 1.5
TARGET_OPEN_COUNT = 1.0
TARGET_SEEN = 0.5


# ---------------------------------------------------------------- documents


_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
_ORIGINS = ("Shanghai", "Dalian", "Seoul", "Incheon", "Sinuiju", "Shenyang", "Beijing")
_CATEGORIES = ("inbound", "close_contact", "secondary_contact", "high_risk_area", "other")


def make_doc(i: int, rng: random.Random) -> dict[str, Any]:
    """A document shaped like a stored stay (15 fields, a nested person)."""
    day = 1 + rng.randrange(28)
    month = 1 + rng.randrange(6)
    arrived = f"2022-{month:02d}-{day:02d} {rng.randrange(24):02d}:{rng.randrange(60):02d}"
    open_ = rng.random() < 0.15
    return {
        "point": f"P{rng.randrange(32):02d}",
        "room": f"{1 + rng.randrange(6)}{rng.randrange(1, 40):02d}",
        "person": {
            "name": rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN),
            "sex": rng.choice(("male", "female")),
            "birth_date": f"{1950 + rng.randrange(60)}-{1 + rng.randrange(12):02d}-"
            f"{1 + rng.randrange(28):02d}",
            "id_type": "passport",
            "id_number": f"E{i:08d}",
            "nationality": rng.choice(("CN", "CN", "CN", "KR", "RU")),
            "phone": f"13{rng.randrange(10**9):09d}",
        },
        "origin": rng.choice(_ORIGINS),
        "transport": f"flight CA{rng.randrange(100, 999)}",
        "category": rng.choice(_CATEGORIES),
        "arrived_at": arrived,
        "quarantine_days": 14,
        "extensions": [],
        "release_due": f"2022-{month + 1:02d}-{day:02d}",
        "status": "open" if open_ else "discharged",
        "discharge": None if open_ else i,
        "notes": "",
        "created": {"at": arrived, "who": "bench"},
    }


def make_docs(n: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [make_doc(i, rng) for i in range(1, n + 1)]


def marker_doc(k: int) -> dict[str, Any]:
    doc = make_doc(10_000_000 + k, random.Random(k))
    doc["notes"] = f"{MARKER_PREFIX}{k}"
    return doc


# ---------------------------------------------------------------- engines


def _sqlite_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def store_files(engine: str, path: Path) -> list[Path]:
    if engine == "ours":
        names = [path.name, path.name + "-journal"]
    elif engine == "sqlite":
        names = [path.name, path.name + "-wal"]
    else:
        names = [path.name]
    return [path.with_name(name) for name in names if path.with_name(name).exists()]


def build(engine: str, path: Path, docs: list[dict[str, Any]]) -> None:
    """A store holding ``docs``, written in one go and settled on disk."""
    if engine == "ours":
        from isolation_tui.storage.database import Database

        db = Database(path, create=True, who="bench")
        db.table(TABLE).insert_multiple(docs)
        db.storage.compact()  # a long-lived database: everything in the snapshot
        db.close()
    elif engine == "tinydb":
        from tinydb import TinyDB

        tdb = TinyDB(path)
        tdb.table(TABLE).insert_multiple(docs)
        tdb.close()
    else:
        import orjson

        conn = _sqlite_connect(path)
        conn.execute(f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, doc TEXT NOT NULL)")
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO {TABLE} (doc) VALUES (?)", ((orjson.dumps(d).decode(),) for d in docs)
        )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()


class Writer:
    """An open store in this process, inserting one document per durable commit."""

    def __init__(self, engine: str, path: Path) -> None:
        self.engine = engine
        self._close: Callable[[], None]
        if engine == "ours":
            from isolation_tui.storage.database import Database

            db = Database(path, who="bench")
            self.db = db
            self.insert: Callable[[dict[str, Any]], Any] = db.table(TABLE).insert
            self._close = db.close
        elif engine == "tinydb":
            from tinydb import TinyDB

            tdb = TinyDB(path)
            self.insert = tdb.table(TABLE).insert
            self._close = tdb.close
        else:
            import orjson

            conn = _sqlite_connect(path)
            sql = f"INSERT INTO {TABLE} (doc) VALUES (?)"

            def insert(doc: dict[str, Any]) -> Any:
                return conn.execute(sql, (orjson.dumps(doc).decode(),)).lastrowid

            self.insert = insert
            self._close = conn.close

    def close(self) -> None:
        self._close()


# ---------------------------------------------------------------- real stays


def demo_available() -> bool:
    try:
        return importlib.util.find_spec("isolation_tui.headless.demo") is not None
    except ModuleNotFoundError:
        return False


def run_demo(path: Path, scale: int) -> None:
    subprocess.run(
        [sys.executable, "-m", "isolation_tui", "demo", "--db", str(path), "--scale", str(scale)],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "LANG": "C.UTF-8"},
    )


_DEMO_POINTS = (
    "import sys; from pathlib import Path; from isolation_tui.headless.demo import run_demo; "
    "sys.exit(run_demo(Path(sys.argv[1]), force=True, scale=1, points=sys.argv[2].split(',')))"
)


def run_demo_points(path: Path, codes: list[str]) -> None:
    """Only these points' part of the demo (every rule still kept)."""
    subprocess.run(
        [sys.executable, "-c", _DEMO_POINTS, str(path), ",".join(codes)],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "LANG": "C.UTF-8"},
    )


@dataclass
class DemoProbe:
    """One scale-1 demo: its documents, and its people by point."""

    docs: int
    people: dict[str, int]


_PROBE: list[DemoProbe] = []


def probe_demo(folder: Path) -> DemoProbe:
    if not _PROBE:
        from collections import Counter

        from isolation_tui.storage.repository import open_store

        probe = folder / "demo-probe.db"
        run_demo(probe, 1)
        store = open_store(probe, read_only=True)
        try:
            docs = sum(len(rows) for rows in store.db.storage.tables().values())
            people = Counter(stay["point"] for stay in store.rows("stays").values())
        finally:
            store.close()
        for extra in probe.parent.glob(probe.name + "*"):
            extra.unlink()
        _PROBE.append(DemoProbe(docs, dict(people)))
    return _PROBE[0]


def demo_points(probe: DemoProbe, target_docs: int) -> list[str]:
    """Points of the demo whose part of it holds about ``target_docs`` documents
    (documents grow with the people: their rounds, tests and audit)."""
    wanted = target_docs / probe.docs * sum(probe.people.values())
    chosen: list[str] = []
    total = 0
    for code, people in sorted(probe.people.items(), key=lambda item: (-item[1], item[0])):
        if total + people <= wanted * 1.03:
            chosen.append(code)
            total += people
    return sorted(chosen) or [min(probe.people, key=probe.people.__getitem__)]


def build_real(path: Path, target_docs: int, how: str) -> str:
    """A store of real stays with about ``target_docs`` documents; how it was built.

    One unit of the demo (1371 people with two health checks a day and their tests)
    is about 94,000 documents: a larger store is the demo at a larger ``--scale``, a
    smaller one the part of the demo at a few of its points."""
    if how == "demo" or (how == "auto" and demo_available()):
        try:
            probe = probe_demo(path.parent)
            if target_docs >= 0.75 * probe.docs:
                scale = max(1, min(1000, round(target_docs / probe.docs)))
                run_demo(path, scale)
                return f"isolation-tui demo --scale {scale}"
            codes = demo_points(probe, target_docs)
            run_demo_points(path, codes)
            return f"the demo's points {', '.join(codes)}"
        except subprocess.CalledProcessError:
            if how == "demo":
                raise
            for extra in path.parent.glob(path.name + "*"):
                extra.unlink()
    build_arrivals(path, target_docs)
    return "store.stays.register and .discharge, one transaction"


def build_arrivals(path: Path, target_docs: int) -> None:
    """Points, then people: 85 % discharged (mostly home, after four negative tests),
    15 % still in isolation, and a few incidents."""
    from isolation_tui.storage.actor import Actor
    from isolation_tui.storage.repository import open_store

    rng = random.Random(7)
    store = open_store(path, create=True, actor=Actor("bench"))
    # Documents with the audit: an arrival 2 and its 4 planned tests 8; a discharge 3
    # more, and a release home first needs the 4 results (4 audit entries).
    people = max(1, round(target_docs / (0.85 * (13 + 0.95 * 4) + 0.15 * 10)))
    with store.transaction():
        for p in range(32):
            rooms = [
                {"code": f"{floor}{n:02d}", "floor": str(floor), "beds": 4, "blocked": False}
                for floor in range(1, 5)
                for n in range(1, 11)
            ]
            store.save_point(f"P{p:02d}", f"Point {p:02d}", rooms)  # type: ignore[arg-type]
        for i in range(1, people + 1):
            doc = make_doc(i, rng)
            person = doc["person"]
            stay_id = store.stays.register(
                {
                    "point": doc["point"],
                    "room": "",
                    "name": person["name"],
                    "sex": person["sex"],
                    "birth_date": person["birth_date"],
                    "id_type": "passport",
                    "id_number": person["id_number"],
                    "nationality": person["nationality"],
                    "phone": person["phone"],
                    "origin": doc["origin"],
                    "transport": doc["transport"],
                    "category": doc["category"],
                    "arrived_at": doc["arrived_at"],
                }
            )
            if rng.random() < 0.85:
                kind = "released_home" if rng.random() < 0.95 else "hospital"
                if kind == "released_home":
                    arrived = store.get("stays", stay_id)["arrived_at"]  # type: ignore[index]
                    for test_id, test in store.health.tests_of(stay_id):
                        taken = max(test["planned_date"] + " 09:00", arrived)
                        store.health.record_result(test_id, "negative", taken)
                store.stays.discharge(
                    {
                        "stay": str(stay_id),
                        "discharged_at": doc["release_due"] + " 10:00",
                        "kind": kind,
                    }
                )
            if rng.random() < 0.005:
                store.incidents.open(
                    {
                        "point": doc["point"],
                        "occurred_at": doc["arrived_at"],
                        "kind": "fever",
                        "severity": "2",
                        "summary": "fever 38.2",
                        "status": "handled",
                        "handled_at": doc["release_due"] + " 09:00",
                        "resolution": "tested negative",
                    }
                )
    store.db.storage.compact()
    store.close()


# ---------------------------------------------------------------- workers
# These run in fresh processes: ``bench_store.py --worker '<json spec>'``.


def _rss_kb() -> int:
    """This process's peak RSS. ``VmHWM`` starts afresh at exec; ``ru_maxrss`` would
    carry over the parent's (forked) peak."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def worker_open_count(engine: str, path: str) -> dict[str, Any]:
    if engine == "ours":
        from isolation_tui.storage.repository import open_store

        start = time.perf_counter()
        store = open_store(path)
        counters = store.counters()
        seconds = time.perf_counter() - start
        docs = sum(len(rows) for rows in store.db.storage.tables().values())
        everyone = counters["*"]
        summary = {"received": everyone.received, "in_isolation": everyone.in_isolation}
    elif engine == "tinydb":
        from collections import Counter

        from tinydb import TinyDB

        start = time.perf_counter()
        tdb = TinyDB(path)
        rows = tdb.table(TABLE).all()
        by = Counter((row["point"], row["status"]) for row in rows)
        seconds = time.perf_counter() - start
        docs = len(rows)
        summary = {"groups": len(by), "open": sum(v for (_, s), v in by.items() if s == "open")}
    else:
        start = time.perf_counter()
        conn = _sqlite_connect(Path(path))
        groups = conn.execute(
            f"SELECT json_extract(doc, '$.point'), json_extract(doc, '$.status'), COUNT(*) "
            f"FROM {TABLE} GROUP BY 1, 2"
        ).fetchall()
        seconds = time.perf_counter() - start
        docs = sum(n for _, _, n in groups)
        summary = {"groups": len(groups), "open": sum(n for _, s, n in groups if s == "open")}
    return {"seconds": seconds, "docs": docs, "rss_kb": _rss_kb(), "summary": summary}


def _follow_ours(path: str) -> Callable[[str], bool]:
    from isolation_tui.storage.database import Database

    db = Database(path, who="follower")

    def seen(marker: str) -> bool:
        changes = db.refresh()
        tables = db.storage.tables()
        if changes.reloaded:
            return any(doc.get("notes") == marker for doc in tables.get(TABLE, {}).values())
        for table, key in changes.keys:
            doc = tables.get(table, {}).get(key)
            if doc is not None and doc.get("notes") == marker:
                return True
        return False

    return seen


class _TinyFollower:
    def __init__(self, path: str) -> None:
        from tinydb import TinyDB

        self.path = path
        self.table = TinyDB(path).table(TABLE)
        self.stamp = self._stamp()
        self.torn = 0

    def _stamp(self) -> tuple[int, int]:
        st = os.stat(self.path)
        return st.st_mtime_ns, st.st_size

    def __call__(self, marker: str) -> bool:
        from tinydb import where

        stamp = self._stamp()
        if stamp == self.stamp:
            return False
        self.table.clear_cache()  # its query cache knows nothing of other processes
        try:
            hits = self.table.search(where("notes") == marker)
        except ValueError:  # JSONDecodeError: caught the file half-rewritten
            self.torn += 1
            return False
        if hits:
            self.stamp = stamp
        return bool(hits)


def _follow_sqlite(path: str) -> Callable[[str], bool]:
    conn = _sqlite_connect(Path(path))
    state = {
        "version": conn.execute("PRAGMA data_version").fetchone()[0],
        "last": conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {TABLE}").fetchone()[0],
    }

    def seen(marker: str) -> bool:
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version == state["version"]:
            return False
        state["version"] = version
        found = False
        for row_id, doc in conn.execute(
            f"SELECT id, doc FROM {TABLE} WHERE id > ?", (state["last"],)
        ):
            state["last"] = max(state["last"], row_id)
            found = found or json.loads(doc).get("notes") == marker
        return found

    return seen


def worker_follow(engine: str, path: str, rounds: int) -> None:
    """Print ``ready``, then ``seen K <monotonic time>`` as each marker K shows up."""
    if engine == "ours":
        seen = _follow_ours(path)
    elif engine == "tinydb":
        seen = _TinyFollower(path)
    else:
        seen = _follow_sqlite(path)
    print("ready", flush=True)
    k = 1
    while k <= rounds:
        if seen(f"{MARKER_PREFIX}{k}"):
            print(f"seen {k} {time.monotonic()!r}", flush=True)
            k += 1
            continue
        time.sleep(POLL_SECONDS)
    print(json.dumps({"torn": getattr(seen, "torn", 0)}), flush=True)


def worker_main(spec_text: str) -> None:
    spec = json.loads(spec_text)
    if spec["mode"] == "open_count":
        print(json.dumps(worker_open_count(spec["engine"], spec["path"])), flush=True)
    else:
        worker_follow(spec["engine"], spec["path"], spec["rounds"])


def _worker_cmd(spec: dict[str, Any]) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]


# ---------------------------------------------------------------- measuring


def evict_from_page_cache(paths: list[Path]) -> None:
    """Make the next read come from the disk: flush, then drop the cached pages."""
    for path in paths:
        with contextlib.suppress(OSError, AttributeError):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile (the maximum for 20 samples or fewer)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


@dataclass
class Result:
    engine: str
    size: int
    docs: int = 0
    insert: list[float] = field(default_factory=list)
    open_count: list[float] = field(default_factory=list)
    process: list[float] = field(default_factory=list)
    rss_kb: int = 0
    seen: list[float] = field(default_factory=list)
    torn_reads: int = 0
    compact_seconds: float = math.nan
    compact_every: int = 0


def measure_inserts(
    writers: dict[Any, Writer], count: int, warmup: int = 2
) -> dict[Any, list[float]]:
    """Time ``count`` inserts per writer, taking turns (one each, order alternating),
    so that every engine meets the same disk weather (other processes' fsyncs)."""
    times: dict[Any, list[float]] = {key: [] for key in writers}
    order = list(writers)
    for k in range(warmup + count):
        for key in order if k % 2 else reversed(order):
            doc = make_doc(20_000_000 + k, random.Random(k))
            start = time.perf_counter()
            writers[key].insert(doc)
            elapsed = time.perf_counter() - start
            if k >= warmup:
                times[key].append(elapsed)
    return times


def measure_open_count(engine: str, path: Path, runs: int, result: Result) -> None:
    for _ in range(runs):
        evict_from_page_cache(store_files(engine, path))
        start = time.perf_counter()
        proc = subprocess.run(
            _worker_cmd({"mode": "open_count", "engine": engine, "path": str(path)}),
            check=True,
            capture_output=True,
            text=True,
        )
        result.process.append(time.perf_counter() - start)
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        result.open_count.append(report["seconds"])
        result.rss_kb = max(result.rss_kb, report["rss_kb"])
        result.docs = report["docs"]


def measure_compaction(writer: Writer, result: Result) -> None:
    from isolation_tui.storage.engine import COMPACT_MIN_BYTES
    from isolation_tui.storage.journal import journal_header

    storage = writer.db.storage
    threshold = max(COMPACT_MIN_BYTES, os.path.getsize(storage.path))
    base = _snapshot_seq(storage.path)
    entries = os.path.getsize(storage.journal_path) - len(journal_header(base))
    if storage.seq > base:
        result.compact_every = round(threshold / (entries / (storage.seq - base)))
    start = time.perf_counter()
    storage.compact()
    result.compact_seconds = time.perf_counter() - start


def _snapshot_seq(path: Path) -> int:
    from isolation_tui.storage.journal import decode_snapshot

    return int(decode_snapshot(path.read_bytes(), str(path)).get("seq", 0))


def _line_reader(proc: subprocess.Popen[str]) -> Callable[[float], str]:
    """``read(timeout)``: the process's next output line (a thread reads them)."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.strip())
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()

    def read(timeout: float) -> str:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("the follower process did not answer in time") from None
        if not line:
            raise RuntimeError("the follower process ended early")
        return line

    return read


def measure_seen(engine: str, path: Path, writer: Writer, rounds: int, result: Result) -> None:
    proc = subprocess.Popen(
        _worker_cmd({"mode": "follow", "engine": engine, "path": str(path), "rounds": rounds}),
        stdout=subprocess.PIPE,
        text=True,
    )
    read_line = _line_reader(proc)
    try:
        if read_line(120) != "ready":
            raise RuntimeError("the follower process did not start")
        rng = random.Random(3)
        for k in range(1, rounds + 1):
            time.sleep(rng.uniform(0.1, 0.25))  # a random phase against the 50 ms poll
            writer.insert(marker_doc(k))
            written = time.monotonic()
            kind, number, at = read_line(120).split()
            assert kind == "seen" and int(number) == k, (kind, number)
            result.seen.append(float(at) - written)
        result.torn_reads = json.loads(read_line(120)).get("torn", 0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()


# ---------------------------------------------------------------- output


def fmt_time(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    if abs(seconds) >= 1:
        return f"{seconds:.2f} s"
    if abs(seconds) >= 0.01:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds * 1000:.2f} ms"


def fmt_mib(kb: int) -> str:
    return f"{kb / 1024:.0f} MiB" if kb else "-"


def machine_lines(tmpdir: Path) -> list[str]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
    fs = ""
    with contextlib.suppress(OSError):
        best = ""
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and str(tmpdir).startswith(parts[1]) and len(parts[1]) >= len(best):
                best, fs = parts[1], f" ({parts[2]} on {parts[0]})"
    import tinydb

    return [
        f"machine: {os.cpu_count()} CPUs ({cpu}){memory}, {platform.system()} {platform.release()}",
        f"python {platform.python_version()}, TinyDB {tinydb.__version__}, "
        f"SQLite {sqlite3.sqlite_version}",
        f"files in {tmpdir}{fs}",
    ]


def results_table(size: int, results: list[Result]) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(
        title=f"{size:,} documents",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    table.add_column("engine", no_wrap=True)
    table.add_column("insert median", justify="right", no_wrap=True)
    table.add_column("insert p95", justify="right", no_wrap=True)
    table.add_column("open+count", justify="right", no_wrap=True)
    table.add_column("with start-up", justify="right", no_wrap=True)
    table.add_column("docs", justify="right", no_wrap=True)
    table.add_column("seen by follower", justify="right", no_wrap=True)
    table.add_column("peak RSS", justify="right", no_wrap=True)
    for r in results:
        torn = f", {r.torn_reads} torn reads" if r.torn_reads else ""
        table.add_row(
            ENGINE_NAMES[r.engine],
            fmt_time(median(r.insert)),
            f"{fmt_time(p95(r.insert))} (n={len(r.insert)})",
            fmt_time(median(r.open_count)),
            fmt_time(median(r.process)),
            f"{r.docs:,}",
            f"{fmt_time(median(r.seen))} (n={len(r.seen)}{torn})",
            fmt_mib(r.rss_kb),
        )
    return table


def legend(real_how: str, open_runs: int) -> list[str]:
    return [
        "this store: isolation_tui Database, TinyDB over a checksummed journal, "
        "one fdatasync a commit.",
        "stock TinyDB: 4.9 with JSONStorage, which rewrites the whole file "
        "(and fsyncs) on each write.",
        "SQLite: WAL, synchronous=FULL, one row per document as JSON text, "
        "a transaction per insert.",
        "insert: one durable insert into a store of that size; p95 by nearest rank over n inserts.",
        "open+count: a fresh process, the files first evicted from the page cache, "
        "opens and counts;",
        f"  median of {open_runs}. This store: open_store(path).counters() over real stays,",
        f"  built by {real_how};",
        "  the others: their stay-shaped documents, counted by point and status.",
        "with start-up: the same, the whole process (interpreter start and imports) included.",
        "seen by follower: from the write returning until a process polling every 50 ms has it.",
        "peak RSS: of the open+count process (VmHWM).",
    ]


def check_targets(by_size: dict[int, dict[str, Result]]) -> list[tuple[str, str, bool]]:
    sizes = sorted(by_size)
    big, small = by_size[sizes[-1]], by_size[sizes[0]]
    ours, sqlite = big["ours"], big["sqlite"]
    ins = median(ours.insert)
    checks = [
        (
            f"insert median ≤ {fmt_time(TARGET_INSERT_MEDIAN)}",
            fmt_time(ins),
            ins <= TARGET_INSERT_MEDIAN,
        ),
        (
            f"insert median ≤ {TARGET_INSERT_VS_SQLITE:g}× SQLite's",
            f"{ins / median(sqlite.insert):.1f}× ({fmt_time(median(sqlite.insert))})",
            ins <= TARGET_INSERT_VS_SQLITE * median(sqlite.insert),
        ),
    ]
    if len(sizes) > 1:
        growth = ins / median(small["ours"].insert)
        checks.append(
            (
                f"insert at {sizes[-1]:,} ≤ {TARGET_INSERT_GROWTH:g}× insert at {sizes[0]:,}",
                f"{growth:.2f}× ({fmt_time(median(small['ours'].insert))})",
                growth <= TARGET_INSERT_GROWTH,
            )
        )
    oc = median(ours.open_count)
    checks.append(
        (
            f"open + counters, cold, < {fmt_time(TARGET_OPEN_COUNT)} ({ours.docs:,} docs)",
            f"{fmt_time(oc)} (process {fmt_time(median(ours.process))})",
            oc < TARGET_OPEN_COUNT,
        )
    )
    seen = median(ours.seen)
    checks.append(
        (
            f"another process sees the write < {fmt_time(TARGET_SEEN)}",
            fmt_time(seen),
            seen < TARGET_SEEN,
        )
    )
    return checks


# ---------------------------------------------------------------- main


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark this store against stock TinyDB and SQLite."
    )
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="documents per store, comma-separated (default: 10000,100000)",
    )
    parser.add_argument(
        "--inserts",
        type=int,
        default=None,
        help="timed inserts per size for this store and SQLite (default 200; --quick 50)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions (a smoke run, not for the README)"
    )
    parser.add_argument("--tmpdir", type=Path, default=None, help="where to build the stores")
    parser.add_argument(
        "--real-data",
        choices=("auto", "demo", "arrivals"),
        default="auto",
        help="how to build the real stays for open + counters (auto: the demo generator "
        "if it exists, else store.stays.register)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


@contextlib.contextmanager
def _step(console: Any, text: str) -> Iterator[None]:
    start = time.perf_counter()
    with console.status(text):
        yield
    console.print(f"[dim]{text}: {time.perf_counter() - start:.1f} s[/]", highlight=False)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.worker:
        worker_main(args.worker)
        return 0

    from rich.console import Console

    console = Console(width=120)  # the same layout on a terminal and in a file
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    inserts = args.inserts or (50 if args.quick else 200)
    open_runs = 1 if args.quick else 3
    seen_rounds = 3 if args.quick else 7

    tmp_root = Path(tempfile.mkdtemp(prefix="isolation-bench-", dir=args.tmpdir))
    console.print(f"$ python benchmarks/bench_store.py {shlex.join(sys.argv[1:])}".rstrip())
    for line in machine_lines(tmp_root):
        console.print(line, highlight=False)
    console.print()

    by_size = {size: {engine: Result(engine, size) for engine in ENGINES} for size in sizes}
    paths: dict[tuple[int, str], Path] = {}
    real: dict[int, Path] = {}
    hows: list[str] = []
    writers: dict[tuple[int, str], Writer] = {}
    try:
        # 1. Every store, at every size, before any timing.
        for size in sizes:
            folder = tmp_root / str(size)
            folder.mkdir()
            docs = make_docs(size)
            for engine, name in zip(ENGINES, ("ours.db", "tinydb.json", "sqlite.db"), strict=True):
                paths[size, engine] = folder / name
                with _step(console, f"{size:,}: build {ENGINE_NAMES[engine]}"):
                    build(engine, paths[size, engine], docs)
            del docs
            real[size] = folder / "real.db"
            with _step(console, f"{size:,}: build real stays for this store"):
                hows.append(f"{build_real(real[size], size, args.real_data)} for {size:,}")

        # 2. Durable inserts. This store and SQLite, at every size, take turns one
        # insert at a time, so that they all meet the same disk weather.
        writers = {key: Writer(key[1], path) for key, path in paths.items()}
        fast = {key: w for key, w in writers.items() if key[1] != "tinydb"}
        with _step(console, f"{inserts} inserts each, this store and SQLite, in turns"):
            for (size, engine), times in measure_inserts(fast, inserts).items():
                by_size[size][engine].insert = times
        for size in sizes:
            # Stock TinyDB rewrites the whole file: about 1 s an insert at 100k.
            count = 3 if args.quick else max(5, min(inserts, 200_000 // size))
            with _step(console, f"{size:,}: {count} inserts, stock TinyDB"):
                key = (size, "tinydb")
                by_size[size]["tinydb"].insert = measure_inserts(
                    {key: writers[key]}, count, warmup=1
                )[key]

        # 3. How soon a second process sees a write.
        for (size, engine), writer in writers.items():
            rounds = (3 if args.quick else 5) if engine == "tinydb" else seen_rounds
            with _step(console, f"{size:,}: seen by a follower, {ENGINE_NAMES[engine]}"):
                measure_seen(engine, paths[size, engine], writer, rounds, by_size[size][engine])
        # This store folds its journal into a new snapshot once the journal outgrows
        # the snapshot: one slow commit now and then, which the medians above miss.
        for size in sizes:
            with _step(console, f"{size:,}: compaction, this store"):
                measure_compaction(writers[size, "ours"], by_size[size]["ours"])
        for writer in writers.values():
            writer.close()
        writers = {}

        # 4. Open and count from cold, in fresh processes, in turns.
        with _step(console, "open + counters, cold, in turns"):
            for _ in range(open_runs):
                for size in sizes:
                    for engine in ENGINES:
                        target = real[size] if engine == "ours" else paths[size, engine]
                        measure_open_count(engine, target, 1, by_size[size][engine])
    finally:
        for writer in writers.values():
            writer.close()
        if args.keep:
            console.print(f"stores kept in {tmp_root}")
        else:
            shutil.rmtree(tmp_root, ignore_errors=True)

    tables = [results_table(size, list(by_size[size].values())) for size in sizes]
    compaction = [
        f"{size:,}: {fmt_time(r.compact_seconds)} once every ~{r.compact_every:,} inserts"
        for size in sizes
        for r in [by_size[size]["ours"]]
    ]
    console.print()
    for table in tables:
        console.print(table)
    for line in legend("; ".join(hows), open_runs):
        console.print(line, highlight=False)
    console.print(
        "this store's journal compaction (a new snapshot, written and fsynced, "
        "when the journal outgrows it):",
        highlight=False,
    )
    console.print("  " + "; ".join(compaction) + ".", highlight=False)
    console.print()
    failed = 0
    console.print(f"Targets at {max(by_size):,} documents (this store):")
    for label, value, ok in check_targets(by_size):
        failed += not ok
        verdict = "[green]PASS[/]" if ok else "[red]FAIL[/]"
        console.print(f"  {verdict}  {label}: {value}", highlight=False)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
