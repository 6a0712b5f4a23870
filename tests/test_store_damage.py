"""Damaged, full and read-only files: the store refuses clearly and loses nothing.

Damage is made by hand on real files; full disks and read-only files are real too:
a writer process under ``RLIMIT_FSIZE`` (its appends fail with EFBIG, as on a full
disk) and a writer process that really lacks write permission (as root, it runs as
uid 65534, since root ignores file modes).
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from isolation_tui.headless.check import run_check
from isolation_tui.storage.database import Database
from isolation_tui.storage.errors import StoreCorrupt, StoreMissing
from isolation_tui.storage.journal import encode_entry, encode_lock_record, parse_lock_record
from isolation_tui.storage.salvage import salvage

NOBODY = 65534

# A writer that tries the steps it is given and reports, as JSON, what happened.
WRITER = r"""
import json, os, sys
from tinydb import Query
from isolation_tui.headless.check import run_check
from isolation_tui.storage.database import Database
from isolation_tui.storage.errors import StoreWriteFailed

path, opts = sys.argv[1], json.loads(sys.argv[2])
if opts.get("uid") is not None:
    # Drop root here rather than in preexec_fn: the interpreter may live where the
    # target user cannot reach it (e.g. under /root). Everything is imported already.
    os.setgroups([])
    os.setgid(opts["uid"])
    os.setuid(opts["uid"])
db = Database(path)
t = db.table("t")
n = Query().n


def state():
    return {d.doc_id: dict(d) for d in t.all()}, db.storage.seq, db.storage.max_id("t")


def big_batch():
    with db.transaction():
        for k in range(20):
            t.insert({"n": 100 + k, "pad": "z" * 1000})


steps = {
    "small": lambda: t.insert({"n": len(t) + 1}),
    "big": lambda: t.insert({"n": -1, "pad": "x" * 20_000}),
    "big-update": lambda: t.update({"pad": "y" * 20_000}, doc_ids=[1]),
    "big-batch": big_batch,
}
report = {"uid": os.geteuid(), "results": []}
for name in opts["steps"]:
    before = state()
    cached = t.count(n.exists())  # fills TinyDB's query cache
    try:
        result = steps[name]()
    except StoreWriteFailed as exc:
        report["results"].append({
            "step": name,
            "error": str(exc),
            "rolled_back": state() == before,
            "cache_fresh": t.count(n.exists()) == cached,
        })
    else:
        report["results"].append({"step": name, "result": result})
print(json.dumps(report))
"""


# ---------------------------------------------------------------- helpers


def journal_of(path: Path) -> Path:
    return path.with_name(path.name + "-journal")


def lock_of(path: Path) -> Path:
    return path.with_name(path.name + "-lock")


def make(path: Path, n: int, compact: bool = False) -> None:
    """A store with ``n`` documents ``{"n": i}``, one transaction each."""
    db = Database(path, create=True)
    for i in range(1, n + 1):
        db.table("t").insert({"n": i})
    if compact:
        db.storage.compact()
    db.close()


def docs_of(path: Path, **kwargs: bool) -> dict[int, dict[str, Any]]:
    db = Database(path, **kwargs)
    try:
        return {d.doc_id: dict(d) for d in db.table("t").all()}
    finally:
        db.close()


def file_states(directory: Path) -> dict[str, tuple[bytes, int, int]]:
    out = {}
    for p in sorted(directory.iterdir()):
        st = p.stat()
        out[p.name] = (p.read_bytes(), stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    return out


def entry_lines(path: Path) -> list[bytes]:
    """The journal's entry lines (with newlines), after its header."""
    return journal_of(path).read_bytes().splitlines(keepends=True)[1:]


def header_line(path: Path) -> bytes:
    return journal_of(path).read_bytes().splitlines(keepends=True)[0]


