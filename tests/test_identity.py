"""Who made a change, and nothing stored reaching a terminal, Markdown or HTML raw.

The audit names the account of the real uid (never $LOGNAME or $USER), the person
on duty as they named themselves, and the SSH client address only as what the
session says. Stored text is checked where it leaves the program: the bytes a
command prints, and the files a handover is written to.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import site
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import FIXED_NOW, start_in_terminal
from markdown_it import MarkdownIt

import isolation_tui
from isolation_tui.headless.handover_report import render
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import AUDIT, STAYS

ROOMS = "point,point_name,room,floor,beds,blocked\nDD01,一号点,101,1,2,\nDD01,一号点,102,1,2,\n"
ESCAPES = "\x1b]0;pwned\x07\x1b[2J"
# What a terminal acts on: C0 (ESC, BEL…), DEL, C1 (CSI as one character) and the
# invisible characters that reorder what follows them on screen.
FORBIDDEN = [chr(c) for c in range(0x20) if chr(c) not in "\n"] + [
    "\x7f",
    *(chr(c) for c in range(0x80, 0xA0)),
    "\u202e",
    "\u2066",
]
LINK = "[Click](http://evil.example/x)"
PIXEL = "![](http://track.example/p.png)"
SCRIPT = "<script>alert(1)</script>"


def run(
    db: Path,
    *args: str,
    env: dict[str, str] | None = None,
    user: int | None = None,
    python: str = sys.executable,
) -> subprocess.CompletedProcess[bytes]:
    """``isolation-tui ARGS`` in a real process; output as the bytes a terminal gets."""
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ISOLATION_TUI_DB": str(db),
        "LANG": "C.UTF-8",
        "HOME": str(db.parent),
        **(env or {}),
    }
    return subprocess.run(
        [python, "-m", "isolation_tui", *args],
        capture_output=True,
        env=full_env,
        timeout=120,
        user=user,
        cwd=db.parent,
    )


def printed_controls(data: bytes) -> list[str]:
    text = data.decode("utf-8")
    return [repr(ch) for ch in FORBIDDEN if ch in text.replace("\r\n", "\n")]


def audit(db: Path) -> list[dict[str, Any]]:
    store = open_store(db, read_only=True)
    try:
        return list(store.rows(AUDIT).values())
    finally:
        store.close()


def rooms_file(folder: Path, name: str = "rooms.csv") -> Path:
    path = folder / name
    path.write_text(ROOMS, encoding="utf-8")
    return path


# ---------------------------------------------------------------------- the OS account


def test_audit_names_the_real_account_not_the_one_the_environment_claims(
    db_path: Path, tmp_path: Path
) -> None:
    forged = {"LOGNAME": "alice", "USER": "alice", "SSH_CLIENT": "10.1.1.5 1 22"}
    result = run(db_path, "import", "rooms", str(rooms_file(tmp_path)), env=forged)
    assert result.returncode == 0, result.stderr

    me = pwd.getpwuid(os.getuid()).pw_name
    entries = audit(db_path)
    assert entries and {e["os_user"] for e in entries} == {me}
    assert "alice" not in orjson.dumps(entries).decode()
    # The address is kept, said to be only what the session claims.
    assert {e["ssh_client_claimed"] for e in entries} == {"10.1.1.5"}

    exported = run(db_path, "export", "audit")
    header, first = exported.stdout.decode("utf-8").splitlines()[:2]
    assert "os_user" in header and "ssh_client_claimed" in header
    assert f",{me}," in first and "alice" not in exported.stdout.decode()


def python_for(uid: int) -> tuple[str, str]:
    """An interpreter of this Python version that ``uid`` may run, and the import path
    that gives it this project and its libraries (a virtualenv under /root is closed
    to other accounts, though the libraries in it may be readable)."""
    project = str(Path(isolation_tui.__file__).parents[1])
    path = os.pathsep.join([*site.getsitepackages(), project])
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    for candidate in (
        sys.executable,
        f"/usr/bin/python{version}",
        f"/usr/local/bin/python{version}",
    ):
        try:
            subprocess.run(
                [candidate, "-c", "import isolation_tui.cli"],
                env={"PYTHONPATH": path},
                user=uid,
                capture_output=True,
                check=True,
            )
        except (OSError, subprocess.CalledProcessError):
            continue
        return candidate, path
    raise AssertionError(f"no Python {version} that uid {uid} may run, to test a second account")


@pytest.mark.skipif(os.getuid() != 0, reason="dropping privileges needs root")
def test_a_second_account_is_recorded_as_itself() -> None:
    # Not under pytest's own temporary folder: other accounts may not enter it.
    with tempfile.TemporaryDirectory(prefix="isolation-tui-") as shared:
        second_account_imports(Path(shared))


def second_account_imports(folder: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    shutil.chown(folder, nobody.pw_uid, nobody.pw_gid)
    db = folder / "points.db"
    rooms = rooms_file(folder)
    shutil.chown(rooms, nobody.pw_uid, nobody.pw_gid)
    python, path = python_for(nobody.pw_uid)

    forged = {
        "LOGNAME": "root",
        "USER": "root",
        "SSH_CLIENT": "10.9.9.9 5 22",
        "PYTHONPATH": path,
    }
    result = run(db, "import", "rooms", str(rooms), env=forged, user=nobody.pw_uid, python=python)

    assert result.returncode == 0, result.stderr
    assert {e["os_user"] for e in audit(db)} == {"nobody"}


def test_a_claimed_ssh_client_that_is_no_address_is_dropped(db_path: Path, tmp_path: Path) -> None:
    claim = {"SSH_CLIENT": f"{ESCAPES} 1 22", "LOGNAME": ESCAPES, "USER": ESCAPES}
    result = run(db_path, "import", "rooms", str(rooms_file(tmp_path)), env=claim)
    assert result.returncode == 0, result.stderr
    assert {e["ssh_client_claimed"] for e in audit(db_path)} == {""}
    assert "\x1b" not in orjson.dumps(audit(db_path)).decode()


def test_actor_takes_an_ipv6_client_and_nothing_else() -> None:
    from isolation_tui.storage.actor import current_actor

    assert current_actor({"SSH_CLIENT": "fe80::1 52814 22"}).ssh_client_claimed == "fe80::1"
    assert current_actor({"SSH_CONNECTION": "10.1.2.3 1 10.0.0.1 22"}).ssh_client_claimed == (
        "10.1.2.3"
    )
    assert current_actor({"SSH_CLIENT": "evil.example 1 22"}).ssh_client_claimed == ""
    assert current_actor({}).ssh_client_claimed == ""
    assert current_actor({"LOGNAME": "alice"}).os_user == pwd.getpwuid(os.getuid()).pw_name


# ---------------------------------------------------------------------- the person on duty


@pytest.mark.parametrize("where", ["group", "command"])
def test_the_person_on_duty_is_stored_beside_the_account(
    db_path: Path, tmp_path: Path, where: str
) -> None:
    file = str(rooms_file(tmp_path))
    args = ["--as", "张三", "import", "rooms", file]
    if where == "command":
        args = ["import", "rooms", file, "--as", "张三"]
    result = run(db_path, *args)
    assert result.returncode == 0, result.stderr
    entries = audit(db_path)
    assert {(e["os_user"], e["on_duty"]) for e in entries} == {
        (pwd.getpwuid(os.getuid()).pw_name, "张三")
    }

    exported = run(db_path, "export", "audit", "--format", "json")
    rows = orjson.loads(exported.stdout)
    assert {row["on_duty"] for row in rows} == {"张三"}


def test_the_name_on_duty_is_cleaned_and_a_long_one_refused(db_path: Path, tmp_path: Path) -> None:
    file = str(rooms_file(tmp_path))
    result = run(db_path, "--as", f"张\x1b[31m三{ESCAPES}\u202e", "import", "rooms", file)
    assert result.returncode == 0, result.stderr
    assert {e["on_duty"] for e in audit(db_path)} == {"张[31m三]0;pwned[2J"}

    before = audit(db_path)
    for name in ("长" * 41, " \x1b "):
        refused = run(db_path, "--as", name, "import", "rooms", file)
        assert refused.returncode == 2
        assert b"--as" in refused.stderr
        assert audit(db_path) == before
    assert "40" in run(db_path, "--as", "长" * 41, "stats").stderr.decode()


# ---------------------------------------------------------------------- terminals


def tampered(db: Path) -> None:
    """A database as an older version, or a group member with an editor, left it:
    an audit entry from before the real-account fields, holding escape sequences."""
    store = open_store(db, create=True, actor=Actor("tester"), clock=lambda: FIXED_NOW)
    store.save_point("DD01", "一号点", [{"code": "101", "floor": "1", "beds": 2, "blocked": False}])
    with store.transaction():
        store.table(AUDIT).insert(
            {
                "at": "2022-03-25 08:00",
                "who": f"mallory{ESCAPES}",
                "host": f"{ESCAPES}\u202e\x9b2J",
                "action": "create",
                "table": "points",
                "record": 1,
                "before": None,
                "after": {"name": f"一号点{ESCAPES}"},
                "reason": "x\x1b[2J\u202ey",
            }
        )
    store.close()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_audit_prints_no_control_characters(db_path: Path, fmt: str) -> None:
    tampered(db_path)

    result = run(db_path, "export", "audit", "--format", fmt)

    assert result.returncode == 0, result.stderr
    assert printed_controls(result.stdout) == []
    # The old entry stays readable: its login name shown as the account.
    assert "mallory]0;pwned[2J" in result.stdout.decode()


def test_export_audit_to_a_file_keeps_the_data(db_path: Path, tmp_path: Path) -> None:
    tampered(db_path)
    out = tmp_path / "audit.json"

    result = run(db_path, "export", "audit", "--format", "json", "--out", str(out))

    assert result.returncode == 0, result.stderr
    rows = orjson.loads(out.read_bytes())
    assert rows[-1]["os_user"] == f"mallory{ESCAPES}"
    assert rows[-1]["reason"] == "x\x1b[2J\u202ey"
    assert rows[-1]["ssh_client_claimed"] == ""  # never an address: nothing claimed


def test_stats_points_and_check_print_no_control_characters(db_path: Path) -> None:
    tampered(db_path)
    store = open_store(db_path, actor=Actor("tester"))
    with store.transaction():
        store.table("points").update({"name": f"一号点{ESCAPES}\u202e"}, doc_ids=[1])
    store.close()

    for args in (["points"], ["points", "--json"], ["stats"], ["stats", "--json"], ["check"]):
        result = run(db_path, *args)
        assert printed_controls(result.stdout + result.stderr) == [], args
    assert "一号点]0;pwned[2J" in run(db_path, "points").stdout.decode()


@pytest.mark.parametrize("good", [True, False])
def test_import_summary_prints_the_file_name_without_control_characters(
    db_path: Path, tmp_path: Path, good: bool
) -> None:
    file = tmp_path / f"rooms{ESCAPES}\u202e.csv"
    file.write_text(ROOMS if good else ROOMS + "DD01,一号点,103,1,many,\n", encoding="utf-8")

    result = run(db_path, "import", "rooms", str(file))

    assert result.returncode == (0 if good else 1), result.stderr
    assert printed_controls(result.stdout + result.stderr) == []
    assert b"rooms" in (result.stdout if good else result.stderr)


def test_paths_are_printed_without_control_characters(db_path: Path, tmp_path: Path) -> None:
    missing = run(tmp_path / f"gone{ESCAPES}.db", "export", "arrivals")
    assert missing.returncode == 1
    assert printed_controls(missing.stderr) == []

    tampered(db_path)
    out = tmp_path / f"out{ESCAPES}.csv"
    written = run(db_path, "export", "audit", "--out", str(out))
    assert written.returncode == 0 and out.exists()
    assert printed_controls(written.stderr) == [] and b"out]0;pwned[2J.csv" in written.stderr


# ---------------------------------------------------------------------- handover files


@pytest.fixture
def hostile_store(store: Store) -> Store:
    rooms = [{"code": f"10{n}", "floor": "1", "beds": 1, "blocked": False} for n in range(1, 5)]
    store.save_point("DD01", f"一号点 {SCRIPT}", rooms)
    for n, name in enumerate([LINK, PIXEL, SCRIPT, "*em* **strong** _x_ `code` # h | a"]):
        store.stays.register(
            {
                "point": "DD01",
                "name": name,
                "id_type": "passport",
                "id_number": f"E123456{n}",
                "category": "inbound",
                "arrived_at": "2026-11-29 08:00",
            }
        )
    return store


NOTES = f"> quoted\n# heading\n1. listed\n- item {LINK}\n    indented code\n{SCRIPT}"


def markdown_of(store: Store) -> str:
    summary = store.handovers.summary("DD01")
    return render(summary, NOTES, None, "md")


def test_markdown_handover_has_no_live_link_pixel_or_html(hostile_store: Store) -> None:
    text = markdown_of(hostile_store)

    tokens = MarkdownIt("commonmark").parse(text)
    kinds = {tok.type for tok in tokens} | {
        child.type for tok in tokens for child in tok.children or []
    }
    assert not kinds & {"link_open", "image", "html_inline", "html_block", "code_inline"}
    assert not kinds & {"blockquote_open", "heading_open", "ordered_list_open", "code_block"}
    assert "em_open" not in kinds  # the report's own headings are its only strong text
    # What a reader sees is the text as typed.
    shown = MarkdownIt("commonmark").render(text)
    for literal in ("[Click](http://evil.example/x)", "![](http://track.example/p.png)"):
        assert literal in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown and "<script" not in shown
    assert "*em* **strong** _x_ `code` # h | a" in shown
    assert "&gt; quoted" in shown and "# heading" in shown and "1. listed" in shown


def test_html_handover_escapes_html(hostile_store: Store) -> None:
    html = render(hostile_store.handovers.summary("DD01"), NOTES, None, "html")
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_handover_prints_no_control_characters(db_path: Path, hostile_store: Store) -> None:
    with hostile_store.transaction():
        hostile_store.table(STAYS).update(
            {"person": {**hostile_store.rows(STAYS)["1"]["person"], "name": f"甲{ESCAPES}"}},
            doc_ids=[1],
        )
    for fmt in ("md", "txt", "html"):
        # Recorded at the fixture's clock, printed at the real one: the window is chosen
        # (a first handover covers only the real shift in progress).
        since = ("--since", "2026-11-29 08:00")
        result = run(db_path, "handover", "--point", "DD01", "--format", fmt, *since)
        assert result.returncode == 0, result.stderr
        assert printed_controls(result.stdout) == [], fmt
        # Brackets with no link target are text in Markdown too: shown as stored.
        assert "甲]0;pwned[2J" in result.stdout.decode(), fmt


# ---------------------------------------------------------------------- the terminal program

ID_A = "11010519491231002X"


def header(app: Any) -> str:
    from textual.widgets import Static

    return str(app.screen.query_one("#mode-tabs", Static).content)


@pytest.fixture
def on_duty_store(db_path: Path) -> Any:
    """The store a session started with ``--as 张三`` over SSH opens."""
    from isolation_tui.storage.actor import current_actor, set_on_duty

    set_on_duty("张三")
    try:
        actor = current_actor({"SSH_CLIENT": "10.1.1.5 52814 22"})
    finally:
        set_on_duty(None)
    store = open_store(db_path, create=True, actor=actor, clock=lambda: FIXED_NOW)
    rooms = [{"code": f"10{n}", "floor": "1", "beds": 1, "blocked": False} for n in range(1, 5)]
    store.save_point("DD01", "一号点", rooms)
    yield store
    store.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_person_on_duty_shows_in_the_header_the_audit_and_the_signature(
    on_duty_store: Store, lang: str
) -> None:
    from textual.widgets import Input

    from isolation_tui.app import IsolationApp
    from isolation_tui.i18n import set_language, t

    set_language(lang)
    app = IsolationApp(on_duty_store, point="DD01")
    async with app.run_test(size=(80, 24)) as pilot:
        assert "张三" in header(app)
        await pilot.press("f2", "n")
        await pilot.pause()
        form = app.screen
        form.query_one("#field-name", Input).value = "王小明"
        form.query_one("#field-id_number", Input).value = ID_A
        await pilot.press("ctrl+s")
        await pilot.pause()
        stay = on_duty_store.rows(STAYS)["1"]
        assert stay["person"]["name"] == "王小明"
        created = next(
            e for e in on_duty_store.rows(AUDIT).values() if (e["table"], e["record"]) == (STAYS, 1)
        )
        me = pwd.getpwuid(os.getuid()).pw_name
        assert (created["os_user"], created["on_duty"]) == (me, "张三")
        assert stay["created"]["on_duty"] == "张三"
        assert "张三" in header(app)
        await pilot.press("escape")
        await pilot.press("enter")
        await pilot.pause()
        # The stay's history says who, as the person on duty and the account, and
        # where from only as the session said.
        detail = str(app.screen.query_one("#detail-text").content)
        assert f"张三 ({me})" in detail
        assert f"{t('field.ssh_client_claimed')}: 10.1.1.5" in detail
        await pilot.press("escape", "f5", "ctrl+s")
        await pilot.pause()
        assert app.screen.query_one("#field-outgoing", Input).value == "张三"
        assert "张三" in header(app)


async def test_without_a_name_the_account_signs_and_the_header_names_nobody(
    point_store_plain: Store,
) -> None:
    from textual.widgets import Input

    from isolation_tui.app import IsolationApp

    app = IsolationApp(point_store_plain, point="DD01")
    async with app.run_test(size=(80, 24)) as pilot:
        # Between the last tab and F6 only spaces: no name is claimed for anyone.
        assert header(app).split("F7 Staff")[1].split("F6")[0].strip() == ""
        await pilot.press("f5", "ctrl+s")
        await pilot.pause()
        assert app.screen.query_one("#field-outgoing", Input).value == "tester"


@pytest.fixture
def point_store_plain(store: Store) -> Store:
    store.save_point("DD01", "一号点", [{"code": "101", "floor": "1", "beds": 1, "blocked": False}])
    return store


@pytest.mark.parametrize("answer", ["name", "skip"])
async def test_asked_at_start_the_name_given_is_used(point_store_plain: Store, answer: str) -> None:
    from isolation_tui.app import IsolationApp

    app = IsolationApp(point_store_plain, point="DD01", ask_name=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        if answer == "name":
            await pilot.press(*"李四", "enter")
        else:
            await pilot.press("escape")
        await pilot.pause()
        expected = "李四" if answer == "name" else ""
        assert point_store_plain.actor.on_duty == expected
        assert ("李四" in header(app)) == (answer == "name")
        point_store_plain.save_point("DD02", "二号点", [])
        entry = list(point_store_plain.rows(AUDIT).values())[-1]
        assert entry["on_duty"] == expected


async def test_the_terminal_program_shows_stored_escape_sequences_as_nothing(
    point_store_plain: Store,
) -> None:
    """A name with escape sequences (an older version, an edited file) is shown
    without them: they would retitle or clear the supervisor's terminal."""
    from isolation_tui.app import IsolationApp

    point_store_plain.stays.register(
        {
            "point": "DD01",
            "name": "王五",
            "id_type": "passport",
            "id_number": "E7654321",
            "category": "inbound",
            "arrived_at": "2026-11-29 08:00",
        }
    )
    with point_store_plain.transaction():
        person = {**point_store_plain.rows(STAYS)["1"]["person"], "name": f"王{ESCAPES}\u202e五"}
        point_store_plain.table(STAYS).update({"person": person}, doc_ids=[1])
    app = IsolationApp(point_store_plain, point="DD01")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        # The frame as written to the terminal: Textual's own sequences (colours,
        # cursor moves) are CSI …m / …H; nothing else may act on the terminal.
        frame = app.screen._compositor.render_full_update().render_segments(app.console)
        text = re.sub(r"\x1b\[[0-9;?]*[mHlhK]", "", frame)
        assert "王]0;pwned[2J五" in text
        assert [repr(ch) for ch in FORBIDDEN if ch in text.replace("\n", "")] == []


def test_the_program_started_with_as_names_the_person_in_its_header(
    db_path: Path, tmp_path: Path
) -> None:
    """``isolation-tui --as 张三`` in a real terminal (a pseudo-terminal at 80×24)."""
    import select
    import time

    assert run(db_path, "import", "rooms", str(rooms_file(tmp_path))).returncode == 0
    process, main = start_in_terminal(db_path, "--as", "张三")
    seen = b""
    try:
        deadline = time.monotonic() + 60
        while " 张三 ".encode() not in seen and time.monotonic() < deadline:
            if select.select([main], [], [], 1)[0]:
                seen += os.read(main, 65536)
        assert " 张三 ".encode() in seen
        os.write(main, b"\x11")  # ctrl+q
        while process.poll() is None and time.monotonic() < deadline:
            if select.select([main], [], [], 0.2)[0]:
                try:
                    os.read(main, 65536)
                except OSError:
                    break
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(main)
