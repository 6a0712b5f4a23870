"""A hostile colleague with write access to the data folder: planted symlinks, stale
temp files, database files swapped for links. Real files, real processes, and two
real OS accounts in one group (made here with ``useradd``: the tests run as root).
"""

from __future__ import annotations

import fcntl
import grp
import inspect
import json
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from isolation_tui.storage.database import Database
from isolation_tui.storage.errors import StoreUnsafe

# A session that compacts on its next write, as the given user (or as we are).
COMPACTING_WRITER = r"""
import json, os, sys
from isolation_tui.storage import engine
from isolation_tui.storage.database import Database
from isolation_tui.storage.errors import StoreError

path, opts = sys.argv[1], json.loads(sys.argv[2])
if opts.get("uid") is not None:
    os.setgroups(opts["groups"])
    os.setgid(opts["gid"])
    os.setuid(opts["uid"])
    os.umask(0o007)
engine.COMPACT_MIN_BYTES = 0
if opts.get("create"):
    Database(path, create=True).close()
    for suffix in ("", "-journal", "-lock"):
        os.chmod(path + suffix, 0o660)  # as the README advises for a group
print("ready", flush=True)
if sys.stdin.readline().strip() != "go":
    sys.exit("no start signal")
try:
    db = Database(path)
    ids = [db.table("t").insert({"n": i, "pad": "p" * 200}) for i in range(opts["n"])]
    db.close()
except StoreError as exc:
    print(json.dumps({"error": str(exc)}))
else:
    print(json.dumps({"ids": ids}))
"""


def journal_of(path: Path) -> Path:
    return path.with_name(path.name + "-journal")


def lock_of(path: Path) -> Path:
    return path.with_name(path.name + "-lock")


def make(path: Path, n: int) -> None:
    db = Database(path, create=True)
    for i in range(n):
        db.table("t").insert({"n": i, "pad": "p" * 200})
    db.close()


def docs_of(path: Path) -> list[int]:
    db = Database(path, read_only=True)
    try:
        return [d["n"] for d in db.table("t").all()]
    finally:
        db.close()


def fingerprint(path: Path) -> tuple[bytes, int, int, int, int]:
    st = os.lstat(path)
    return (path.read_bytes(), st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns)


def start_writer(path: Path, **opts: Any) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", COMPACTING_WRITER, str(path), json.dumps({"n": 3, **opts})],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line == "ready\n", proc.communicate()
    return proc