def refused_untouched(path: Path, *, match: str) -> StoreCorrupt:
    """Every way of opening is refused with StoreCorrupt, and no file changes."""
    before = file_states(path.parent)
    errors = []
    for kwargs in ({}, {"create": True}, {"read_only": True}):
        with pytest.raises(StoreCorrupt, match=match) as err:
            Database(path, **kwargs)
        errors.append(err.value)
    assert file_states(path.parent) == before
    return errors[0]


def run_writer(
    path: Path, steps: list[str], preexec_fn: Callable[[], None] | None = None, **opts: Any
) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", WRITER, str(path), json.dumps({"steps": steps, **opts})],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=preexec_fn,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# ---------------------------------------------------------------- torn writes


def _torn_tails() -> dict[str, bytes]:
    next_entry = encode_entry({"seq": 4, "at": "x", "who": "w", "ops": [["t", "4", {"n": 4}]]})
    return {
        "half-an-entry": next_entry[: len(next_entry) // 2],
        "zero-bytes": b"\0" * 300,
        "one-byte": b"3",
    }


@pytest.mark.parametrize("tail", list(_torn_tails().values()), ids=list(_torn_tails()))
def test_a_torn_last_write_is_ignored_then_cut_by_the_next_writer(
    db_path: Path, tail: bytes
) -> None:
    make(db_path, 3)
    follower = Database(db_path, read_only=True)
    try:
        clean = journal_of(db_path).read_bytes()
        with journal_of(db_path).open("ab") as fh:
            fh.write(tail)

        # Readers open on the last whole state and change nothing.
        before = file_states(db_path.parent)
        expected = {i: {"n": i} for i in range(1, 4)}
        assert docs_of(db_path, read_only=True) == expected
        assert docs_of(db_path) == expected
        assert not follower.refresh()
        assert file_states(db_path.parent) == before

        # The next writer cuts the tail off and appends a whole entry in its place.
        db = Database(db_path)
        try:
            assert db.storage.seq == 3
            assert db.table("t").insert({"n": 40}) == 4
        finally:
            db.close()
        after = journal_of(db_path).read_bytes()
        assert after.startswith(clean)
        new = after[len(clean) :]
        assert new.endswith(b"\n")
        assert new.count(b"\n") == 1
        checksum, _, payload = new.rstrip(b"\n").partition(b" ")
        assert checksum == f"{zlib.crc32(payload):08x}".encode()
        assert json.loads(payload)["seq"] == 4
        assert docs_of(db_path) == {**expected, 4: {"n": 40}}
        assert follower.refresh().keys == {("t", "4")}
    finally:
        follower.close()


# ---------------------------------------------------------------- corruption


@pytest.mark.parametrize("where", ["middle", "last"])
@pytest.mark.parametrize("how", ["payload", "checksum", "not-json"])
def test_a_damaged_journal_entry_is_refused_naming_file_and_offset(
    db_path: Path, where: str, how: str
) -> None:
    make(db_path, 2)
    # Sessions open before entries 3-5 were written (and then damaged).
    writer = Database(db_path)
    follower = Database(db_path, read_only=True)
    try:
        other = Database(db_path)
        for i in range(3, 6):
            other.table("t").insert({"n": i})
        other.close()
        lines = entry_lines(db_path)
        index = 2 if where == "middle" else 4
        line = lines[index]
        if how == "payload":  # same length, whole line, wrong checksum
            damaged = line.replace(b'"n":3', b'"n":8').replace(b'"n":5', b'"n":8')
        elif how == "checksum":
            damaged = b"%08x" % ((int(line[:8], 16) + 1) % 2**32) + line[8:]
        else:  # the checksum matches, but the payload is not JSON
            junk = b"{not json"
            damaged = f"{zlib.crc32(junk):08x} ".encode() + junk + b"\n"
        assert damaged != line
        assert damaged.endswith(b"\n")
        lines[index] = damaged
        offset = len(header_line(db_path)) + sum(len(x) for x in lines[:index])
        journal_of(db_path).write_bytes(header_line(db_path) + b"".join(lines))

        error = refused_untouched(db_path, match=f"byte {offset}")
        assert str(journal_of(db_path)) in str(error)

        # Open sessions meet the damage in what is new to them: they refuse too, before
        # touching anything (no "repair" by cutting, nothing appended after it).
        before = file_states(db_path.parent)
        for attempt in (
            follower.refresh,
            writer.refresh,
            lambda: writer.table("t").insert({"n": 99}),
            lambda: writer.table("t").truncate(),
            writer.storage.compact,
        ):
            with pytest.raises(StoreCorrupt, match=f"byte {offset}"):
                attempt()
        assert file_states(db_path.parent) == before
        assert db_path.stat().st_size > 0
    finally:
        follower.close()
        writer.close()


def test_a_journal_that_skips_an_entry_is_refused(db_path: Path) -> None:
    make(db_path, 5)
    lines = entry_lines(db_path)
    del lines[2]  # entry 3: whole lines, every checksum right, one transaction gone
    journal_of(db_path).write_bytes(header_line(db_path) + b"".join(lines))
    error = refused_untouched(db_path, match="jumps from entry 2 to 4")
    assert str(journal_of(db_path)) in str(error)


def test_a_journal_that_starts_after_its_snapshot_is_refused(db_path: Path) -> None:
    """A snapshot restored from an older backup next to a newer journal."""
    make(db_path, 2)
    old_snapshot = db_path.read_bytes()
    db = Database(db_path)
    db.table("t").insert({"n": 3})
    db.storage.compact()
    db.table("t").insert({"n": 4})
    db.close()
    db_path.write_bytes(old_snapshot)
    error = refused_untouched(db_path, match="snapshot ends at entry 0")
    assert str(journal_of(db_path)) in str(error)


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda raw: b"", "bad header"),
        (lambda raw: b"\x00" * len(raw), "bad header"),
        (lambda raw: os.urandom(64) + raw, "bad header"),
        (lambda raw: raw[: len(raw) // 2], "its header says"),
        (lambda raw: raw[: raw.index(b"\n") + 1], "its header says"),
        (lambda raw: raw.replace(b'"n":2', b'"n":7'), "checksum"),
        (lambda raw: raw + b" ", "its header says"),
    ],
    ids=["empty", "zeroed", "garbage", "cut-in-half", "header-only", "bit-flip", "extended"],
)
def test_a_damaged_snapshot_is_refused_and_not_replaced(
    db_path: Path, damage: Callable[[bytes], bytes], match: str
) -> None:
    make(db_path, 3, compact=True)
    raw = db_path.read_bytes()
    damaged = damage(raw)
    assert damaged != raw
    db_path.write_bytes(damaged)
    error = refused_untouched(db_path, match=match)
    assert str(db_path) in str(error)
    assert db_path.read_bytes() == damaged


