"""The handover says each thing once and shows what is handed over: an incident
reopened and closed again is one entry with its history; the incoming supervisor
reads the notes before acknowledging them. Pilot at 80×24 and the reports."""

from __future__ import annotations

import re

import pytest
import test_handover
from textual.widgets import Static

from isolation_tui.app import IsolationApp
from isolation_tui.headless.handover_report import render
from isolation_tui.storage.repository import Store

# Every flow on each store (a file, PostgreSQL): they must not differ.
pytestmark = pytest.mark.both_stores

SIZE = (80, 24)
point = test_handover.point
shown = test_handover.shown


def reopened_and_closed_again(store: Store) -> int:
    """An incident of the last shift, closed, reopened and closed again in this one."""
    incident = store.incidents.open(
        {
            "point": "DD01",
            "occurred_at": "07:00",
            "kind": "fever",
            "severity": "3",
            "summary": "38.5",
        }
    )
    store.handovers.sign(store.handovers.summary("DD01"), "", "张三")
    store.incidents.close(incident, "退烧", "09:00")
    store.incidents.reopen(incident, "又烧起来了")
    store.incidents.close(incident, "送医复查阴性", "09:20")
    return incident


def test_a_reopened_and_closed_again_incident_is_one_entry_with_its_history(
    point: Store,
) -> None:
    incident = reopened_and_closed_again(point)
    summary = point.handovers.summary("DD01")
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


NOTES = "\n".join(
    ["[red]305[/] 李四 needs **insulin** at 22:00 <b>", "a[/]b \x1b[2J 转院手续明早办"]
    + [f"第{n}行 备注" for n in range(3, 31)]
)


def rendered(app: IsolationApp, selector: str) -> str:
    console = test_handover.Console(file=test_handover.io.StringIO(), width=78, color_system=None)
    console.print(app.screen.query_one(selector, Static).content)
    return console.file.getvalue()  # type: ignore[attr-defined]


async def test_acknowledging_shows_the_notes_handed_over_literally(point: Store) -> None:
    handover = point.handovers.sign(point.handovers.summary("DD01"), NOTES, "张三")
    point.handovers.add_addendum(handover, "补充:[bold]302[/] 已退烧")
    app = IsolationApp(point, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f5", "a")
        await pilot.pause()
        handed = rendered(app, "#prompt-context-text")
        assert "[red]305[/] 李四 needs **insulin** at 22:00 <b>" in handed
        assert "a[/]b" in handed and "转院手续明早办" in handed and "\x1b" not in handed
        assert "第30行 备注" in handed and "补充:[bold]302[/] 已退烧" in handed
        # At 80×24 the field to sign stays in sight; the notes scroll above it.
        field = app.screen.query_one("#field-incoming")
        assert field.region.height == 1 and field.region.bottom <= SIZE[1] - 1
        context = app.screen.query_one("#prompt-context")
        assert context.region.height >= 5
        assert context.max_scroll_y > 0
        await pilot.press("tab", "end")
        await pilot.pause()
        assert context.scroll_y == context.max_scroll_y
        await pilot.press("shift+tab", "ctrl+s")
        await pilot.pause()
    assert point.handovers.past("DD01")[0][1]["incoming"] == "tester"
