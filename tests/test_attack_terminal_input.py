"""A supervisor whose SSH client sends GBK (an older Windows client's default), or a
stray 8-bit byte: the terminal program reads bytes that are not UTF-8. It must go
on taking keys, and quit on ctrl+q, never die mid-shift with a traceback over the
screen and a session that no longer answers."""

from __future__ import annotations

import os
import select
import time
from pathlib import Path

from conftest import CliRunner, start_in_terminal


def test_bytes_that_are_not_utf8_neither_freeze_nor_kill_the_program(
    cli: CliRunner, db_path: Path, tmp_path: Path
) -> None:
    rooms = tmp_path / "rooms.csv"
    rooms.write_text("point,room,beds\nDD01,101,1\n", encoding="utf-8")
    assert cli("import", "rooms", str(rooms)).returncode == 0
    process, main = start_in_terminal(db_path)
    seen = b""

    def read_until(done: bool | None, deadline: float) -> None:
        nonlocal seen
        while not done and time.monotonic() < deadline and process.poll() is None:
            if select.select([main], [], [], 0.2)[0]:
                try:
                    seen += os.read(main, 65536)
                except OSError:
                    return

    try:
        deadline = time.monotonic() + 60
        while b"DD01" not in seen and time.monotonic() < deadline:
            read_until(False, time.monotonic() + 0.5)
        assert b"DD01" in seen
        os.write(main, "张三".encode("gb18030"))  # typed on a GBK terminal
        read_until(False, time.monotonic() + 1)
        os.write(main, b"\x11")  # ctrl+q
        read_until(False, deadline)
        assert process.wait(timeout=30) == 0, seen[-2000:]
        assert b"UnicodeDecodeError" not in seen
    finally:
        if process.poll() is None:
            process.kill()
        os.close(main)
