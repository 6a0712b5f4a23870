"""The program on PostgreSQL: the same figures and promises as on the file store.

Every test runs against a real server the session starts (``pg_server``), in a
fresh database reached as an ordinary role. The flows shared with the file store
are parametrised where they live (test_repository, test_tui_flows,
test_import_processes); here is what only PostgreSQL has: the connection, the
roles, and following other sessions by LISTEN/NOTIFY.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from conftest import FIXED_NOW, CliRunner, copy_demo
from pg_server import Server, TcpLink
from textual.widgets import Input, Static

from isolation_tui.app import IsolationApp
from isolation_tui.domain.counters import ALL
from isolation_tui.storage import postgres
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.backend import DatabaseUrl
from isolation_tui.storage.engine import Changes
from isolation_tui.storage.errors import (
    SchemaTooNew,
    StoreMissing,
    StoreReadOnly,
    StoreUnavailable,
    StoreWriteFailed,
)
from isolation_tui.storage.repository import Store, open_store
from isolation_tui.storage.tables import STAYS

ROOMS = [{"code": f"{100 + i}", "floor": "1", "beds": 2, "blocked": False} for i in range(1, 6)]


def arrival(number: str, name: str = "王小明") -> dict[str, str]:
    return {
        "point": "DD01",
        "name": name,
        "id_type": "passport",
        "id_number": number,
        "category": "inbound",
        "arrived_at": "2026-11-28 14:05",
    }


def session(url: str, **kwargs: object) -> Store:
    return open_store(url, actor=Actor("tester"), clock=lambda: FIXED_NOW, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def pg_point(pg_url: str) -> Store:
    store = session(pg_url, create=True)
    store.save_point("DD01", "一号点", ROOMS)  # type: ignore[arg-type]
    return store


def database_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def terminate_sessions(server: Server, url: str) -> None:
    """What a server restart or a dropped network does to every open connection."""
    database = database_of(url)
    server.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
    )


@pytest.mark.slow
def test_demo_on_postgresql_gives_the_demo_figures_and_passes_check(
    pg_url: str, cli: CliRunner
) -> None:
    made = cli("demo", "--db", pg_url)
    assert made.returncode == 0, made.stderr
    stats = cli("stats", "--json", "--db", pg_url)
    assert stats.returncode == 0, stats.stderr
    figures = json.loads(stats.stdout)
    assert (figures["received"], figures["released_home"], figures["incidents_handled"]) == (
        1371,
        1186,
        11,
    )
    check = cli("check", "--db", pg_url)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "every rule holds" in check.stdout
    again = cli("demo", "--db", pg_url)
    assert again.returncode == 1
    assert "already exists" in again.stderr


def heard(store: Store) -> Changes:
    """Refresh as the terminal program does, until the notification has arrived."""
    for _ in range(200):
        changes = store.refresh()
        if changes:
            return changes
        time.sleep(0.01)
    return changes


def test_a_second_session_follows_a_write_by_notify(pg_point: Store, pg_url: str) -> None:
    other = session(pg_url)
    assert not other.refresh()  # nothing happened: nothing to read
    stay_id = pg_point.stays.register(arrival("E1"))
    changes = heard(other)
    assert (STAYS, str(stay_id)) in changes.keys
    assert other.rows(STAYS)[str(stay_id)]["person"]["id_number"] == "E1"
    assert other.counters()[ALL].received == 1
    assert other.db.storage.seq == pg_point.db.storage.seq
    assert not other.refresh()
    # Rules see the other session's write: the same person cannot arrive twice.
    with pytest.raises(Exception, match="already in isolation"):
        other.stays.register(arrival("E1"))
    other.close()


def test_ids_are_chosen_after_reading_the_latest_state(pg_point: Store, pg_url: str) -> None:
    other = session(pg_url)
    first = pg_point.stays.register(arrival("E1"))
    # ``other`` has not refreshed: its write still reads ``first`` in, under the lock.
    second = other.stays.register(arrival("E2"))
    assert second == first + 1
    assert set(other.rows(STAYS)) == {str(first), str(second)}
    other.close()


def test_the_schema_is_made_on_first_use_and_a_missing_one_is_said(
    pg_url: str, cli: CliRunner
) -> None:
    with pytest.raises(StoreMissing):
        session(pg_url)
    shown = cli("stats", "--db", pg_url)
    assert shown.returncode == 1
    assert "no database here" in shown.stderr
    session(pg_url, create=True).close()
    assert session(pg_url).rows(STAYS) == {}


def test_an_unreachable_server_is_a_message_in_each_language(
    tmp_path: Path, cli: CliRunner
) -> None:
    url = f"postgresql://nobody:secret-word@/isolation?host={tmp_path}"
    for lang, words in (("en", "cannot reach the PostgreSQL server"), ("zh", "无法连接")):
        shown = cli("stats", "--db", url, "--lang", lang)
        assert shown.returncode == 1
        assert words in shown.stderr
        assert "Traceback" not in shown.stderr
        # The password is never printed.
        assert "secret-word" not in shown.stderr
        assert "nobody:***@" in shown.stderr


def test_a_lost_connection_saves_nothing_and_the_next_try_works(
    pg_server: Server, pg_point: Store, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "RETRY_SECONDS", 0.0)
    terminate_sessions(pg_server, pg_url)
    with pytest.raises(StoreUnavailable, match="cannot reach the PostgreSQL server"):
        pg_point.stays.register(arrival("E1"))
    assert pg_point.rows(STAYS) == {}
    assert session(pg_url).rows(STAYS) == {}
    # The store reconnects by itself, reads what it missed, and writes again.
    stay_id = pg_point.stays.register(arrival("E1"))
    assert session(pg_url).rows(STAYS)[str(stay_id)]["person"]["id_number"] == "E1"


async def test_the_terminal_program_rides_out_a_lost_server(
    pg_server: Server, pg_point: Store, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "RETRY_SECONDS", 60.0)
    app = IsolationApp(pg_point, point="DD01")
    async with app.run_test(size=(80, 24)) as pilot:
        terminate_sessions(pg_server, pg_url)
        for _ in range(40):
            await pilot.pause(0.05)
            if app._notifications:
                break
        shown = [said.message for said in app.said]  # whole, as F9 shows them
        assert any("cannot reach the PostgreSQL server" in m for m in shown), shown
        assert not pg_point.read_only
        # Back: the next poll reconnects, reads what others wrote meanwhile, says so.
        session(pg_url).stays.register(arrival("E7"))
        monkeypatch.setattr(postgres, "RETRY_SECONDS", 0.0)
        for _ in range(40):
            await pilot.pause(0.05)
            if len(pg_point.rows(STAYS)) == 1:
                break
        await pilot.pause(0.1)
        assert len(pg_point.rows(STAYS)) == 1
        shown = [n.message for n in app._notifications]
        assert any("Connected to the database again" in m for m in shown), shown


def form_status(app: IsolationApp) -> str:
    return str(app.screen.query_one("#form-status", Static).content)


def bar_link(app: IsolationApp) -> str:
    """What the counter bar says about the link ("" when it is up)."""
    line = app.screen.query_one("#link-down", Static)
    return str(line.content) if line.display else ""


async def test_a_lost_tcp_link_never_freezes_the_screen_and_a_save_meanwhile_says_so(
    pg_server: Server, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over TCP a link can hang instead of refusing: reconnecting waits for the
    connect timeout. It waits off the screen's thread: the bar says the link is down,
    F-keys work and a save is refused whole, all while a connect is still waiting."""
    monkeypatch.setattr(postgres, "RETRY_SECONDS", 0.2)
    monkeypatch.setattr(postgres, "CONNECT_TIMEOUT", 60)
    direct = session(pg_url, create=True)
    direct.save_point("DD01", "一号点", ROOMS)  # type: ignore[arg-type]
    link = TcpLink(pg_server)
    store = session(link.url(pg_url))
    app = IsolationApp(store, point="DD01")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("f2", "n", *"王小明", "enter")
            app.screen.query_one("#field-id_type").value = "passport"  # type: ignore[attr-defined]
            app.screen.query_one("#field-id_number", Input).value = "E1"
            link.cut()
            waiting: set[object] = set()
            for _ in range(200):
                await pilot.pause(0.05)
                waiting = link.hanging()
                if waiting and bar_link(app):
                    break
            assert "Link to the database is down" in bar_link(app)
            assert waiting  # a reconnect waits on the link now, off the screen's thread

            await pilot.press("ctrl+s")
            await pilot.pause()
            assert "Not saved, not even in part" in form_status(app)
            assert app.screen.query_one("#field-name", Input).value == "王小明"
            await pilot.press("f4")
            await pilot.pause()
            assert app.current_mode == "incidents"
            assert "Link to the database is down" in bar_link(app)
            assert waiting <= link.hanging()  # all this while that connect still waited
            assert session(pg_url).rows(STAYS) == {}

            # Back: what others saved meanwhile shows, the bar clears, the save goes in.
            direct.stays.register(arrival("E7", "李四"))
            link.restore()
            for _ in range(200):
                await pilot.pause(0.05)
                if not bar_link(app) and len(store.rows(STAYS)) == 1:
                    break
            assert not bar_link(app)
            assert [s["person"]["id_number"] for s in store.rows(STAYS).values()] == ["E7"]
            await pilot.press("f2")
            await pilot.pause()
            await pilot.press("ctrl+s")
            await pilot.pause()
        numbers = {s["person"]["id_number"] for s in session(pg_url).rows(STAYS).values()}
        assert numbers == {"E1", "E7"}
    finally:
        store.close()
        link.close()


