"""The demo's own folder in the temp directory (``isolation-tui-demo-…``): gigabytes
at a big scale, and people's names that look real, so none is left behind.

The folder is removed on every ending the process can catch: leaving the program,
an error, SIGTERM, and SIGHUP (the SSH link dropped). One it cannot catch (``kill
-9``, a power cut) is removed by the next demo this OS account starts: the live
process holds the folder's ``owner`` file locked (``flock``), so a folder whose
lock can be taken has no owner left. Only folders of the same real uid are looked
at, never through a symbolic link, and never another account's.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

PREFIX = "isolation-tui-demo-"
OWNER = "owner"
# A folder without an owner file may be a demo starting this very moment, or one
# of a version before owner files that still runs: only a day's silence says stale.
UNOWNED_GRACE = 24 * 3600.0
ENDINGS = (signal.SIGTERM, signal.SIGHUP)

_folders: list[Path] = []
"""The folders this process removes when it ends."""
_caught: set[int] = set()


@contextlib.contextmanager
def demo_folder() -> Iterator[Path]:
    """A new folder for a demo, owned by this process while it lasts, then removed
    with everything in it; stale ones of earlier demos are swept first."""
    sweep_stale()
    folder = Path(tempfile.mkdtemp(prefix=PREFIX))  # 0700, an unguessable name
    owner = -1
    try:
        # Locked before it has its name: another demo's sweep never finds it unheld.
        owner, made = tempfile.mkstemp(prefix=".owner-", dir=folder)
        fcntl.flock(owner, fcntl.LOCK_EX)
        os.rename(made, folder / OWNER)
    except OSError:
        if owner >= 0:
            os.close(owner)
        _remove(folder)
        raise
    try:
        _folders.append(folder)
        _catch_endings()
        yield folder
    finally:
        with contextlib.suppress(ValueError):
            _folders.remove(folder)
        _remove(folder)
        os.close(owner)


def sweep_stale(top: Path | None = None) -> list[Path]:
    """Remove the demo folders of this real uid in ``top`` (the temp directory)
    whose process is gone; returns them."""
    top = top or Path(tempfile.gettempdir())
    try:
        names = [name for name in os.listdir(top) if name.startswith(PREFIX)]
    except OSError:
        return []
    swept = []
    for name in names:
        path = top / name
        if _stale(path):
            _remove(path)
            swept.append(path)
    return swept


def _stale(path: Path) -> bool:
    try:
        seen = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISDIR(seen.st_mode) or seen.st_uid != os.getuid():
        return False  # a link, a file, or another account's: never touched
    try:
        folder = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        now = os.fstat(folder)
        if (now.st_dev, now.st_ino) != (seen.st_dev, seen.st_ino):
            return False  # replaced meanwhile
        try:
            owner = os.open(OWNER, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder)
        except FileNotFoundError:
            return time.time() - now.st_mtime > UNOWNED_GRACE
        except OSError:
            return False
        try:
            held = os.fstat(owner)
            if not stat.S_ISREG(held.st_mode) or held.st_uid != os.getuid():
                return False
            try:
                fcntl.flock(owner, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # its demo still runs
            return True
        finally:
            os.close(owner)
    finally:
        os.close(folder)


def _remove(path: Path) -> None:
    # rmtree works through directory descriptors here: it never follows a link.
    shutil.rmtree(path, ignore_errors=True)


def _catch_endings() -> None:
    """On SIGTERM and SIGHUP, remove the folders, then end as the signal would
    have (a handler installed before is called instead; an ignored signal stays
    ignored: the process goes on, and removes them when it ends)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for number in ENDINGS:
        if number in _caught:
            continue
        before = signal.getsignal(number)
        if before == signal.SIG_IGN:
            continue
        _caught.add(number)

        def ending(signum: int, frame: FrameType | None, before: Any = before) -> None:
            for folder in list(_folders):
                _remove(folder)
            _folders.clear()
            if callable(before):
                before(signum, frame)
                return
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

        signal.signal(number, ending)
