"""Texts a supervisor reads, whole and in their own language, at 80×24."""

from __future__ import annotations

import re
from datetime import date

from markdown_it import MarkdownIt
from textual.widget import Widget
from textual.widgets._toast import Toast

from isolation_tui.app import IsolationApp
from isolation_tui.domain.counters import ALL
from isolation_tui.domain.display import markdown_line, markdown_lines
from isolation_tui.domain.idnumber import make_resident_id
from isolation_tui.headless.handover_report import render
from isolation_tui.i18n import set_language, t
from isolation_tui.storage.actor import Actor
from isolation_tui.storage.repository import Store
from isolation_tui.widgets.record_table import RecordTable

SIZE = (80, 24)


def shown(app: IsolationApp, widget: Widget) -> str:
    """What the terminal shows of ``widget``, its lines joined, without spaces."""
    strips = app.screen._compositor.render_strips()
    region = widget.region
    lines = [
        "".join(segment.text for segment in strips[y].crop(region.x, region.right))
        for y in range(region.y, region.bottom)
    ]
    return re.sub(r"\s+", "", "".join(lines))


def screen_text(app: IsolationApp) -> str:
    """Every line of the terminal, as shown."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


async def test_a_sample_before_the_arrival_names_the_time_typed_and_the_arrival(
    one_person: Store, lang: str
) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "t", *"2026-11-10 08:00", "n")
        await pilot.pause()
        status = shown(app, app.screen.query_one("#entry-status"))
        assert "2026-11-1008:00" in status and "2026-11-1510:00" in status


async def test_the_palette_says_no_match_in_the_session_language(
    one_person: Store, lang: str
) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p", *"zzqx")
        await pilot.pause(1.0)
        text = screen_text(app)
        assert t("ui.palette_no_matches") in text
        if lang == "zh":
            assert "No matches" not in text


async def test_the_arrivals_list_fits_with_years_shown(store: Store, lang: str) -> None:
    """Dates of another year show the year: the status column still shows whole."""
    store.save_point("DD01", "一号点", [{"code": f"20{n}", "beds": 1} for n in range(3)])
    for n, arrived in enumerate(["2025-10-01 10:00", "2025-11-01 10:00", "2026-11-20 10:00"]):
        store.stays.register(
            {
                "point": "DD01",
                "name": f"欧阳旅客{n}号",
                "id_number": make_resident_id("210602", date(1990, 1, 1), 120 + n),
                "category": "inbound",
                "arrived_at": arrived,
            }
        )
    store.stays.discharge({"stay": "1", "discharged_at": "2025-10-15 09:00", "kind": "hospital"})
    app = IsolationApp(store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        table = app.screen.query_one(RecordTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width
        text = screen_text(app)
        assert "2025-10-01" in text and "2025-11-15" in text
        for status in ("ui.status_discharged", "ui.status_open"):
            assert t(status) in text
        await pilot.press("f3")
        await pilot.pause()
        for table in app.screen.query(RecordTable):
            assert table.virtual_size.width <= table.scrollable_content_region.width


async def test_the_overview_columns_add_up_to_the_counter_bar(store: Store, lang: str) -> None:
    """Each overview column holds what its header says: the all-points row equals the
    counter bar, the points' rows add up to it, and every person is in one column."""
    for code in ("DD01", "DD02"):
        store.save_point(code, f"{code}点", [{"code": f"30{n}", "beds": 1} for n in range(5)])
    exits = {"DD01": ["released_home", "hospital", "absconded"], "DD02": ["other_point", "other"]}
    for code, kinds in exits.items():
        for n in range(5):
            stay = store.stays.register(
                {
                    "point": code,
                    "name": f"旅客{code}{n}",
                    "id_type": "passport",
                    "id_number": f"{code}{n}",
                    "category": "close_contact",
                    "arrived_at": "2026-11-10 10:00",
                }
            )
            if n < len(kinds):
                store.stays.discharge(
                    {
                        "stay": str(stay),
                        "discharged_at": "2026-11-28 10:00",
                        "kind": kinds[n],
                        "negative_test": "yes",
                        "notes": "ok",
                        "override": "lab called",
                    }
                )
    app = IsolationApp(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        table = app.screen.query_one(RecordTable)
        keys = [column.key.value for column in table.ordered_columns]

        def figure(row: str, column: str) -> int:
            return int(str(table.get_row(row)[keys.index(column)]))

        bar = {
            column: int(app.screen.query_one(f"#counter-{cell}").value)  # type: ignore[attr-defined]
            for column, cell in [
                ("received", "received"),
                ("home", "released_home"),
                ("out", "transferred"),
                ("in_isolation", "in_isolation"),
            ]
        }
        assert bar == {"received": 10, "home": 1, "out": 2, "in_isolation": 5}
        for column, value in bar.items():
            assert figure(ALL, column) == value
            assert figure("DD01", column) + figure("DD02", column) == value
        people = ("home", "out", "other", "in_isolation")
        for row in (ALL, "DD01", "DD02"):
            assert sum(figure(row, column) for column in people) == figure(row, "received")
        assert table.virtual_size.width <= table.scrollable_content_region.width


async def test_the_fkey_line_fits_with_a_person_on_duty(store: Store, lang: str) -> None:
    """``--as NAME`` on all points: the F-key line says every tab, the name and F6's
    scope whole, never cut in the middle of a word."""
    for n in range(1, 33):
        store.save_point(f"P{n:02d}", f"第{n}隔离点", [{"code": "101", "beds": 1}])
    store.actor = Actor("tester", on_duty="Zhang Wei")
    app = IsolationApp(store)
    async with app.run_test(size=SIZE) as pilot:
        for key in ("f1", "f2", "f3", "f4", "f5", "f6"):
            await pilot.press(key)
            await pilot.pause()
            line = shown(app, app.screen.query_one("#mode-tabs"))
            assert "…" not in line, line
            assert "ZhangWei" in line and "F6" in line, line
            for n in range(1, 6):
                assert f"F{n}" in line, line


async def test_messages_never_cover_the_incident_being_worked_on(
    one_person: Store, lang: str
) -> None:
    incident = one_person.incidents.open(
        {
            "point": "DD01",
            "occurred_at": "2026-11-29 08:00",
            "kind": "medical",
            "severity": "3",
            "summary": "101 李四 胸闷,已联系驻点医生",
        },
        stays=[1],
    )
    for what in ("驻点医生问诊", "测血压 150/95", "通知家属"):
        one_person.incidents.add_action(incident, what)
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("f4")
        for what in ("120 已到", "转运至市一院"):
            await pilot.press("a", *what, "ctrl+s")
            await pilot.pause()
            await pilot.pause()
            toasts = list(app.screen.query(Toast))
            assert toasts, "the action is said"
            record = [
                app.screen.query_one("#incident-detail"),
                app.screen.query_one(RecordTable),
                app.screen.query_one("#counter-bar"),
            ]
            for toast in toasts:
                for widget in record:
                    assert not toast.region.overlaps(widget.region), (toast.region, widget)
            (message,) = [n.message for n in app._notifications]  # the newest only
            assert f"#{incident}" in message
            assert message in screen_text(app)  # whole: no wide character lost at an edge


def rendered_as_text(markdown_text: str) -> str:
    """What a Markdown reader (CommonMark with GitHub's tables and strikethrough)
    shows, when it shows only text; fails on any markup it finds."""
    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    tokens = parser.parse(markdown_text)
    assert [token.type for token in tokens] == ["paragraph_open", "inline", "paragraph_close"], (
        markdown_text,
        tokens,
    )
    children = tokens[1].children or []
    assert {child.type for child in children} <= {"text", "softbreak"}, (markdown_text, children)
    return "".join(child.content if child.type == "text" else "\n" for child in children)


CLEAN = [
    "2-3 号房",
    "#12 李四 301",
    "10~12 点复测",
    "room_301",
    "3 * 4 = 12",
    "体温 > 37.3 复测",
    "李四 & 王五",
    "a <3 b",
    "1.发热 2.咳嗽",
    "C-3-1 隔离点",
    "100%!",
    "C:\\data",
    "[低] 设施故障",
]

HOSTILE = [
    "- item",
    "+ item",
    "* item",
    "1. listed",
    "2) listed",
    "# heading",
    "### heading",
    "---",
    "===",
    "***",
    "___",
    "> quoted",
    "<b>bold</b>",
    "<script>alert(1)</script>",
    "<http://evil.example>",
    "&amp; &#65; &#x41;",
    "[Click](http://evil.example/x)",
    "![](http://track.example/p.png)",
    "[ref]: http://evil.example",
    "[ref] [ref]",
    "`code`",
    "```",
    "~~~",
    "*em* **strong** _x_ __y__",
    "~~gone~~ ~gone~",
    "a\\*b*c*",
    "a | b",
    "\\# not heading",
]


def test_plain_text_reads_clean_in_markdown() -> None:
    """Text a messaging app shows as typed gets no backslash: nothing in it starts
    markup where it stands."""
    for line in CLEAN:
        assert markdown_line(line) == line
        assert rendered_as_text(markdown_line(line)) == line


def test_markup_in_stored_text_stays_text() -> None:
    for line in HOSTILE:
        assert rendered_as_text(markdown_line(line)) == line, line


def test_a_table_or_emphasis_across_note_lines_stays_text() -> None:
    notes = [
        "[x]",
        "[x]: http://e.x",
        "a | b",
        "--- | ---",
        "*one",
        "two*",
        "_x",
        "y_",
        "~~p",
        "q~~",
        "[a",
        "](http://e.x)",
    ]
    assert rendered_as_text("\n".join(markdown_lines(notes))) == "\n".join(notes)


async def test_a_draft_reads_in_the_readers_language(one_person: Store) -> None:
    """A fever draft raised in an English session, and a list of names, read in
    Chinese by the next supervisor (the screen and the handover); a summary typed
    by a person, or stored before summaries were kept as data, shows as stored."""
    set_language("en")
    _, draft, _ = one_person.health.record_check(
        1, "2026-11-29", "morning", "386", at="08:10", symptoms="咳嗽"
    )
    typed = one_person.incidents.open(
        {
            "point": "DD01",
            "occurred_at": "2026-11-29 08:20",
            "kind": "facility",
            "severity": "1",
            "summary": "3楼热水器故障",
        }
    )
    assert draft is not None and typed
    set_language("zh")
    expected = t(
        "health.fever_summary",
        name="李四",
        room="101",
        temperature="38.6",
        round=t("round.morning"),
    )
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        table = app.screen.query_one(RecordTable)
        table.move_cursor(row=table.get_row_index(str(draft)))
        await pilot.pause()
        detail = shown(app, app.screen.query_one("#incident-detail"))
        assert re.sub(r"\s+", "", expected) in detail and "°C" not in detail
        text = screen_text(app)
        assert "3楼热水器故障" in text and " at the " not in text
    report = render(one_person.handovers.summary("DD01"), "", None, "md")
    assert expected in report and "°C at the" not in report