def go(proc: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = proc.communicate("go\n", timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out)


def plant(directory: Path, names: list[str], pids: range, target: Path) -> int:
    """Symlinks ``<name>.tmp-<pid>`` (and ``.tmp<pid>``, ``.tmp``) to ``target``."""
    count = 0
    for name in names:
        for pid in pids:
            for suffix in (f".tmp-{pid}", f".tmp{pid}", ".tmp"):
                link = directory / f"{name}{suffix}"
                if not os.path.lexists(link):
                    link.symlink_to(target)
                    count += 1
    return count


# ---------------------------------------------------------------- one account


def test_planted_temp_symlinks_never_reach_the_victim(tmp_path: Path) -> None:
    """The attack from the issue: symlinks for the writer's pid (and thousands around
    it) at the compaction's temp names, pointing at a file of the victim."""
    db_path = tmp_path / "points.db"
    make(db_path, 5)
    victim = tmp_path / "bashrc"
    victim.write_text("alias ll='ls -l'\n")
    victim.chmod(0o600)
    before = fingerprint(victim)

    proc = start_writer(db_path)
    names = [db_path.name, journal_of(db_path).name]
    assert plant(tmp_path, names, range(proc.pid - 1500, proc.pid + 1500), victim) > 6000
    result = go(proc)

    assert result == {"ids": [6, 7, 8]}
    assert fingerprint(victim) == before
    for path in (db_path, journal_of(db_path), lock_of(db_path)):
        assert stat.S_ISREG(os.lstat(path).st_mode), path
    assert docs_of(db_path) == [*range(5), 0, 1, 2]
    # It did compact (through names of its own), and left no temp file of its own.
    assert int(journal_of(db_path).read_bytes().split(b" ")[2]) > 5
    ours = [p for p in tmp_path.iterdir() if ".tmp" in p.name and not p.is_symlink()]
    assert ours == []


@pytest.mark.parametrize("which", ["snapshot", "journal", "lock"])
def test_a_database_file_that_is_a_symlink_is_refused(tmp_path: Path, which: str) -> None:
    db_path = tmp_path / "points.db"
    make(db_path, 3)
    link = {"snapshot": db_path, "journal": journal_of(db_path), "lock": lock_of(db_path)}[which]
    # The link points at a faithful copy: only the link itself is wrong.
    target = tmp_path / "elsewhere"
    shutil.copy2(link, target)
    link.unlink()
    link.symlink_to(target)
    before = fingerprint(target)

    for kwargs in ({}, {"read_only": True}, {"create": True}):
        with pytest.raises(StoreUnsafe) as err:
            Database(db_path, **kwargs)
        assert str(link) in str(err.value)
        assert "symbolic link" in str(err.value)
    assert fingerprint(target) == before
    assert os.path.islink(link)


def test_a_journal_swapped_for_a_symlink_under_a_session_is_refused(tmp_path: Path) -> None:
    db_path = tmp_path / "points.db"
    make(db_path, 3)
    session = Database(db_path)
    try:
        victim = tmp_path / "victim-journal"
        shutil.copy2(journal_of(db_path), victim)
        before = fingerprint(victim)
        journal_of(db_path).unlink()
        journal_of(db_path).symlink_to(victim)
        with pytest.raises(StoreUnsafe, match="symbolic link"):
            session.table("t").insert({"n": 99})
        with pytest.raises(StoreUnsafe, match="symbolic link"):
            session.storage.compact()
        assert fingerprint(victim) == before
        assert [d["n"] for d in session.table("t").all()] == [0, 1, 2]
    finally:
        session.close()


def test_stale_temp_files_of_ours_are_removed_by_the_next_writer(tmp_path: Path) -> None:
    """What a kill during compaction leaves: a partial snapshot with personal data."""
    db_path = tmp_path / "points.db"
    make(db_path, 3)
    ours = [
        tmp_path / "points.db.tmp-4242",
        tmp_path / "points.db-journal.tmp-0f3a9c2b1d4e5f60",
    ]
    for path in ours:
        path.write_bytes(b"ISOLATION-TUI-SNAPSHOT 1 ... partial, with ID numbers")
    theirs = tmp_path / "points.db.tmp-777"
    theirs.write_bytes(b"another user's temp")
    os.chown(theirs, 65534, 65534)
    a_dir = tmp_path / "points.db.tmp-dir"
    a_dir.mkdir()
    target = tmp_path / "not-a-temp"
    target.write_bytes(b"keep")
    link = tmp_path / "points.db.tmp-link"
    link.symlink_to(target)
    unrelated = tmp_path / "points.dbx.tmp-1"
    unrelated.write_bytes(b"not ours to judge")

    # Readers leave them alone; the next writer removes ours, and only ours.
    Database(db_path, read_only=True).close()
    assert all(p.exists() for p in ours)
    db = Database(db_path)
    try:
        db.table("t").insert({"n": 3, "pad": ""})
    finally:
        db.close()
    assert not any(os.path.lexists(p) for p in ours)
    assert theirs.read_bytes() == b"another user's temp"
    assert a_dir.is_dir() and os.path.islink(link) and target.read_bytes() == b"keep"
    assert unrelated.exists()


# ---------------------------------------------------------------- two accounts


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: Path


def _run_as_root(*args: str) -> None:
    """``useradd`` and friends; retried while another process holds /etc/passwd's lock."""
    for _ in range(20):
        proc = subprocess.run(args, capture_output=True, text=True)
        if proc.returncode == 0:
            return
        if "lock" not in proc.stderr.lower():
            break
        subprocess.run(["sleep", "0.2"])
    raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr}")