@pytest.mark.parametrize(
    "header",
    [b"", b"ISOLATION-TUI-JOURNAL 1", b"SOMETHING-ELSE 1 0\n", b"ISOLATION-TUI-JOURNAL x 0\n"],
    ids=["empty", "unfinished", "wrong-magic", "bad-version"],
)
def test_a_damaged_journal_header_is_refused(db_path: Path, header: bytes) -> None:
    make(db_path, 2)
    journal_of(db_path).write_bytes(header)
    error = refused_untouched(db_path, match="journal")
    assert str(journal_of(db_path)) in str(error)


# ---------------------------------------------------------------- missing files


@pytest.mark.parametrize("how", ["deleted-in-place", "snapshot-copied-alone"])
def test_a_database_without_its_journal_is_refused_naming_it(
    db_path: Path, tmp_path: Path, how: str
) -> None:
    make(db_path, 3, compact=True)
    db = Database(db_path)
    db.table("t").insert({"n": 4})  # since the compaction: only in the journal
    db.close()
    if how == "deleted-in-place":
        journal_of(db_path).unlink()
        path = db_path
    else:
        path = tmp_path / "copy" / db_path.name
        path.parent.mkdir()
        shutil.copy2(db_path, path)
    error = refused_untouched(path, match="is missing")
    assert str(journal_of(path)) in str(error)
    assert not journal_of(path).exists()


