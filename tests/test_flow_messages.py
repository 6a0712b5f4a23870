"""Messages at 80×24: one at a time, on the F-key line only, never cut without a way
to read the rest (F9); open choice lists above the footer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.widgets import Footer
from textual.widgets._select import SelectOverlay
from textual.widgets._toast import Toast

from isolation_tui.app import IsolationApp
from isolation_tui.i18n import t
from isolation_tui.storage.errors import StoreError, StoreUnavailable
from isolation_tui.storage.repository import Store
from isolation_tui.widgets.message_line import ELLIPSIS, one_line

SIZE = (80, 24)
F_KEY_LINE = 3  # under the three lines of counters


def lines(app: IsolationApp) -> list[str]:
    """Every line of the terminal, as shown."""
    strips = app.screen._compositor.render_strips()
    return ["".join(segment.text for segment in strip) for strip in strips]


def shown_toasts(app: IsolationApp) -> list[Toast]:
    return [toast for toast in app.screen.query(Toast) if toast.region.height]


def unspaced(text: str) -> str:
    return re.sub(r"\s+", "", text)


async def export(pilot: object, app: IsolationApp) -> None:
    """F5, `e`, ctrl+s: the handover report goes to a file named in full."""
    await pilot.press("f5", "e")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    await pilot.press("ctrl+s")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]


async def test_a_long_message_takes_one_line_and_f9_shows_it_whole(
    one_person: Store, home: Path, lang: str
) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await export(pilot, app)
        (path,) = (home / ".local" / "share" / "isolation-tui" / "exports").iterdir()
        whole = app.said[-1].message
        assert str(path) in whole and len(whole) > SIZE[0]
        (toast,) = shown_toasts(app)
        assert (toast.region.y, toast.region.height, toast.region.width) == (F_KEY_LINE, 1, 80)
        line = lines(app)[F_KEY_LINE][1:].strip()  # after the mark at its left
        start, hint = line.split(f" {ELLIPSIS} ")
        assert hint == t("ui.more_in_messages")
        # Its start as said, up to a break between words or the folders of the path.
        assert whole.startswith(start) and (whole[len(start)] == " " or start.endswith("/"))
        assert str(path) not in line
        folders = start.split()[-1]  # as many of the path's folders as fit
        assert str(path).startswith(folders) and folders.endswith("/")
        await pilot.press("f9")
        await pilot.pause()
        assert unspaced(str(path)) in unspaced("".join(lines(app)))
        assert t("ui.title_messages") in "\n".join(lines(app))
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "HandoverScreen"


async def test_a_new_message_replaces_the_link_down_one_which_the_bar_keeps(
    one_person: Store, home: Path, lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("f5")

        def away() -> None:
            raise StoreUnavailable("the database server does not answer")

        monkeypatch.setattr(one_person, "refresh", away)
        await pilot.pause(0.6)  # two polls
        assert [n.message for n in app._notifications] == ["the database server does not answer"]
        await export(pilot, app)
        (toast,) = shown_toasts(app)
        assert (toast.region.y, toast.region.height) == (F_KEY_LINE, 1)
        assert app.said[-1].message.split()[0] in lines(app)[F_KEY_LINE]
        # The state lasts, said on the counter bar above the figures.
        assert unspaced(t("ui.link_down", time="09:30")[:12]) in unspaced(lines(app)[0])


async def test_a_message_of_several_lines_takes_one(one_person: Store, lang: str) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        below = lines(app)[F_KEY_LINE + 1 :]
        app.notify(f"database damaged\n{t('ui.store_failed')}", severity="error", timeout=3600)
        await pilot.pause()
        (toast,) = shown_toasts(app)
        assert (toast.region.y, toast.region.height) == (F_KEY_LINE, 1)
        assert lines(app)[F_KEY_LINE + 1 :] == below


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("short", "short"),
        ("one two\nthree", "one two three"),
        ("word " * 20, ("word " * 15).rstrip() + " … F9"),
        ("/a" * 50, "/a" * 37 + "/ … F9"),  # a path: after one of its "/"
        ("a.b" * 40, "a.b" * 25 + " … F9"),  # one word longer than the line: folded
        # Between phrases when that fills the line enough…
        ("一二三四五六七八九十" * 3 + ",再说" + "一二" * 8, None),
        # …else between two Chinese characters, never before a closing mark.
        ("隔离点" * 40, None),
    ],
)
def test_a_message_is_cut_only_where_a_line_may_break(message: str, expected: str | None) -> None:
    line, cut = one_line(message, 80, "F9")
    assert cut == (cell_len(" ".join(message.split())) > 80)
    if expected is not None:
        assert line == expected.rstrip()
    assert cell_len(line) <= 80
    if cut:
        start = line.removesuffix(f" {ELLIPSIS} F9")
        flat = " ".join(message.split())
        assert flat.startswith(start)
        assert flat[len(start)] not in ",。、"  # what comes next never starts with a mark


async def test_the_room_list_opens_above_the_footer(store: Store, lang: str) -> None:
    rooms = [{"code": f"{200 + n}", "floor": "2", "beds": 1} for n in range(1, 30)]
    store.save_point("DD01", "振兴区第一隔离点", rooms)
    for n in range(1, 7):  # more points than lines below the last field: opens upward
        store.save_point(f"BJ0{n}", f"边境{n}号点·江畔宾馆", rooms[:3])
    app = IsolationApp(store, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2", "n")
        await pilot.pause()
        for field in ("room", "category", "point"):
            app.screen.form.focus_field(field)  # type: ignore[attr-defined]
            await pilot.press("space")
            await pilot.pause()
            overlay = app.screen.query_one(f"#field-{field} SelectOverlay", SelectOverlay)
            footer = app.screen.query_one(Footer)
            assert overlay.region.height >= min(5, overlay.option_count), field
            assert overlay.region.bottom <= footer.region.y, field
            assert overlay.region.y >= app.screen.query_one("#form").region.y, field
            # The footer stays readable: it says how to close the list.
            assert t("ui.key_dismiss_menu") in lines(app)[-1], field
            await pilot.press("escape")
            await pilot.pause()


async def test_a_database_gone_bad_stays_said_on_the_bar_and_whole_under_f9(
    one_person: Store, lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("f2")

        def damaged() -> None:
            raise StoreError("/data/db.json: the journal's entry 12 is damaged")

        monkeypatch.setattr(one_person, "refresh", damaged)
        await pilot.pause(0.6)
        (toast,) = shown_toasts(app)
        assert (toast.region.y, toast.region.height) == (F_KEY_LINE, 1)
        assert unspaced(t("ui.store_failed_line")) in unspaced(lines(app)[0])
        await pilot.press("n")  # refused: read-only now, said in its place
        await pilot.pause()
        assert len(shown_toasts(app)) == 1
        assert unspaced(t("ui.store_failed_line")) in unspaced(lines(app)[0])
        await pilot.press("f9")
        await pilot.pause()
        everything = unspaced("".join(lines(app)))
        assert unspaced(t("ui.store_failed")) in everything
        assert "entry12isdamaged" in everything
