"""``isolation-tui backup``: one private file, consistent while others write, that
``--db`` opens and ``check`` accepts. Real files, real processes."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import CliRunner

from isolation_tui.storage.actor import Actor
from isolation_tui.storage.backend import backup_database
from isolation_tui.storage.database import Database
from isolation_tui.storage.errors import StoreCorrupt, StoreError
from isolation_tui.storage.repository import open_store
from isolation_tui.storage.tables import STAYS

HALF_A_TRANSACTION = r"""
import sys
from isolation_tui.storage.database import Database

db = Database(sys.argv[1])
with db.transaction():
    for k in range(10):
        db.table("t").insert({"batch": "late", "k": k})
    print("half", flush=True)
    if sys.stdin.readline().strip() != "go":
        sys.exit("no go")
    for k in range(10, 20):
        db.table("t").insert({"batch": "late", "k": k})
print("committed", flush=True)
"""


def journal_of(path: Path) -> Path:
    return path.with_name(path.name + "-journal")


def fill(db_path: Path, people: int) -> None:
    store = open_store(db_path, create=True, actor=Actor("tester", "local"))
    store.save_point(
        "DD01",
        "一号点",
        [{"code": f"{100 + n}", "floor": "1", "beds": 1, "blocked": False} for n in range(50)],
    )
    for n in range(people):
        store.stays.register(
            {
                "point": "DD01",
                "name": f"旅客{n}",
                "id_type": "passport",
                "id_number": f"E{n:06d}",
                "category": "inbound",
                "arrived_at": "2026-11-20 10:00",
            }
        )
    store.close()


def test_a_backup_is_one_private_file_that_opens_and_checks(
    cli: CliRunner, db_path: Path, tmp_path: Path
) -> None:
    fill(db_path, 4)
    out_dir = tmp_path / "backups"
    out_dir.mkdir()
    out = out_dir / "points-2026-11-30.db"
    made = cli("backup", "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert str(out) in made.stdout
    assert [p.name for p in out_dir.iterdir()] == [out.name]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    # It opens read-only without anything beside it, and says what the source says.
    checked = cli("check", "--db", str(out))
    assert checked.returncode == 0, checked.stderr
    assert "OK" in checked.stdout
    assert [p.name for p in out_dir.iterdir()] == [out.name]
    source = json.loads(cli("stats", "--json").stdout)
    assert json.loads(cli("stats", "--json", "--db", str(out)).stdout) == source

    # Written to, it becomes an ordinary database: then its journal is required.
    wrote = cli(
        "schedule", "--db", str(out), "--point", "DD01", "--category", "inbound", "--days", "1,7"
    )
    assert wrote.returncode == 0, wrote.stderr
    assert journal_of(out).exists()
    assert cli("check", "--db", str(out)).returncode == 0
    journal_of(out).unlink()
    refused = cli("check", "--db", str(out))
    assert refused.returncode == 1
    assert f"{journal_of(out)} is missing" in refused.stderr


@pytest.mark.parametrize("what", ["file", "symlink"])
def test_a_backup_never_replaces_or_follows_what_is_there(
    cli: CliRunner, db_path: Path, tmp_path: Path, what: str
) -> None:
    fill(db_path, 1)
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep me")
    out = tmp_path / "out.db"
    if what == "file":
        out.write_bytes(b"an older backup")
    else:
        out.symlink_to(victim)
    result = cli("backup", "--out", str(out))
    assert result.returncode == 1
    assert "already exists" in result.stderr
    assert victim.read_bytes() == b"keep me"
    assert os.path.islink(out) == (what == "symlink")
    if what == "file":
        assert out.read_bytes() == b"an older backup"


def test_a_backup_holds_whole_transactions_and_waits_for_nobody(
    cli: CliRunner, db_path: Path, tmp_path: Path
) -> None:
    db = Database(db_path, create=True)
    db.table("t").insert({"batch": "early"})
    db.close()
    writer = subprocess.Popen(
        [sys.executable, "-c", HALF_A_TRANSACTION, str(db_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline() == "half\n"
        # The writer holds the writers' lock, half-way through its transaction.
        during = tmp_path / "during.db"
        assert cli("backup", "--out", str(during)).returncode == 0
        out, _ = writer.communicate("go\n", timeout=60)
        assert out == "committed\n"
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait()
    after = tmp_path / "after.db"
    assert cli("backup", "--out", str(after)).returncode == 0

    def batches(path: Path) -> Counter[str]:
        copy = Database(path, read_only=True)
        try:
            return Counter(d["batch"] for d in copy.table("t").all())
        finally:
            copy.close()

    assert batches(during) == {"early": 1}
    assert batches(after) == {"early": 1, "late": 20}


def test_backups_taken_during_concurrent_imports_hold_each_import_whole_or_not(
    cli: CliRunner, location: str, tmp_path: Path
) -> None:
    """On either store: a file store's journal holds whole transactions only, and
    PostgreSQL is read from one snapshot of the server."""
    chains, per_chain, rows = 2, 4, 40
    files = chains * per_chain
    rooms = tmp_path / "rooms.csv"
    rooms.write_text(
        "point,point_name,room,floor,beds\n"
        + "".join(f"DD01,一号点,R{f},1,{rows}\n" for f in range(files))
    )
    assert cli("import", "rooms", str(rooms), "--db", location).returncode == 0
    for f in range(files):
        # A bus is one household per room: the first fills it, the rest share it.
        lines = ["point,room,shares_room,name,id_type,id_number,category,arrived_at,transport"]
        lines += [
            f"DD01,R{f},{'yes' if n else 'no'},旅客{f}-{n},passport,F{f}{n:05d},inbound,"
            f"2026-11-20 10:00,BUS-{f}"
            for n in range(rows)
        ]
        (tmp_path / f"bus{f}.csv").write_text("\n".join(lines) + "\n")
    # Two importers at once, each going through its buses one after the other, so
    # that backups fall before, between and during imports.
    env = {**os.environ, "ISOLATION_TUI_DB": location, "LANG": "C.UTF-8"}
    importers = [
        subprocess.Popen(
            [
                "sh",
                "-ec",
                " && ".join(
                    f"{sys.executable} -m isolation_tui import arrivals {tmp_path}/bus{f}.csv"
                    for f in range(chain, files, chains)
                ),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for chain in range(chains)
    ]
    backups = []
    while any(p.poll() is None for p in importers):
        out = tmp_path / f"backup-{len(backups)}.db"
        made = cli("backup", "--out", str(out), "--db", location)
        assert made.returncode == 0, made.stderr
        backups.append(out)
    for proc in importers:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    final = tmp_path / "final.db"
    assert cli("backup", "--out", str(final), "--db", location).returncode == 0
    backups.append(final)

    seen = []
    for path in backups:
        store = open_store(path, read_only=True)
        try:
            buses = Counter(s["transport"] for s in store.rows(STAYS).values())
        finally:
            store.close()
        assert set(buses.values()) <= {rows}, (path, buses)
        seen.append(len(buses))
    assert cli("check", "--db", str(backups[len(backups) // 2])).returncode == 0
    assert seen[-1] == files  # the last backup holds every import
    assert seen == sorted(seen)
    print("whole imports in each backup, in the order taken:", seen)


def test_a_standalone_file_next_to_a_foreign_journal_is_refused(
    cli: CliRunner, db_path: Path, tmp_path: Path
) -> None:
    """Restoring a backup over a database but keeping its old journal: refused."""
    fill(db_path, 2)
    backup = tmp_path / "b.db"
    assert cli("backup", "--out", str(backup)).returncode == 0
    os.replace(backup, db_path)  # the journal of the old database stays
    with pytest.raises(StoreCorrupt, match="another database"):
        Database(db_path, read_only=True)


def test_without_o_tmpfile_a_backup_goes_through_a_private_temp_and_leaves_none(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(db_path, 2)
    real_open = os.open

    def no_tmpfile(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_TMPFILE == os.O_TMPFILE:
            raise OSError(errno.EOPNOTSUPP, "not supported here")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_tmpfile)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "b.db"
    seq, records = backup_database(db_path, out)
    monkeypatch.undo()
    assert [p.name for p in out_dir.iterdir()] == ["b.db"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    copy = open_store(out, read_only=True)
    try:
        assert copy.db.storage.seq == seq
        assert sum(len(rows) for rows in copy.db.storage.tables().values()) == records
        assert len(copy.rows(STAYS)) == 2
    finally:
        copy.close()
    with pytest.raises(StoreError, match="already exists"):
        backup_database(db_path, out)