def test_a_journal_older_than_its_snapshot_is_refused(db_path: Path, tmp_path: Path) -> None:
    """Both files are of one database, but the journal was put back from an older copy."""
    make(db_path, 2)
    old_journal = journal_of(db_path).read_bytes()
    db = Database(db_path)
    db.table("t").insert({"n": 3})
    db.storage.compact()
    db.close()
    journal_of(db_path).write_bytes(old_journal)
    error = refused_untouched(db_path, match="older than")
    assert str(journal_of(db_path)) in str(error)


@pytest.mark.parametrize("how", ["flipped-byte", "short-header", "other-database"])
def test_a_journal_of_another_database_is_refused(db_path: Path, tmp_path: Path, how: str) -> None:
    make(db_path, 3)
    header = header_line(db_path)
    if how == "flipped-byte":
        last = header[-2:-1]
        damaged = header[:-2] + (b"0" if last != b"0" else b"1") + b"\n"
        journal_of(db_path).write_bytes(damaged + b"".join(entry_lines(db_path)))
    elif how == "short-header":
        journal_of(db_path).write_bytes(header.rsplit(b" ", 1)[0] + b"\n")
    else:
        other = tmp_path / "other.db"
        make(other, 5)
        shutil.copy2(journal_of(other), journal_of(db_path))
    error = refused_untouched(db_path, match="another database")
    assert str(journal_of(db_path)) in str(error)


def test_a_session_whose_journal_is_swapped_for_another_databases_refuses(
    db_path: Path, tmp_path: Path
) -> None:
    make(db_path, 3)
    session = Database(db_path)
    try:
        other = tmp_path / "other" / "other.db"
        other.parent.mkdir()
        make(other, 5)
        os.replace(journal_of(other), journal_of(db_path))
        for attempt in (session.refresh, lambda: session.table("t").insert({"n": 9})):
            with pytest.raises(StoreCorrupt, match="another database"):
                attempt()
    finally:
        session.close()


def test_recover_does_not_merge_a_journal_of_another_database(
    db_path: Path, tmp_path: Path
) -> None:
    make(db_path, 3, compact=True)
    other = tmp_path / "other" / "other.db"
    other.parent.mkdir()
    make(other, 5)
    shutil.copy2(journal_of(other), journal_of(db_path))
    out = tmp_path / "recovered.db"
    result = salvage(db_path, out)
    assert "another database" in result.problem
    assert result.kept_entries == 0
    assert result.lost_lines == 5
    assert docs_of(out) == {i: {"n": i} for i in range(1, 4)}


# ---------------------------------------------------------------- the journal's tail


