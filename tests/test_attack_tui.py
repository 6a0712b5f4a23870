"""A colleague types (or edits into the files) text meant to act on whoever reads
it in the terminal program: Rich markup that would restyle or link, Textual action
links (``[@click=app.quit]`` runs an app action when clicked), escape sequences,
C1 controls and bidi overrides. Every screen at 80×24 shows such text as typed,
lets nothing reach the terminal, and runs nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest

from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store
from isolation_tui.storage.tables import HANDOVERS, INCIDENTS, STAYS

# Every flow on each store (a file, PostgreSQL): they must not differ.
pytestmark = pytest.mark.both_stores

CLICK = "[@click=app.quit]Q[/]"
BOLD = "[b]甲[/b]"
ESCAPES = "\x1b]8;;http://evil/\x1b\\\x1b]52;c;cHduZWQ=\x07\x9b2J\x1bP1|x\x1b\\\u202e\u2066"
FORBIDDEN = [chr(c) for c in range(0x20) if chr(c) != "\n"] + [
    "\x7f",
    *(chr(c) for c in range(0x80, 0xA0)),
    "\u202e",
    "\u2066",
]


@pytest.fixture
def hostile(store: Store) -> Store:
    store.actor = Actor("mallory", on_duty=f"{CLICK}{ESCAPES}"[:40])
    rooms = [{"code": f"[b]{n}", "floor": "[/]", "beds": 1, "blocked": False} for n in range(1, 4)]
    store.save_point("DD01", f"{CLICK}点", rooms)
    for n, name in enumerate([BOLD, CLICK, "[link=http://evil]乙[/link]"]):
        store.stays.register(
            {
                "point": "DD01",
                "name": name,
                "id_type": "passport",
                "id_number": f"E123456{n}",
                "category": "inbound",
                "arrived_at": "2026-11-20 08:00",
                "origin": CLICK,
                "transport": CLICK,
                "notes": f"{CLICK} [red]notes",
            }
        )
    incident = store.incidents.open(
        {
            "point": "DD01",
            "occurred_at": "2026-11-29 08:00",
            "kind": "medical",
            "severity": "2",
            "summary": f"{CLICK} summary [/]",
            "reported_to": CLICK,
        },
        stays=[1],
    )
    store.incidents.add_action(incident, f"{CLICK} action")
    store.handovers.sign(store.handovers.summary("DD01"), f"{CLICK}\n[/] notes", CLICK)
    # What an older version or an edited file may hold: escapes inside the text.
    with store.transaction():
        for stay_id, stay in store.rows(STAYS).items():
            person = {**stay["person"], "name": stay["person"]["name"] + ESCAPES}
            store.table(STAYS).update(
                {"person": person, "notes": stay["notes"] + ESCAPES}, doc_ids=[int(stay_id)]
            )
        store.table(INCIDENTS).update({"summary": f"{CLICK}{ESCAPES}"}, doc_ids=[incident])
        store.table(HANDOVERS).update({"notes": f"{CLICK}{ESCAPES}"}, doc_ids=[1])
    return store


def frame(app: Any) -> str:
    """The screen as written to the terminal, less Textual's own CSI sequences."""
    written = app.screen._compositor.render_full_update().render_segments(app.console)
    return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", written)


STEPS = [
    ("f1",),
    ("f2",),
    ("enter",),  # the stay in full
    ("c",),  # its correction form, filled from the stored values
    ("escape", "escape", "f2", "x"),  # extend: the title names the person
    ("escape", "k"),  # the round
    ("escape", "t"),  # tests due
    ("escape", "f3"),
    ("d",),  # the discharge form names the person
    ("escape", "f4"),
    ("h",),  # close as handled: the title names the incident
    ("escape", "f5"),
    ("h",),  # past handovers
    ("enter",),  # one as signed
    ("ctrl+p",),  # the palette over it
]


async def test_no_stored_text_acts_on_the_terminal_or_the_program(hostile: Store) -> None:
    from isolation_tui.app import IsolationApp

    app = IsolationApp(hostile, point="DD01")
    seen = ""
    async with app.run_test(size=(80, 24)) as pilot:
        for keys in STEPS:
            await pilot.press(*keys)
            await pilot.pause()
            shown = frame(app)
            leaked = [repr(ch) for ch in FORBIDDEN if ch in shown.replace("\n", "")]
            assert leaked == [], (keys, leaked)
            assert app.is_running, keys
            seen += shown
    assert "[b]甲[/b]" in seen  # a name with markup shows as typed
    assert "[@click=app.quit]" in seen  # so does an action link, never a live one
