"""A damaged database is refused with a way out, and ``recover`` keeps what is whole."""

from __future__ import annotations

from pathlib import Path

from conftest import CliRunner

from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import open_store
from isolation_tui.storage.tables import STAYS


def _fill(db_path: Path, people: int) -> None:
    store = open_store(db_path, create=True, actor=Actor("tester"))
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


def _damage_middle_entry(db_path: Path, entry: int) -> None:
    journal = db_path.with_name(db_path.name + "-journal")
    lines = journal.read_bytes().split(b"\n")
    lines[entry] = lines[entry].replace(b"E0", b"X0", 1)
    journal.write_bytes(b"\n".join(lines))


def test_damaged_database_is_refused_unchanged_then_recovered(
    cli: CliRunner, db_path: Path, tmp_path: Path
) -> None:
    _fill(db_path, 5)
    _damage_middle_entry(db_path, 4)  # header, point, then stays 1, 2, 3...
    files = {p: p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith(db_path.name)}

    stats = cli("stats", "--json")
    assert stats.returncode == 1
    assert "fails its checksum" in stats.stderr and "recover" in stats.stderr
    check = cli("check")
    assert check.returncode == 1 and "journal" in check.stderr
    assert {p: p.read_bytes() for p in files} == files

    out = tmp_path / "recovered.db"
    recovered = cli("recover", "--out", str(out))
    assert recovered.returncode == 0, recovered.stderr
    assert "3 damaged or later entries left out" in recovered.stdout
    assert cli("check", "--db", str(out)).returncode == 0
    store = open_store(out, read_only=True)
    assert sorted(s["person"]["id_number"] for s in store.rows(STAYS).values()) == [
        "E000000",
        "E000001",
    ]
    assert {p: p.read_bytes() for p in files} == files


def test_recover_refuses_to_overwrite(cli: CliRunner, db_path: Path, tmp_path: Path) -> None:
    _fill(db_path, 1)
    out = tmp_path / "taken.db"
    out.write_text("keep me")
    result = cli("recover", "--out", str(out))
    assert result.returncode == 1
    assert out.read_text() == "keep me"


def test_check_and_recover_name_the_same_byte(
    cli: CliRunner, db_path: Path, tmp_path: Path
) -> None:
    _fill(db_path, 3)
    _damage_middle_entry(db_path, 2)
    check = cli("check")
    recovered = cli("recover", "--out", str(tmp_path / "r.db"))
    offset = check.stderr.split("at byte ")[1].split()[0]
    assert f"at byte {offset} " in recovered.stdout


def test_recover_without_a_database_says_so(cli: CliRunner, tmp_path: Path) -> None:
    result = cli("recover", "--db", str(tmp_path / "none.db"), "--out", str(tmp_path / "r.db"))
    assert result.returncode == 1 and "no database here" in result.stderr
    assert not (tmp_path / "r.db").exists()


def test_check_prints_a_path_with_brackets_as_it_is(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "a[/]b.db"
    _fill(path, 1)
    result = cli("check", "--db", str(path))
    assert result.returncode == 0, result.stderr
    assert "a[/]b.db" in result.stdout


def test_recover_keeps_the_snapshot_of_a_database_whose_journal_is_gone(
    cli: CliRunner, db_path: Path, tmp_path: Path
) -> None:
    """The way out the refusal names: the older state, taken knowingly."""
    _fill(db_path, 2)
    store = open_store(db_path)
    store.db.storage.compact()
    store.close()
    journal = db_path.with_name(db_path.name + "-journal")
    journal.unlink()
    refused = cli("check")
    assert refused.returncode == 1
    assert f"{journal} is missing" in refused.stderr
    assert "isolation-tui recover" in refused.stderr
    out = tmp_path / "older.db"
    assert cli("recover", "--out", str(out)).returncode == 0
    assert cli("check", "--db", str(out)).returncode == 0
    kept = open_store(out, read_only=True)
    try:
        assert len(kept.rows(STAYS)) == 2
    finally:
        kept.close()


def test_recover_keeps_every_whole_entry_of_a_cut_journal(
    cli: CliRunner, db_path: Path, tmp_path: Path
) -> None:
    _fill(db_path, 4)
    journal = db_path.with_name(db_path.name + "-journal")
    raw = journal.read_bytes()
    journal.write_bytes(raw[: raw.rindex(b"\n", 0, len(raw) - 1) + 20])  # into the last one
    refused = cli("check")
    assert refused.returncode == 1
    assert "was cut" in refused.stderr
    out = tmp_path / "kept.db"
    recovered = cli("recover", "--out", str(out))
    assert recovered.returncode == 0, recovered.stderr
    assert "1 damaged or later entries left out" in recovered.stdout
    kept = open_store(out, read_only=True)
    try:
        assert len(kept.rows(STAYS)) == 3
    finally:
        kept.close()