@pytest.mark.parametrize("how", ["changed", "removed"])
def test_an_entry_whose_line_end_is_damaged_is_kept_by_its_checksum(
    db_path: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    make(db_path, 3)
    raw = journal_of(db_path).read_bytes()
    journal_of(db_path).write_bytes(raw[:-1] + (b"X" if how == "changed" else b""))
    expected = {i: {"n": i} for i in range(1, 4)}
    assert docs_of(db_path, read_only=True) == expected
    assert docs_of(db_path) == expected

    assert run_check(db_path) == 1
    err = capsys.readouterr().err
    assert f"byte {len(raw) - 1}" in err
    assert "entry 3" in err
    assert "OK" not in err

    # The next writer keeps entry 3, puts its line end back, and numbers on from it.
    db = Database(db_path)
    try:
        assert db.table("t").insert({"n": 4}) == 4
    finally:
        db.close()
    after = journal_of(db_path).read_bytes()
    assert after.startswith(raw)
    assert [json.loads(x.partition(b" ")[2])["seq"] for x in entry_lines(db_path)] == [1, 2, 3, 4]
    assert docs_of(db_path) == {**expected, 4: {"n": 4}}
    assert run_check(db_path) == 0


def test_check_never_says_ok_over_a_cut_journal(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    print(f"seed {seed}")
    rng = random.Random(seed)
    make(db_path, 6)
    whole = journal_of(db_path).read_bytes()
    boundaries = {len(header_line(db_path))}
    for line in entry_lines(db_path):
        boundaries.add(max(boundaries) + len(line))
    # Random cuts, every entry boundary, and two inside the header (which random cuts
    # into a journal of some kilobytes would rarely hit).
    inside_header = {1, len(header_line(db_path)) // 2}
    offsets = set(rng.sample(range(len(whole)), 40)) | (boundaries - {len(whole)}) | inside_header
    outcomes = set()
    for offset in sorted(offsets):
        copy = tmp_path / f"cut-{offset}" / db_path.name
        copy.parent.mkdir()
        for path in (db_path, journal_of(db_path), lock_of(db_path)):
            shutil.copy2(path, copy.parent / path.name)
        journal_of(copy).write_bytes(whole[:offset])
        capsys.readouterr()
        assert run_check(copy) == 1, f"cut at {offset} (seed {seed})"
        out, err = capsys.readouterr()
        assert "OK" not in out
        if offset in boundaries:
            assert "was cut" in err, (offset, err)
            outcomes.add("boundary")
        elif offset > len(header_line(db_path)):
            assert "byte " in err, (offset, err)
            outcomes.add("inside an entry")
        else:
            assert "journal header" in err, (offset, err)
            outcomes.add("header")
    assert outcomes == {"boundary", "inside an entry", "header"}


def test_a_cut_journal_is_refused_and_never_cut_further(db_path: Path) -> None:
    make(db_path, 5)
    lines = entry_lines(db_path)
    cut = header_line(db_path) + b"".join(lines[:3]) + lines[3][:10]
    journal_of(db_path).write_bytes(cut)
    error = refused_untouched(db_path, match="was cut")
    assert "entry 5" in str(error) and "entry 3" in str(error)
    assert journal_of(db_path).read_bytes() == cut


def test_a_lock_record_read_while_it_is_rewritten_tells_nothing() -> None:
    """A reader may catch a writer's record half-rewritten: never a false "cut"."""
    old, new = encode_lock_record("ab12", 99), encode_lock_record("ab12", 100)
    assert parse_lock_record(old) == ("ab12", 99)
    assert parse_lock_record(new) == ("ab12", 100)
    for split in range(len(old)):
        mixed = new[:split] + old[split:]
        assert parse_lock_record(mixed) in (None, ("ab12", 99), ("ab12", 100)), split
    assert parse_lock_record(old.replace(b" 99 ", b" 98 ")) is None
    assert parse_lock_record(b"") is None


@pytest.mark.parametrize("lock", ["with-its-lock-file", "without"])
def test_check_explains_an_unfinished_last_entry(
    db_path: Path, lock: str, capsys: pytest.CaptureFixture[str]
) -> None:
    make(db_path, 3)
    if lock == "without":
        lock_of(db_path).unlink()
    size = journal_of(db_path).stat().st_size
    torn = _torn_tails()["half-an-entry"]
    with journal_of(db_path).open("ab") as fh:
        fh.write(torn)
    assert run_check(db_path) == 1
    err = capsys.readouterr().err
    assert f"byte {size}" in err
    assert f"{len(torn)} bytes" in err
    assert "crash" in err
    if lock == "without":
        assert "cut" in err  # it cannot tell which


def test_a_journal_without_its_snapshot_is_never_emptied(db_path: Path) -> None:
    make(db_path, 3)
    db_path.unlink()
    before = file_states(db_path.parent)
    with pytest.raises(StoreMissing):
        Database(db_path)
    with pytest.raises(StoreCorrupt, match="snapshot is missing") as err:
        Database(db_path, create=True)
    assert str(journal_of(db_path)) in str(err.value)
    assert file_states(db_path.parent) == before


def test_an_interrupted_creation_is_finished(db_path: Path) -> None:
    """Creation writes the journal first; a crash before the snapshot leaves only that."""
    make(db_path, 0)
    db_path.unlink()
    db = Database(db_path, create=True)
    try:
        assert db.table("t").insert({"n": 1}) == 1
    finally:
        db.close()
    assert docs_of(db_path) == {1: {"n": 1}}


# ---------------------------------------------------------------- full disk, read-only


def test_a_full_disk_fails_clearly_rolls_back_and_loses_nothing(db_path: Path) -> None:
    make(db_path, 5)
    clean = journal_of(db_path).read_bytes()
    limit = len(clean) + 600  # room for a few small entries, not for a big one

    def full_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    # Ends on a failure: the failed append itself must leave no torn tail behind.
    steps = ["small", "big", "small", "big-update", "small", "big-batch"]
    report = run_writer(db_path, steps, preexec_fn=full_disk)
    results = report["results"]
    assert [r["step"] for r in results] == steps
    assert [r.get("result") for r in results if "result" in r] == [6, 7, 8]
    failures = [r for r in results if "error" in r]
    assert [r["step"] for r in failures] == ["big", "big-update", "big-batch"]
    for failure in failures:
        assert "disk is full" in failure["error"]
        assert str(journal_of(db_path)) in failure["error"]
        assert failure["rolled_back"]
        assert failure["cache_fresh"]

    # On disk: the old journal untouched, the three small entries whole after it.
    journal = journal_of(db_path).read_bytes()
    assert len(journal) <= limit
    assert journal.startswith(clean)
    assert journal.endswith(b"\n")
    added = journal[len(clean) :].splitlines()
    assert [json.loads(x.partition(b" ")[2])["seq"] for x in added] == [6, 7, 8]
    docs = docs_of(db_path)
    assert docs == {i: {"n": i} for i in range(1, 9)}

    # With space again, writing simply carries on.
    db = Database(db_path)
    try:
        assert db.table("t").insert({"n": 9, "pad": "x" * 20_000}) == 9
    finally:
        db.close()
    assert sorted(docs_of(db_path)) == list(range(1, 10))


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory another user can reach (pytest's own tmp dirs are private to us)."""
    path = Path(tempfile.mkdtemp(prefix="isolation-store-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_read_only_file_fails_clearly_and_loses_nothing(shared_dir: Path) -> None:
    db_path = shared_dir / "isolation.db"
    make(db_path, 3)
    as_root = os.geteuid() == 0
    opts: dict[str, Any] = {}
    for p in (db_path, journal_of(db_path)):
        if as_root:
            os.chown(p, NOBODY, NOBODY)
        p.chmod(0o400)
    if as_root:
        # Root ignores modes; the writer runs as nobody, who owns read-only files.
        os.chown(lock_of(db_path), NOBODY, NOBODY)
        opts["uid"] = NOBODY
    before = file_states(shared_dir)

    report = run_writer(db_path, ["small", "big-batch", "big-update"], **opts)
    assert report["uid"] == (NOBODY if as_root else os.geteuid())
    for result in report["results"]:
        assert "error" in result, result
        assert "cannot write" in result["error"]
        assert "permission" in result["error"].lower()
        assert str(journal_of(db_path)) in result["error"]
        assert result["rolled_back"]
        assert result["cache_fresh"]
    assert file_states(shared_dir) == before
    assert docs_of(db_path, read_only=True) == {i: {"n": i} for i in range(1, 4)}
