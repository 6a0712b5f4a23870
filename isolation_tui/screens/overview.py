"""F1 Overview: every point's counters, and what needs doing at the current point."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from ..domain.activity import describe
from ..domain.codes import INCIDENT_KIND
from ..domain.counters import ALL, Counters
from ..domain.health import incident_summary
from ..domain.staff import hours_between
from ..i18n import t
from ..storage.tables import AUDIT, CHECKS, DUTY, INCIDENTS, POINTS, STAFF, STAYS, TESTS
from ..widgets.record_table import RecordTable, cell
from .base import MainScreen
from .supply_overview import SupplyOverviewScreen

ACTIVITY_LINES = 2


def counter_cells(code: str, name: str, c: Counters) -> list[Text]:
    return [
        cell(code),
        cell(name),
        cell(c.received),
        cell(c.released_home),
        cell(c.transferred),
        cell(c.other_exits),
        cell(c.in_isolation),
        cell(f"{c.incidents_handled}/{c.incidents_open}"),
        cell(f"{c.occupied_beds}/{c.beds}"),
        cell(f"{c.due_today}/{c.overdue}"),
        cell(f"{c.missed_checks}/{c.tests_due}", "bold" if c.missed_checks else ""),
    ]


class OverviewScreen(MainScreen):
    mode_name = "overview"
    watched_tables = frozenset(
        {POINTS, STAYS, INCIDENTS, "discharges", AUDIT, CHECKS, TESTS, STAFF, DUTY}
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose_point", "ui.key_choose_point"),
        Binding("s", "supplies", "ui.key_supplies_view"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._placed = False

    def compose_body(self) -> ComposeResult:
        yield RecordTable(
            (
                "code",
                "name",
                "received",
                "home",
                "out",
                "other",
                "in_isolation",
                "incidents",
                "beds",
                "due",
                "health",
            ),
            fill="name",
            id="points-table",
        )
        yield Static(id="point-panel", markup=False)

    def reload(self) -> None:
        counters = self.iso_app.counters
        points = self.store.points()

        def build(code: str) -> list[Text]:
            name = t("ui.scope_all_short") if code == ALL else points[code]["name"]
            return counter_cells("" if code == ALL else code, name, counters.get(code, Counters()))

        table = self.query_one(RecordTable)
        table.show([ALL, *points], build)
        self.query_one("#point-panel", Static).update(self._point_panel())
        if not self._placed and self.iso_app.point in table.rows:
            # Opened on the supervisor's own row, wherever it is in a long list.
            self._placed = True
            row = table.get_row_index(self.iso_app.point)
            table.call_after_refresh(table.move_cursor, row=row, animate=False, scroll=True)

    def _point_panel(self) -> Text:
        code = self.iso_app.point
        if code is None:
            return Text(t("ui.no_points"))
        today = self.store.clock().date().isoformat()
        due, overdue = [], []
        for stay in self.store.open_stays(code).values():
            if stay["release_due"] == today:
                due.append(stay)
            elif stay["release_due"] < today:
                overdue.append(stay)
        incidents = [
            i
            # Open incidents are never sealed: the live set has them all.
            for i in self.store.live_rows(INCIDENTS).values()
            if i["point"] == code and i["status"] == "open" and not i.get("voided")
        ]
        incidents.sort(key=lambda i: (-i["severity"], i["occurred_at"]))
        panel = Text(no_wrap=True, overflow="ellipsis")
        point = self.store.point(code)
        panel.append(t("ui.panel_point", point=point["name"] if point else code), style="bold")
        panel.append("\n")
        for label, stays in (("ui.panel_due_today", due), ("ui.panel_overdue", overdue)):
            names = t("ui.list_separator").join(
                f"{s['room']} {s['person']['name']}" for s in stays[:6]
            )
            panel.append(t(label, count=len(stays)) + " " + names + "\n")
        described = "; ".join(
            f"{INCIDENT_KIND.label(i['kind'])}({i['severity']}) {incident_summary(i)}"
            for i in incidents[:3]
        )
        panel.append(t("ui.panel_open_incidents", count=len(incidents)) + " " + described + "\n")
        figures = self.iso_app.counters.get(code, Counters())
        panel.append(
            t(
                "ui.panel_health",
                missed=figures.missed_checks,
                tests=figures.tests_due,
                drafts=figures.incidents_draft,
            )
            + "\n"
        )
        panel.append(self._duty_line(code) + "\n")
        panel.append(t("ui.panel_activity") + "\n")
        for entry in self.store.recent_audit(code, ACTIVITY_LINES):
            record = self.store.get(entry["table"], entry["record"])
            panel.append(f"  {describe(entry, record)}\n")
        return panel

    def _duty_line(self, code: str) -> str:
        """Who is on duty here, the longest first, each flagged over the limit; and
        the points where someone is on duty too long."""
        now = self.store.clock()
        book = self.store.staff
        people = []
        for duty in book.on_duty(code):
            doc = book.staff(duty.staff) or {}
            flag = " ⚠" if book.over_limit(duty, now) else ""
            people.append(f"{doc.get('name', '')} {hours_between(duty.start, now):.1f}h{flag}")
        line = t("ui.panel_duty", count=len(people)) + " " + "、".join(people)
        elsewhere = [
            f"{point} {c.over_limit}"
            for point, c in self.iso_app.counters.items()
            if point not in (ALL, code) and c.over_limit
        ]
        if elsewhere:
            line += " · " + t("ui.panel_duty_elsewhere", points="、".join(elsewhere))
        return line

    async def action_supplies(self) -> None:
        await self.open_form(SupplyOverviewScreen, writes=False)

    def action_choose_point(self) -> None:
        key = self.query_one(RecordTable).current_key()
        if key and key != ALL:
            self.iso_app.set_point(key)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_choose_point()