@pytest.mark.slow
def test_demo_force_replaces_the_data_under_an_open_session(pg_url: str, cli: CliRunner) -> None:
    store = session(pg_url, create=True)
    store.save_point("XX01", "old", ROOMS)  # type: ignore[arg-type]
    made = cli("demo", "--db", pg_url, "--force", timeout=300)
    assert made.returncode == 0, made.stderr
    changes = heard(store)
    assert changes.reloaded
    assert store.point("XX01") is None
    assert store.counters()[ALL].received == 1371


def test_a_follower_behind_the_kept_journal_reads_everything_again(
    pg_point: Store, pg_url: str
) -> None:
    other = session(pg_url)
    pg_point.stays.register(arrival("E1"))
    pg_point.db.storage.compact()
    changes = heard(other)
    assert changes.reloaded
    assert len(other.rows(STAYS)) == 1
    other.close()


def test_a_newer_schema_is_refused(pg_point: Store, pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(SchemaTooNew, match="install a newer isolation-tui"):
        session(pg_url)


def test_the_readme_grants_are_enough_for_a_supervisor_and_a_command_centre(
    pg_server: Server, pg_point: Store, pg_url: str, cli: CliRunner, tmp_path: Path
) -> None:
    database = database_of(pg_url)
    for statement in readme_grants():
        pg_server.sql(statement.replace("DATABASE isolation", f'DATABASE "{database}"'), database)
    pg_server.sql('CREATE ROLE "supervisor_a" LOGIN IN ROLE isolation_supervisors')
    pg_server.sql('CREATE ROLE "command_centre" LOGIN IN ROLE isolation_readers')
    supervisor = pg_server.url(database, "supervisor_a")
    centre = pg_server.url(database, "command_centre")

    worker = session(supervisor)
    stay_id = worker.stays.register(arrival("E1"))
    worker.close()

    reader = session(centre, read_only=True)
    assert str(stay_id) in reader.rows(STAYS)
    with pytest.raises(StoreReadOnly):
        reader.stays.register(arrival("E2"))
    reader.close()
    stats = cli("stats", "--json", "--db", centre)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["received"] == 1
    saved = cli("backup", "--db", centre, "--out", str(tmp_path / "centre.db"))
    assert saved.returncode == 0, saved.stderr
    # Without --read-only the command centre's role is refused by PostgreSQL itself.
    refused = session(centre)
    with pytest.raises(StoreWriteFailed, match="PostgreSQL refused the change"):
        refused.stays.register(arrival("E2"))
    assert refused.rows(STAYS).keys() == {str(stay_id)}
    assert session(centre).rows(STAYS).keys() == {str(stay_id)}


def readme_grants() -> list[str]:
    """The SQL between the grant markers in the README, one statement each."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- grants -->", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    code = "\n".join(line for line in block.splitlines() if not line.startswith("--"))
    return [statement.strip() for statement in code.split(";") if statement.strip()]


def test_a_connection_string_never_shows_its_password() -> None:
    url = DatabaseUrl("postgresql://ops:pa55@db.example:5432/iso?password=x&sslmode=require")
    assert "pa55" not in str(url)
    assert "password=x" not in str(url)
    assert str(url) == "postgresql://ops:***@db.example:5432/iso?password=%2A%2A%2A&sslmode=require"


def test_the_file_store_starts_without_the_postgresql_driver(tmp_path: Path) -> None:
    """The file store must start as fast as before: psycopg is imported only for
    a PostgreSQL database."""
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\nfrom isolation_tui.storage.repository import open_store\n"
            "open_store(sys.argv[1], create=True)\nprint('psycopg' in sys.modules)",
            str(tmp_path / "isolation.db"),
        ],
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip() == "False", probe.stderr


@pytest.mark.slow
def test_copy_file_to_postgresql_and_back_keeps_stats_and_check(
    pg_url: str, db_path: Path, tmp_path: Path, cli: CliRunner, demo_template: Path
) -> None:
    copy_demo(demo_template, db_path)
    back = tmp_path / "back.db"
    there = cli("copy", "--to", pg_url)
    assert there.returncode == 0, there.stderr
    assert "Copied" in there.stdout
    again = cli("copy", "--db", pg_url, "--to", str(back))
    assert again.returncode == 0, again.stderr
    figures = [cli("stats", "--json", "--db", where).stdout for where in (str(db_path), pg_url)]
    figures.append(cli("stats", "--json", "--db", str(back)).stdout)
    assert figures[0] == figures[1] == figures[2]
    assert json.loads(figures[0])["received"] == 1371
    for where in (str(db_path), pg_url, str(back)):
        check = cli("check", "--db", where)
        assert check.returncode == 0, check.stdout + check.stderr
    exports = {
        cli("export", "audit", "--format", "json", "--db", w).stdout for w in (pg_url, str(back))
    }
    assert len(exports) == 1

    # A destination with data is refused, and keeps what it had.
    refused = cli("copy", "--db", str(back), "--to", pg_url)
    assert refused.returncode == 1
    assert "not empty; nothing was copied" in refused.stderr
    assert cli("stats", "--json", "--db", pg_url).stdout == figures[0]


@pytest.mark.slow
def test_a_postgresql_backup_is_one_private_file_and_copy_restores_it(
    pg_server: Server,
    pg_url: str,
    db_path: Path,
    tmp_path: Path,
    cli: CliRunner,
    demo_template: Path,
) -> None:
    copy_demo(demo_template, db_path)
    assert cli("copy", "--to", pg_url).returncode == 0
    out = tmp_path / "backups" / "province.db"
    out.parent.mkdir()
    made = cli("backup", "--db", pg_url, "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert str(out) in made.stdout
    assert [p.name for p in out.parent.iterdir()] == [out.name]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    again = cli("backup", "--db", pg_url, "--out", str(out))
    assert again.returncode == 1
    assert "already exists" in again.stderr

    restored = pg_server.new_database()
    back = cli("copy", "--db", str(out), "--to", restored)
    assert back.returncode == 0, back.stderr
    figures = {cli("stats", "--json", "--db", w).stdout for w in (pg_url, str(out), restored)}
    assert len(figures) == 1
    assert json.loads(figures.pop())["received"] == 1371
    for where in (str(out), restored):
        check = cli("check", "--db", where)
        assert check.returncode == 0, check.stdout + check.stderr
    audits = {
        cli("export", "audit", "--format", "json", "--db", w).stdout for w in (pg_url, restored)
    }
    assert len(audits) == 1


def test_tinydb_table_changes_read_back_the_same_after_reopening(pg_url: str) -> None:
    """Truncate, drop, an empty table kept by name, a changed and a re-made document:
    a fresh session reads what this one holds."""
    from isolation_tui.storage.database import Database

    db = Database(pg_url, create=True)
    notes = db.table("notes")
    notes.insert_multiple([{"n": 1}, {"n": 2}, {"n": 3}])
    notes.update({"n": 20}, doc_ids=[2])
    with db.transaction():
        notes.truncate()
        notes.insert({"n": "again"})  # ids start at 1 again, over a removed document
    db.table("empty", persist_empty=True)
    db.table("gone").insert({"x": 1})
    db.drop_table("gone")
    fresh = Database(pg_url)
    assert sorted(fresh.tables()) == ["empty", "notes"]
    assert [(d.doc_id, dict(d)) for d in fresh.table("notes").all()] == [(1, {"n": "again"})]
    assert fresh.table("notes").insert({"n": "next"}) == 2
    db.close()
    fresh.close()


def test_a_dry_run_import_stores_nothing_and_the_real_one_everything(
    pg_point: Store, pg_url: str, tmp_path: Path, cli: CliRunner
) -> None:
    file = tmp_path / "bus.csv"
    file.write_text(
        "point,name,id_type,id_number,category,arrived_at\n"
        "DD01,甲,passport,E1,inbound,2026-11-28 14:05\n"
        "DD01,乙,passport,E2,inbound,2026-11-28 14:05\n",
        encoding="utf-8",
    )
    seq = pg_point.db.storage.seq
    tried = cli("import", "arrivals", str(file), "--dry-run", "--db", pg_url)
    assert tried.returncode == 0, tried.stderr
    after = session(pg_url)
    assert after.rows(STAYS) == {}
    assert after.db.storage.seq == seq
    done = cli("import", "arrivals", str(file), "--db", pg_url)
    assert done.returncode == 0, done.stderr
    assert len(session(pg_url).rows(STAYS)) == 2


def test_a_kept_rehearsal_is_stored_when_nobody_wrote_and_done_again_otherwise(
    pg_url: str,
) -> None:
    """PostgreSQL stores a kept rehearsal in one transaction with the ids it showed
    when nobody committed meanwhile; when someone did, nothing of it is stored (the
    import does it again) and this session holds what the other stored."""
    from isolation_tui.storage.database import Database

    db = Database(pg_url, create=True)
    other = Database(pg_url)
    try:
        people = db.table("people")
        people.insert({"name": "Li"})
        with db.storage.rehearsal() as rehearsed:
            assert people.insert({"name": "Ana"}) == 2
            rehearsed.keep = True
        assert [d["name"] for d in people.all()] == ["Li", "Ana"]  # kept, not yet stored
        assert db.storage.commit_rehearsed(rehearsed, lambda *_: None) == {"people": 0}
        stored = Database(pg_url)
        assert {d.doc_id: d["name"] for d in stored.table("people").all()} == {1: "Li", 2: "Ana"}
        stored.close()

        with db.storage.rehearsal() as rehearsed:
            people.insert({"name": "Omar"})
            rehearsed.keep = True
        other.refresh()
        assert other.table("people").insert({"name": "Wang"}) == 3
        assert db.storage.commit_rehearsed(rehearsed, lambda *_: None) is None
        assert [d["name"] for d in people.all()] == ["Li", "Ana", "Wang"]
        fresh = Database(pg_url)
        assert [d["name"] for d in fresh.table("people").all()] == ["Li", "Ana", "Wang"]
        fresh.close()
    finally:
        other.close()
        db.close()
