"""The counter bar shown on every screen: the live figures a supervisor watches."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import Static

from ..domain.counters import Counters
from ..i18n import current_language, t
from .mode_tabs import ModeTabs

HIGHLIGHT_SECONDS = 2.0


def fitting(sayings: Sequence[str], width: int) -> str:
    """The first of ``sayings`` (the longest first) that fits ``width`` (none known
    yet: the first), else the last, the shortest."""
    last = sayings[-1] if sayings else ""
    return next((text for text in sayings if not width or cell_len(text) <= width), last)


class CounterCell(Static):
    """One figure; briefly highlighted when its value changes."""

    def __init__(self, key: str) -> None:
        super().__init__("", id=f"counter-{key}", classes="counter-cell", markup=False)
        self.key = key
        self.value = ""
        self.sayings: Sequence[str] = ()

    def show(self, labels: Sequence[str], value: str) -> None:
        """The figure ``value`` after the longest of ``labels`` that lets it fit whole
        (a point run for years has five-digit figures), else alone: a cut figure
        cannot be read, a label shortened still can."""
        changed = bool(self.value) and value != self.value
        self.value = value
        self.sayings = [*(f"{label} {value}" for label in labels), value]
        self._fit()
        if changed:
            self.add_class("changed")
            self.set_timer(HIGHLIGHT_SECONDS, lambda: self.remove_class("changed"))

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        self.update(fitting(self.sayings, self.content_size.width))


CELLS = (
    "received",
    "released_home",
    "transferred",
    "in_isolation",
    "incidents",
    "occupancy",
    "due",
    "health",
    "duty",
)


class AlertLine(Static):
    """The flags, said the longest way that fits the line whole (a flag cut
    mid-word would misread), else the shortest, ellipsised."""

    choices: Sequence[str] = ()

    def say(self, choices: Sequence[str]) -> None:
        self.choices = choices
        self.display = bool(choices)
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        self.update(fitting(self.choices, self.content_size.width))


class CounterBar(Grid):
    """Eight figures in two rows and a third line shared by the people on duty (the
    left half) and the flags (the right half: supplies running short), so the whole
    bar fits 80 columns in both languages (each language has its column widths in
    the style sheet). Whose figures they are (the point, or all points) is said at
    the right end of the F-key line."""

    def compose(self) -> ComposeResult:
        # Shown above the figures only while the link to the database is down (they
        # are then the last ones read) or the database went bad under this session.
        yield Static("", id="link-down", markup=False)
        for key in CELLS:
            yield CounterCell(key)
        # Flags (supplies running short…) beside the people on duty, only while
        # there are any.
        yield AlertLine("", id="counter-alerts", markup=False)

    def on_mount(self) -> None:
        self.add_class(f"-{current_language()}")

    def show(
        self,
        counters: Counters,
        scope: str,
        short: str = "",
        on_duty: str = "",
        alerts: Sequence[str] = (),  # ways to say the flags, the longest first
        lasting: str = "",  # what holds while it lasts (the link to the database down)
    ) -> None:
        link = self.query_one("#link-down", Static)
        link.display = bool(lasting)
        link.update(lasting)
        for tabs in self.screen.query(ModeTabs):
            tabs.show_scope(scope, short, on_duty)
        self.query_one(AlertLine).say(alerts)
        figures = {
            key: (label(f"counter.{key}"), str(getattr(counters, key)))
            for key in ("received", "released_home", "transferred", "in_isolation")
        }
        figures |= {
            "incidents": (
                label("ui.bar_incidents"),
                t(
                    "ui.bar_incidents_value",
                    handled=counters.incidents_handled,
                    open=counters.incidents_open,
                ),
            ),
            "occupancy": (
                label("ui.bar_beds"),
                f"{counters.occupied_beds}/{counters.beds}",
            ),
            "due": (
                label("ui.bar_due"),
                t("ui.bar_due_value", today=counters.due_today, overdue=counters.overdue),
            ),
            "health": (
                label("ui.bar_health"),
                t(
                    "ui.bar_health_value",
                    missed=counters.missed_checks,
                    tests=counters.tests_due,
                ),
            ),
        }
        figures["duty"] = (label("ui.bar_duty"), duty_value(counters))
        for cell in self.query(CounterCell):
            labels, value = figures[cell.key]
            cell.show(labels, value)
            if cell.key == "duty":
                cell.set_class(counters.over_limit > 0, "flagged")


def label(key: str) -> tuple[str, ...]:
    """A figure's label, then its short form where the catalogue has one."""
    short = t(f"{key}_short")
    return (t(key),) if short == f"{key}_short" else (t(key), short)


def duty_value(counters: Counters) -> str:
    """How many are on duty, and how many of them for too long."""
    if counters.over_limit:
        return t("ui.bar_duty_over", count=counters.on_duty, over=counters.over_limit)
    return t("ui.bar_duty_value", count=counters.on_duty)
