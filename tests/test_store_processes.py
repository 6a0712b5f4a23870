"""The store's promises with several real processes on real files.

Workers are separate Python processes (``WORKER`` below, run with ``-c``); they are
killed with SIGKILL, never stopped politely. Checks are made by opening the files
afresh and by parsing the journal here, independently of the engine.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from isolation_tui.storage.database import Database
from isolation_tui.storage.journal import decode_snapshot

BATCH = 20

# One worker program; the mode and options come on the command line.
WORKER = r"""
import json, os, signal, sys
from collections import Counter
from isolation_tui.storage import engine
from isolation_tui.storage.database import Database

mode, path = sys.argv[1], sys.argv[2]
opts = json.loads(sys.argv[3])
if opts.get("compact_min"):
    engine.COMPACT_MIN_BYTES = opts["compact_min"]


def say(*words):
    print(*words, flush=True)


def barrier():
    say("ready")
    if sys.stdin.readline().strip() != "go":
        sys.exit("no start signal")


db = Database(path, read_only=opts.get("read_only", False), who=f"worker-{os.getpid()}")
docs, meta = db.table("docs"), db.table("meta")


def batch(tag):
    # One transaction: BATCH documents sharing a tag, and the batch counter.
    with db.transaction():
        ids = [docs.insert({"batch": tag, "k": k}) for k in range(opts["size"])]
        count = meta.get(doc_id=1)["batches"]
        meta.update({"batches": count + 1}, doc_ids=[1])
    return ids


if mode == "insert":
    barrier()
    ids = [docs.insert({"worker": opts["worker"], "i": i}) for i in range(opts["n"])]
    say(json.dumps(ids))

elif mode == "increment":
    barrier()
    for _ in range(opts["n"]):
        with db.transaction():
            value = meta.get(doc_id=1)["value"]
            meta.update({"value": value + 1}, doc_ids=[1])
    say("done")

elif mode == "writer":
    # Prints each id only after the call that committed it has returned.
    prefix = opts.get("prefix") or str(os.getpid())
    n = 0
    while opts.get("batches") is None or n < opts["batches"]:
        tag = f"{prefix}-{n}"
        ids = batch(tag)
        say("B", tag, *ids)
        say("S", docs.insert({"single": tag}))
        if opts.get("compact_every") and n % opts["compact_every"] == 0:
            db.storage.compact()
        n += 1
    say("done")

elif mode == "crash-in-compaction":
    # Dies by SIGKILL at one exact step of a compaction.
    for n in range(3):
        say("B", f"c-{n}", *batch(f"c-{n}"))
    when, number = opts["point"].split(":")
    calls = []
    real_replace = os.replace

    def replace(src, dst):
        calls.append(dst)
        if when == "before" and len(calls) == int(number):
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)
        if when == "after" and len(calls) == int(number):
            os.kill(os.getpid(), signal.SIGKILL)

    os.replace = replace
    engine.COMPACT_MIN_BYTES = 0
    with db.transaction():
        batch("c-3")
        docs.insert({"pad": "x" * 50_000})  # the journal now outgrows the snapshot
    say("compaction did not happen")

elif mode == "reader":
    # Follows a writer and checks every state it sees is a whole prefix.
    seen, last, refreshes = set(), -1, 0
    say("ready")
    while last < opts["batches"]:
        db.refresh()
        refreshes += 1
        counts = Counter(d["batch"] for d in docs.all() if "batch" in d)
        numbers = sorted(int(tag.rsplit("-", 1)[1]) for tag in counts)
        k = len(numbers)
        state = {
            "torn": {t: c for t, c in counts.items() if c != opts["size"]},
            "numbers": numbers if numbers != list(range(k)) else "ok",
            "counter": meta.get(doc_id=1)["batches"],
            "k": k,
            "last": last,
        }
        if state["torn"] or state["numbers"] != "ok" or state["counter"] != k or k < last:
            say("BAD", json.dumps(state))
            sys.exit(1)
        seen.add(k)
        last = k
    say(json.dumps({"states": len(seen), "refreshes": refreshes}))
"""


# ---------------------------------------------------------------- helpers


def kill_seed() -> int:
    """The seed of this run's kill timings: new each run, ``KILL_SEED=N`` replays one."""
    seed = int(os.environ.get("KILL_SEED") or time.time_ns() % 1_000_000)
    print(f"kill timings from KILL_SEED={seed}")
    return seed


def journal_of(path: Path) -> Path:
    return path.with_name(path.name + "-journal")


