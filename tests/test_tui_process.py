"""``isolation-tui`` itself, started in a pseudo-terminal of 80×24 as the README says.

The program runs as a real process whose terminal is the pty's other end; the
test reads what it draws (escape sequences removed) and types keys into it.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from isolation_tui.headless.demo_folder import sweep_stale
from isolation_tui.storage.paths import database_files

CTRL_Q = b"\x11"
# CSI and OSC sequences, and the two-byte ones (ESC =, ESC >, ESC 7 ...).
ESCAPES = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_=>78]"
)


class Terminal:
    """A program running in a pseudo-terminal, and everything it has drawn so far."""

    def __init__(
        self, args: list[str], env: dict[str, str], rows: int = 24, cols: int = 80
    ) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "isolation_tui", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        os.close(slave)
        self.raw = b""

    @property
    def text(self) -> str:
        return ESCAPES.sub(b"", self.raw).decode("utf-8", "replace")

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the program has closed the terminal
            return False
        self.raw += chunk
        return bool(chunk)

    def wait_for(self, pattern: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text):
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not drawn; screen so far:\n{self.text[-3000:]}")
            if not self._read(0.2) and self.proc.poll() is not None:
                raise AssertionError(
                    f"exited {self.proc.returncode} before {pattern!r}:\n{self.text}"
                )

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def finish(self, timeout: float = 30) -> int:
        """Read until the program exits; its exit code."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        while self._read(0):
            pass
        return self.proc.wait(timeout=1)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        os.close(self.master)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[type[Terminal]]:
    started: list[Terminal] = []

    class Tracked(Terminal):
        def __init__(self, args: list[str], env: dict[str, str]) -> None:
            super().__init__(args, env)
            started.append(self)

    yield Tracked
    for term in started:
        term.close()


def environment(tmp_path: Path) -> dict[str, str]:
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("LC_ALL", "COLUMNS", "LINES", "NO_COLOR", "ISOLATION_TUI_DB")
    }
    env.update(TERM="xterm-256color", LANG="en_US.UTF-8", TMPDIR=str(temp), HOME=str(tmp_path))
    return env


def test_demo_draws_its_counters_and_quits_on_ctrl_q(
    tmp_path: Path, terminal: type[Terminal]
) -> None:
    env = environment(tmp_path)
    term = terminal(["--demo", "--lang", "en"], env)
    term.wait_for("Writing a fresh copy of the demo data")
    term.wait_for(r"1371")
    term.wait_for(r"1186")
    # The demo lives in a temporary folder while the program runs...
    folders = list((tmp_path / "tmp").glob("isolation-tui-*"))
    assert len(folders) == 1 and (folders[0] / "demo.db").exists()
    assert "Traceback" not in term.text
    term.type(CTRL_Q)
    assert term.finish() == 0
    # ...and is gone when it quits.
    assert not folders[0].exists()
    assert list((tmp_path / "tmp").iterdir()) == []


def demo_running(tmp_path: Path, terminal: type[Terminal]) -> tuple[Terminal, Path]:
    """``--demo`` up and drawn, and its folder."""
    term = terminal(["--demo", "--lang", "en"], environment(tmp_path))
    term.wait_for(r"1186")
    folders = list((tmp_path / "tmp").glob("isolation-tui-demo-*"))
    assert len(folders) == 1 and (folders[0] / "demo.db").exists()
    return term, folders[0]


@pytest.mark.parametrize("ending", [signal.SIGHUP, signal.SIGTERM])
def test_a_demo_ended_by_a_signal_removes_its_folder(
    tmp_path: Path, terminal: type[Terminal], ending: signal.Signals
) -> None:
    """The SSH link dropped (SIGHUP), or the session stopped (SIGTERM): nothing stays."""
    term, folder = demo_running(tmp_path, terminal)
    os.kill(term.proc.pid, ending)
    assert term.finish() == -ending
    assert not folder.exists()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_killed_demos_folder_is_swept_by_the_next_demo_and_no_other(
    tmp_path: Path, terminal: type[Terminal]
) -> None:
    term, killed = demo_running(tmp_path, terminal)
    os.kill(term.proc.pid, signal.SIGKILL)
    term.finish()
    assert (killed / "demo.db").exists()  # kill -9 cannot be caught
    temp = tmp_path / "tmp"
    # Beside it: a link that looks like a demo's folder (to a folder with data in
    # it), and one whose demo still runs (its owner file locked by a live process).
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("keep")
    (temp / "isolation-tui-demo-link").symlink_to(elsewhere)
    alive = temp / "isolation-tui-demo-alive"
    alive.mkdir()
    (alive / "owner").write_text("")
    holder = subprocess.Popen(["flock", str(alive / "owner"), "sleep", "120"])
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["flock", "-n", str(alive / "owner"), "true"]).returncode == 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        second, folder = demo_running_beside(tmp_path, terminal, killed)
        assert not killed.exists()
        assert alive.exists() and (elsewhere / "keep.txt").exists()
        assert (temp / "isolation-tui-demo-link").is_symlink()
        second.type(CTRL_Q)
        assert second.finish() == 0
        assert not folder.exists()
    finally:
        holder.kill()
        holder.wait()


