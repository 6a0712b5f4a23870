"""What each screen looks like at 80×24, in Chinese and in English.

Run ``pytest --snapshot-update`` after an intended change of layout, and look at
the SVGs in ``tests/__snapshots__/`` before committing them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from isolation_tui.app import IsolationApp
from isolation_tui.i18n import set_language
from isolation_tui.storage.repository import Store

SCREENS = {
    "overview": [],
    "arrivals": ["f2"],
    "arrival_form": ["f2", "n", *"王小明", "enter", "enter", *"110105194912310021", "ctrl+s"],
    "stay_detail": ["f2", "enter"],
    "discharges": ["f3"],
    "discharge_form": ["f3", "d"],
    "incidents": ["f4"],
    "handover": ["f5"],
    "handover_sign": ["f5", "ctrl+s"],
    "palette": ["ctrl+p"],
    "round": ["f2", "k"],
    "round_refused": ["f2", "k", "ctrl+t", *"3x5", "enter"],
    "tests_due": ["f2", "t", "n"],
    "staff": ["f7"],
    "staff_form": ["f7", "n", *"赵医生", "enter"],
}


@pytest.fixture
def busy_store(store: Store) -> Store:
    rooms = [
        {"code": f"{f}0{r}", "floor": str(f), "beds": 1, "blocked": False}
        for f in (2, 3)
        for r in range(1, 6)
    ]
    store.save_point("DD01", "振兴区第一隔离点", rooms)
    store.save_point("BJ01", "边境1号点·江畔宾馆", rooms[:4])
    people = [
        ("张伟", "210602198503154513", "2026-11-15 10:00"),
        ("KIM MINSU", "M12345678", "2026-11-20 22:30"),
        ("a[/]b [red]x[/]", "E7654321", "2026-11-28 08:15"),
    ]
    for name, number, arrived in people:
        store.stays.register(
            {
                "point": "DD01",
                "name": name,
                "id_type": "resident_id" if number[0].isdigit() else "passport",
                "id_number": number,
                "phone": "13912345678",
                "category": "inbound",
                "arrived_at": arrived,
                "origin": "首尔",
                "transport": "KE831",
            }
        )
    last_test, _ = store.health.tests_of(1)[-1]
    store.health.record_result(last_test, "negative", "2026-11-28 08:00")
    store.stays.discharge(
        {"stay": "1", "discharged_at": "2026-11-29 09:00", "kind": "released_home"}
    )
    store.health.record_check(2, "2026-11-29", "morning", "368")
    store.health.record_check(
        3, "2026-11-29", "morning", "379", symptoms="咽痛"
    )  # a draft incident
    incident = store.incidents.open(
        {
            "point": "DD01",
            "occurred_at": "2026-11-29 07:10",
            "kind": "fever",
            "severity": "3",
            "summary": "晨检体温38.2℃",
        },
        stays=[2],
    )
    store.incidents.add_action(incident, "复测体温并上报")
    doctor = store.staff.add_staff(
        {"point": "DD01", "name": "李医生", "role": "medical", "phone": "13800001234"}
    )
    store.staff.start_duty(doctor, "2026-11-28 20:00")  # 13.5 h: over the limit
    nurse = store.staff.add_staff({"point": "DD01", "name": "王[b]护士", "role": "nursing"})
    store.staff.start_duty(nurse, "2026-11-29 08:00")
    store.staff.add_staff({"point": "DD01", "name": "周警官", "role": "police"})
    return store


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(
    screen: str, lang: str, busy_store: Store, snap_compare: Callable[..., bool]
) -> None:
    set_language(lang)
    app = IsolationApp(busy_store, point="DD01")
    press: list[Any] = SCREENS[screen]
    assert snap_compare(app, press=press, terminal_size=(80, 24))