_started: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def no_stray_workers() -> Iterator[None]:
    yield
    while _started:
        proc = _started.pop()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def start(mode: str, path: Path, *, killed: bool = False, **opts: Any) -> subprocess.Popen[str]:
    env = dict(os.environ)
    if killed:
        # A process killed with SIGKILL leaves no coverage data: measuring it is waste.
        env.pop("COVERAGE_PROCESS_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, mode, str(path), json.dumps(opts)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    _started.append(proc)
    return proc


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"worker failed ({proc.returncode}):\n{out}\n{err}"
    return out


def make_store(path: Path) -> None:
    db = Database(path, create=True)
    db.table("meta").insert({"batches": 0, "value": 0})
    db.close()


def journal_seqs(path: Path, torn_ok: bool = False) -> tuple[int, list[int]]:
    """(base, seq of every entry), parsed strictly: checksums, no gaps, and no unfinished
    last line unless a writer was just killed (a kill mid-``write`` may leave one)."""
    raw = journal_of(path).read_bytes()
    header, _, rest = raw.partition(b"\n")
    base = int(header.split(b" ")[2])
    whole, _, torn = rest.rpartition(b"\n")
    assert torn_ok or not torn, "journal has a torn tail"
    seqs = []
    for line in whole.splitlines():
        checksum, _, payload = line.partition(b" ")
        assert checksum == f"{zlib.crc32(payload):08x}".encode()
        seqs.append(json.loads(payload)["seq"])
    assert seqs == list(range(base + 1, base + 1 + len(seqs))), "journal sequence has gaps"
    snapshot_seq = decode_snapshot(path.read_bytes(), str(path))["seq"]
    assert base <= snapshot_seq <= base + len(seqs)
    return base, seqs


def verify(
    path: Path,
    batches: dict[str, list[int]],
    singles: set[int],
    size: int = BATCH,
    killed: bool = False,
) -> dict[int, dict[str, Any]]:
    """Open the store afresh and check every promise a crash must keep."""
    base, seqs = journal_seqs(path, torn_ok=killed)
    db = Database(path)
    try:
        assert db.storage.seq == (seqs[-1] if seqs else base)
        docs = {doc.doc_id: dict(doc) for doc in db.table("docs").all()}
        counter = db.table("meta").get(doc_id=1)["batches"]
    finally:
        db.close()
    # Nothing ever deleted, ids handed out inside the lock: 1..N, no gaps, no repeats.
    assert sorted(docs) == list(range(1, len(docs) + 1))
    # Every write whose call returned before the kill is there.
    for tag, ids in batches.items():
        assert [docs.get(i) for i in ids] == [{"batch": tag, "k": k} for k in range(size)]
    for i in singles:
        assert "single" in docs[i]
    # Every transaction is all there or not there at all.
    members: dict[str, list[int]] = {}
    for doc_id, doc in docs.items():
        if "batch" in doc:
            members.setdefault(doc["batch"], []).append(doc_id)
    for tag, ids in members.items():
        assert len(ids) == size, f"batch {tag} is torn: {len(ids)} of {size} documents"
        assert ids == list(range(ids[0], ids[0] + size))
    assert counter == len(members)
    return docs


def read_printed(lines: str, batches: dict[str, list[int]], singles: set[int]) -> None:
    """Record what a worker printed; only whole lines count."""
    for line in lines.splitlines(keepends=True):
        if not line.endswith("\n"):
            break
        kind, *rest = line.split()
        if kind == "B":
            batches[rest[0]] = [int(x) for x in rest[1:]]
        elif kind == "S":
            singles.add(int(rest[0]))


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("compact_min", [0, 1024], ids=["no-compaction", "compacting"])
def test_writers_at_the_same_moment_lose_nothing_and_share_no_id(
    db_path: Path, compact_min: int
) -> None:
    workers, n = 6, 50
    make_store(db_path)
    procs = [
        start("insert", db_path, worker=w, n=n, compact_min=compact_min) for w in range(workers)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
    for proc in procs:  # the start barrier: everyone is open and waiting
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    returned = [json.loads(finish(proc)) for proc in procs]

    everything = [i for ids in returned for i in ids]
    assert sorted(everything) == list(range(1, workers * n + 1))
    for ids in returned:
        assert ids == sorted(ids)
    db = Database(db_path)
    try:
        docs = {doc.doc_id: dict(doc) for doc in db.table("docs").all()}
        assert db.storage.seq == 1 + workers * n
    finally:
        db.close()
    assert len(docs) == workers * n
    for w, ids in enumerate(returned):
        assert [docs[i] for i in ids] == [{"worker": w, "i": i} for i in range(n)]
    base, seqs = journal_seqs(db_path)
    assert (seqs[-1] if seqs else base) == 1 + workers * n
    if compact_min:
        assert base > 0, "no compaction happened"


def test_concurrent_read_modify_write_loses_no_update(db_path: Path) -> None:
    workers, n = 4, 60
    make_store(db_path)
    procs = [start("increment", db_path, n=n) for _ in range(workers)]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        assert finish(proc) == "done\n"
    db = Database(db_path)
    try:
        assert db.table("meta").get(doc_id=1)["value"] == workers * n
        assert db.storage.seq == 1 + workers * n
    finally:
        db.close()
    journal_seqs(db_path)


@pytest.mark.parametrize(
    ("iterations", "opts"),
    [
        (40, {}),
        (25, {"compact_min": 1024, "compact_every": 2}),
    ],
    ids=["appending", "compacting"],
)
def test_kill_9_at_random_moments_keeps_every_returned_write(
    db_path: Path, iterations: int, opts: dict[str, int]
) -> None:
    make_store(db_path)
    seed = kill_seed()
    rng = random.Random(seed)
    seen: Counter[str] = Counter()
    batches: dict[str, list[int]] = {}
    singles: set[int] = set()
    for _ in range(iterations):
        proc = start("writer", db_path, killed=True, size=BATCH, **opts)
        assert proc.stdout is not None
        printed = ""
        for _ in range(rng.randint(1, 12)):  # let it get going, then strike
            line = proc.stdout.readline()
            assert line, f"writer died by itself: {proc.communicate()}"
            printed += line
        time.sleep(rng.choice([0, 0, rng.uniform(0, 0.004)]))
        proc.send_signal(signal.SIGKILL)
        rest, err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, err
        read_printed(printed + rest, batches, singles)
        # Where did it land? (Reported, not asserted: timing decides.)
        seen["torn tail"] += not journal_of(db_path).read_bytes().endswith(b"\n")
        seen["mid-compaction"] += any(db_path.parent.glob(f"*.tmp-{proc.pid}"))
        try:
            docs = verify(db_path, batches, singles, killed=True)
        except AssertionError as exc:
            raise AssertionError(f"{exc} (KILL_SEED={seed} replays this)") from exc
        tags = {d["batch"] for d in docs.values() if "batch" in d}
        seen["committed, not yet printed"] += any(
            t.startswith(f"{proc.pid}-") for t in tags - set(batches)
        )
    assert len(batches) >= iterations
    # Another writer can carry on after all that.
    proc = start("writer", db_path, size=BATCH, batches=3, prefix="after", **opts)
    read_printed(finish(proc), batches, singles)
    verify(db_path, batches, singles)
    print(f"where {iterations} kills landed (KILL_SEED={seed}):", dict(seen))


@pytest.mark.parametrize("point", ["before:1", "after:1", "before:2", "after:2"])
def test_kill_at_each_step_of_a_compaction(db_path: Path, point: str) -> None:
    """Snapshot temp written / renamed, journal temp written / renamed: kill after each."""
    make_store(db_path)
    reader = Database(db_path, read_only=True)
    try:
        proc = start("crash-in-compaction", db_path, killed=True, size=BATCH, point=point)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL, err
        batches: dict[str, list[int]] = {}
        singles: set[int] = set()
        read_printed(out, batches, singles)
        assert sorted(batches) == ["c-0", "c-1", "c-2"]

        snapshot_seq = decode_snapshot(db_path.read_bytes(), str(db_path))["seq"]
        base, _ = journal_seqs(db_path)
        tmp = sorted(p.name.split(".tmp-")[0] for p in db_path.parent.glob("*.tmp-*"))
        # The kill landed where it was meant to.
        assert (snapshot_seq, base, tmp) == {
            "before:1": (0, 0, ["isolation.db"]),
            "after:1": (5, 0, []),
            "before:2": (5, 0, ["isolation.db-journal"]),
            "after:2": (5, 5, []),
        }[point]

        # The transaction that triggered the compaction had been made durable first.
        docs = verify(db_path, batches, singles)
        assert [d["batch"] for d in docs.values() if "batch" in d].count("c-3") == BATCH
        assert any("pad" in d for d in docs.values())

        # A reader opened before the crash follows to the same state.
        assert reader.refresh()
        fresh = Database(db_path)
        try:
            assert reader.storage.tables() == fresh.storage.tables()
            # And writing (and compacting) carries on normally.
            with fresh.transaction():
                ids = [fresh.table("docs").insert({"batch": "next", "k": k}) for k in range(BATCH)]
                fresh.table("meta").update({"batches": 5}, doc_ids=[1])
            fresh.storage.compact()
        finally:
            fresh.close()
        # The killed writer's temp file (a partial snapshot) went with the next writer.
        assert not list(db_path.parent.glob("*.tmp-*"))
        batches["next"] = ids
        verify(db_path, batches, singles)
        assert reader.refresh()
        assert reader.table("meta").get(doc_id=1)["batches"] == 5
    finally:
        reader.close()


@pytest.mark.parametrize("read_only", [True, False], ids=["read-only", "read-write"])
def test_a_reader_following_a_writer_only_sees_whole_prefixes(
    db_path: Path, read_only: bool
) -> None:
    batches = 120
    make_store(db_path)
    reader = start("reader", db_path, size=BATCH, batches=batches, read_only=read_only)
    assert reader.stdout is not None
    assert reader.stdout.readline() == "ready\n"
    writer = start(
        "writer",
        db_path,
        size=BATCH,
        batches=batches,
        prefix="w",
        compact_min=4096,
        compact_every=7,
    )
    out = finish(writer)
    assert out.endswith("done\n")
    report = json.loads(finish(reader).splitlines()[-1])
    # It saw the empty start, the end, and states in between (never a torn one).
    assert report["states"] >= 3
    verify(db_path, {}, set())