def demo_running_beside(
    tmp_path: Path, terminal: type[Terminal], before: Path
) -> tuple[Terminal, Path]:
    term = terminal(["--demo", "--lang", "en"], environment(tmp_path))
    term.wait_for(r"1186")
    folders = [
        path
        for path in (tmp_path / "tmp").glob("isolation-tui-demo-*")
        if (path / "demo.db").exists() and path != before
    ]
    assert len(folders) == 1
    return term, folders[0]


def test_read_only_shows_its_badge_and_writes_nothing(
    tmp_path: Path, terminal: type[Terminal], demo_db: Path
) -> None:
    # A fresh demo is one standalone file: no journal, and read-only must make none.
    def files() -> list[bytes | None]:
        return [p.read_bytes() if p.exists() else None for p in database_files(demo_db)[:2]]

    before = files()
    term = terminal(["--db", str(demo_db), "--read-only", "--lang", "en"], environment(tmp_path))
    term.wait_for(r"READ-ONLY")
    term.wait_for(r"1371")
    term.type(CTRL_Q)
    assert term.finish() == 0
    assert files() == before


def test_a_damaged_database_is_refused_at_start(
    tmp_path: Path, terminal: type[Terminal], demo_db: Path
) -> None:
    copy = tmp_path / "points.db"
    for source, target in zip(database_files(demo_db), database_files(copy), strict=True):
        if source.exists():
            shutil.copy2(source, target)
    raw = bytearray(copy.read_bytes())
    raw[len(raw) // 2] ^= 0x20
    copy.write_bytes(bytes(raw))
    term = terminal(["--db", str(copy), "--lang", "en"], environment(tmp_path))
    assert term.finish(timeout=60) == 1
    assert f"{copy}: snapshot fails its checksum" in term.text
    assert "Nothing was changed" in term.text
    assert "Traceback" not in term.text


def test_read_only_on_a_missing_database_says_so_and_creates_nothing(
    tmp_path: Path, terminal: type[Terminal]
) -> None:
    missing = tmp_path / "nowhere" / "points.db"
    term = terminal(["--db", str(missing), "--read-only", "--lang", "en"], environment(tmp_path))
    assert term.finish(timeout=60) == 1
    assert f"{missing}: no database here" in term.text
    assert "Traceback" not in term.text
    assert not missing.parent.exists()


def test_a_stale_demo_folder_of_another_account_is_never_touched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = tmp_path / "isolation-tui-demo-stale"
    stale.mkdir()
    (stale / "owner").write_text("")
    (stale / "demo.db").write_text("names")
    # Seen from another account: its folder, so it stays.
    monkeypatch.setattr(os, "getuid", lambda: os.stat(stale).st_uid + 1)
    assert sweep_stale(tmp_path) == []
    assert (stale / "demo.db").exists()
    monkeypatch.undo()
    assert sweep_stale(tmp_path) == [stale]
    assert not stale.exists()


def test_a_demo_folder_without_an_owner_file_is_swept_only_after_a_day(tmp_path: Path) -> None:
    # A demo starting this moment, or one of a version before owner files that still
    # runs: its folder must not be taken from under it.
    running = tmp_path / "isolation-tui-demo-running"
    running.mkdir()
    (running / "demo.db-journal").write_text("names")
    hours_ago = time.time() - 2 * 3600
    os.utime(running, (hours_ago, hours_ago))
    assert sweep_stale(tmp_path) == []
    assert (running / "demo.db-journal").exists()
    day_ago = time.time() - 24 * 3600 - 60
    os.utime(running, (day_ago, day_ago))
    assert sweep_stale(tmp_path) == [running]
    assert not running.exists()
