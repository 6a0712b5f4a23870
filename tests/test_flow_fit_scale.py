"""At 80 columns the counter bar never cuts a figure, whatever its size.

Seen at ``demo --scale 10`` in English: ``Released home 131…``, the number not
readable (Chinese showed ``期满返家 13157``). A label gives way to its short form,
then to nothing, before a digit is cut.
"""

from __future__ import annotations

from rich.cells import cell_len
from test_tui_flows import SIZE

from isolation_tui.app import IsolationApp
from isolation_tui.domain.counters import Counters
from isolation_tui.storage.repository import Store
from isolation_tui.widgets.counter_bar import CounterCell

SCALE_10 = Counters(
    received=13710,
    released_home=13157,
    transferred=12345,
    in_isolation=65321,
    incidents_handled=11011,
    incidents_open=1234,
    beds=47430,
    occupied_beds=43210,
    due_today=1818,
    overdue=1212,
    missed_checks=14040,
    tests_due=19797,
)


async def test_figures_of_a_city_run_ten_times_as_long_show_whole(
    one_person: Store, lang: str
) -> None:
    app = IsolationApp(one_person, point="DD01")
    async with app.run_test(size=SIZE) as pilot:
        app.counters = {**app.counters, "DD01": SCALE_10}
        app.data_changed.publish(frozenset({"*"}))
        await pilot.pause()
        shown = {cell.key: str(cell.content) for cell in app.screen.query(CounterCell)}
        for cell in app.screen.query(CounterCell):
            assert cell_len(str(cell.content)) <= cell.content_region.width, cell.content
        for key, figures in {
            "received": ["13710"],
            "released_home": ["13157"],
            "transferred": ["12345"],
            "in_isolation": ["65321"],
            "incidents": ["11011", "1234"],
            "occupancy": ["43210", "47430"],
            "due": ["1818", "1212"],
            "health": ["14040", "19797"],
        }.items():
            assert all(figure in shown[key] for figure in figures), (key, shown[key])
        # The label says which figure it is where it fits: in its short form here.
        assert shown["released_home"] != "13157"