@pytest.fixture
def two_supervisors() -> Iterator[tuple[Account, Account, int, Path]]:
    """Alice and Mallory, real accounts in one group, and a 2770 folder of that group
    (as the README advises for several OS users on one database)."""
    assert os.geteuid() == 0, "this test makes OS accounts: run the suite as root (CI does)"
    tag = secrets.token_hex(3)
    group = f"isosup{tag}"
    names = [f"isoalice{tag}", f"isomallory{tag}"]
    _run_as_root("groupadd", group)
    made: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="isolation-shared-"))
    try:
        for name in names:
            _run_as_root("useradd", "--create-home", "--groups", group, name)
            made.append(name)
        gid = grp.getgrnam(group).gr_gid
        accounts = []
        for name in names:
            entry = pwd.getpwnam(name)
            accounts.append(Account(name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir)))
        folder.chmod(0o755)
        shared = folder / "shared"
        shared.mkdir()
        os.chown(shared, 0, gid)
        shared.chmod(0o2770)
        yield accounts[0], accounts[1], gid, shared
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for name in made:
            _run_as_root("userdel", "--remove", name)
        _run_as_root("groupdel", group)


def _as(account: Account, group: int, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as ``account`` (root imports the interpreter, then drops to it)."""
    prelude = (
        "import os\nfrom pathlib import Path\n"
        f"os.setgroups([{group}]); os.setgid({account.gid}); os.setuid({account.uid})\n"
        "os.umask(0o007)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=60
    )


def test_a_second_account_in_the_group_cannot_hijack_anothers_writes(
    two_supervisors: tuple[Account, Account, int, Path],
) -> None:
    alice, mallory, group, shared = two_supervisors
    db_path = shared / "points.db"
    victim = alice.home / ".bashrc"
    if not victim.exists():
        victim.write_text("# alice's shell\n")
        os.chown(victim, alice.uid, alice.gid)
    victim.chmod(0o644)
    before = fingerprint(victim)

    # Alice sets up the database as the README says and writes to it.
    opts = {"uid": alice.uid, "gid": alice.gid, "groups": [group], "create": True, "n": 40}
    proc = start_writer(db_path, **opts)

    # Mallory, from her own account, plants links for Alice's writer and thousands of
    # pids around it, and swaps nothing else (she may edit the files: the README says
    # the group is trusted with the data, not with Alice's account).
    planting = _as(
        mallory,
        group,
        f"{inspect.getsource(plant)}\n"
        f"n = plant(Path({str(shared)!r}), ['points.db', 'points.db-journal'], "
        f"range({proc.pid - 1500}, {proc.pid + 1500}), Path({str(victim)!r}))\n"
        "print(n)\n",
    )
    assert planting.returncode == 0, planting.stderr
    assert int(planting.stdout) > 6000
    assert os.lstat(shared / f"points.db.tmp-{proc.pid}").st_uid == mallory.uid

    result = go(proc)
    assert result == {"ids": list(range(1, 41))}
    assert fingerprint(victim) == before
    for path in (db_path, journal_of(db_path)):
        st = os.lstat(path)
        assert stat.S_ISREG(st.st_mode)
        assert st.st_uid == alice.uid
        assert st.st_gid == group
        assert stat.S_IMODE(st.st_mode) == 0o660
    assert docs_of(db_path) == list(range(40))

    # Mallory swaps the journal itself for a link to Alice's file: Alice's next
    # write is refused with a message, and her file stays as it was.
    swap = _as(
        mallory,
        group,
        "import os\n"
        f"os.replace({str(journal_of(db_path))!r}, {str(shared / 'stolen')!r})\n"
        f"os.symlink({str(victim)!r}, {str(journal_of(db_path))!r})\n",
    )
    assert swap.returncode == 0, swap.stderr
    refused = start_writer(db_path, uid=alice.uid, gid=alice.gid, groups=[group])
    assert "symbolic link" in go(refused)["error"]
    assert fingerprint(victim) == before


def test_a_snapshot_being_written_beside_the_writers_is_not_swept(tmp_path: Path) -> None:
    """A big import writes its new snapshot before it takes the writers' lock; another
    writer's sweep of stale temp files must not take it away meanwhile."""
    db_path = tmp_path / "points.db"
    make(db_path, 3)
    being_written = tmp_path / "points.db.tmp-5a5a5a5a5a5a5a5a"
    fd = os.open(being_written, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        db = Database(db_path)
        try:
            db.table("t").insert({"n": 3, "pad": ""})
        finally:
            db.close()
        assert being_written.exists()
    finally:
        os.close(fd)
    db = Database(db_path)
    try:
        db.table("t").insert({"n": 4, "pad": ""})
    finally:
        db.close()
    assert not being_written.exists()
