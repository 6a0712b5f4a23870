"""``isolation-tui --demo --as NAME``: the demo's history is the demo's, written by
the account as it would have been; only what NAME does in this session names NAME."""

from __future__ import annotations

from pathlib import Path

from conftest import CliRunner

from isolation_tui.app import IsolationApp
from isolation_tui.storage.actor import Actor, os_account
from isolation_tui.storage.repository import open_store
from isolation_tui.storage.tables import AUDIT, INCIDENTS

SIZE = (80, 24)


async def test_the_demo_started_as_someone_credits_them_only_with_their_changes(
    cli: CliRunner, db_path: Path
) -> None:
    # What ``--demo --as 值班员`` runs first: the demo written under that name.
    written = cli("--as", "值班员", "demo", "--db", str(db_path))
    assert written.returncode == 0, written.stderr
    store = open_store(db_path, actor=Actor(os_account(), on_duty="值班员"))
    try:
        audit = store.rows(AUDIT).values()
        assert audit and {entry["on_duty"] for entry in audit} == {""}
        assert {entry["os_user"] for entry in audit} == {os_account()}
        incidents = store.rows(INCIDENTS)
        acted = min(int(key) for key, doc in incidents.items() if doc["actions"])
        assert all(not a.get("on_duty") for doc in incidents.values() for a in doc["actions"])
        before = len(store.rows(AUDIT))
        app = IsolationApp(store)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f4")
            await pilot.pause()
            app.screen.query_one("#incidents-table").go_to(str(acted))  # type: ignore[attr-defined]
            await pilot.pause()
            detail = str(app.screen.query_one("#incident-text").render())
            assert "值班员" not in detail and os_account() in detail
            await pilot.press("a")
            await pilot.pause()
            await pilot.press(*"复测体温", "ctrl+s")
            await pilot.pause()
            detail = str(app.screen.query_one("#incident-text").render())
            assert "值班员" in detail and "复测体温" in detail
        (mine,) = list(store.rows(AUDIT).values())[before:]
        assert mine["on_duty"] == "值班员" and mine["table"] == INCIDENTS
    finally:
        store.close()
