"""A commit is on the disk before it returns: ``fdatasync`` seen in a real process.

The process below wraps ``os.write``, ``os.fsync`` and ``os.fdatasync`` so that each
call is logged, in order, with the file its descriptor names (from /proc), then
does its work: one commit through the store, or a whole ``isolation-tui import``
whose stdout goes through ``os.write`` too, so the summary line takes its place in
the same log. The log is read here after the process has exited.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from isolation_tui.storage.repository import open_store

TRACER = r"""
import io, json, os, sys

events = []
real = {name: getattr(os, name) for name in ("write", "fsync", "fdatasync")}


def named(fd):
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return f"fd {fd}"


def traced(name):
    def call(fd, *args):
        events.append([name, named(fd)])
        return real[name](fd, *args)

    return call


for name in real:
    setattr(os, name, traced(name))


class Tap(io.RawIOBase):
    # stdout through the traced os.write, so what the program says is in the log.
    def writable(self):
        return True

    def write(self, data):
        return os.write(1, bytes(data))


sys.stdout = io.TextIOWrapper(io.BufferedWriter(Tap()), encoding="utf-8", line_buffering=True)
mode, out = sys.argv[1], sys.argv[2]
try:
    if mode == "commit":
        from isolation_tui.storage.database import Database

        db = Database(sys.argv[3])
        table = db.table("docs")
        del events[:]
        with db.transaction():
            table.insert({"n": 1})
            table.insert({"n": 2})
        events.append(["returned", ""])
        table.insert({"n": 3})
        events.append(["returned", ""])
        db.close()
    else:
        from isolation_tui.cli import main

        sys.argv = ["isolation-tui", *sys.argv[3:]]
        main()
finally:
    sys.stdout.flush()
    with open(out, "w") as fh:
        json.dump(events, fh)
"""


def traced(tmp_path: Path, mode: str, *args: str) -> list[list[str]]:
    log = tmp_path / "events.json"
    env = {**os.environ, "LANG": "C.UTF-8"}
    env.pop("LC_ALL", None)
    result = subprocess.run(
        [sys.executable, "-c", TRACER, mode, str(log), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(log.read_text())


def synced_before(events: list[list[str]], journal: str, end: int) -> bool:
    """Each write to the journal before ``end`` is followed by a sync of it before ``end``."""
    last_write = max(
        (i for i, (name, path) in enumerate(events[:end]) if name == "write" and path == journal),
        default=None,
    )
    assert last_write is not None, f"nothing written to {journal}: {events[:end]}"
    return any(
        name in ("fdatasync", "fsync") and path == journal
        for name, path in events[last_write + 1 : end]
    )


def test_a_commit_is_synced_to_disk_before_it_returns(tmp_path: Path, db_path: Path) -> None:
    open_store(db_path, create=True).close()
    journal = str(db_path.with_name(db_path.name + "-journal"))
    events = traced(tmp_path, "commit", str(db_path))
    returns = [i for i, (name, _) in enumerate(events) if name == "returned"]
    assert len(returns) == 2, events
    # A transaction and a single insert: each synced before its call returned.
    assert synced_before(events, journal, returns[0]), events
    assert synced_before(events[returns[0] + 1 :], journal, returns[1] - returns[0] - 1), events


def test_an_import_is_synced_before_it_says_so(tmp_path: Path, db_path: Path) -> None:
    store = open_store(db_path, create=True)
    store.save_point("DD01", "一号点", [{"code": "301", "floor": "3", "beds": 2, "blocked": False}])  # type: ignore[list-item]
    store.close()
    file = tmp_path / "bus.csv"
    with file.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(("point", "name", "id_type", "id_number", "category", "arrived_at"))
        writer.writerow(("DD01", "旅客", "passport", "P1", "inbound", "2026-11-20 10:00"))
    journal = str(db_path.with_name(db_path.name + "-journal"))
    events = traced(tmp_path, "cli", "import", "arrivals", str(file), "--db", str(db_path))
    # What the program says goes to the pipe the test reads (the entry itself may be
    # written to a temp file beside the journal first).
    stdout = next(
        (
            i
            for i, (name, path) in enumerate(events)
            if name == "write" and path.startswith("pipe:")
        ),
        None,
    )
    assert stdout is not None, events
    assert synced_before(events, journal, stdout), events
