"""The handover says each thing once and shows what is handed over: an incident
reopened and closed again is one entry with its history; the incoming supervisor
reads the notes before acknowledging them. Pilot at 80×24 and the reports."""

from __future__ import annotations

import re

import test_handover
from textual.widgets import Static

from isolation_tui.app import IsolationApp
from isolation_tui.headless.handover_report import render
from isolation_tui.storage.repository import Store

SIZE = (80, 24)
point = test_handover.point
shown = test_handover.shown


def reopened_and_closed_again(store: Store) -> int:
    """An incident of the last shift, closed, reopened and closed again in this one."""
    incident = store.open_incident(
        {
            "point": "DD01",
            "occurred_at": "07:00",
            "kind": "fever",
            "severity": "3",
            "summary": "38.5",
        }
    )
    store.sign_handover(store.handover_summary("DD01"), "", "张三")
    store.close_incident(incident, "退烧", "09:00")
    store.reopen_incident(incident, "又烧起来了")
    store.close_incident(incident, "送医复查阴性", "09:20")
    return incident


def test_a_reopened_and_closed_again_incident_is_one_entry_with_its_history(
    point: Store,
) -> None:
    incident = reopened_and_closed_again(point)
    summary = point.handover_summary("DD01")
    (handled,) = summary["incidents_handled"]
    assert handled["id"] == incident
    assert [step["action"] for step in handled["history"]] == ["close", "reopen", "close"]
    for fmt in ("md", "txt", "html"):
        report = render(summary, "", None, fmt)
        text = re.sub(r"<[^>]+>", "", report) if fmt == "html" else report
        assert len(re.findall(rf"#{incident}\b", text)) == 1, (fmt, text)
        assert "reopened" in text and "又烧起来了" in text and "送医复查阴性" in text


async def test_the_handover_screen_lists_a_reopened_incident_once(point: Store) -> None:
    incident = reopened_and_closed_again(point)
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        report = shown(app)
        assert len(re.findall(rf"#{incident}\b", report)) == 1, report
        assert "reopened" in report and "又烧起来了" in report
        assert app.screen.query_one("#handover-report", Static).display
