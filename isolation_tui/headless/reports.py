"""``stats`` and ``points``: the counters and the points, as Rich tables or JSON."""

from __future__ import annotations

import sys
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..domain.counters import ALL, FIGURES, Counters
from ..domain.display import for_terminal, for_terminal_deep
from ..domain.records import usable_beds
from ..i18n import t
from ..storage.backend import Location
from ..storage.repository import Store, open_store


def console() -> Console:
    return Console(highlight=False)


def open_for_reading(db_path: Location) -> Store:
    return open_store(db_path, read_only=True)


def _print_json(data: Any) -> None:
    clean = for_terminal_deep(data)
    sys.stdout.buffer.write(orjson.dumps(clean, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


def run_stats(db_path: Location, *, point: str | None, as_json: bool) -> int:
    store = open_for_reading(db_path)
    counters = store.counters()
    if point is not None and point not in counters:
        click_echo_err(t("report.unknown_point", point=point))
        return 1
    chosen: Counters = counters[point or ALL]
    if as_json:
        data: dict[str, Any] = {key: getattr(chosen, key) for key in FIGURES}
        data["point"] = point
        data["points"] = chosen.points
        data["discharges_by_kind"] = chosen.by_kind
        data["on_duty"] = chosen.on_duty
        data["over_limit"] = chosen.over_limit
        _print_json(data)
        return 0
    title = t("report.stats_title_point", point=point) if point else t("report.stats_title_all")
    table = Table(title=Text(for_terminal(title)), show_header=False)
    table.add_column(justify="left")
    table.add_column(justify="right")
    for key in FIGURES:
        table.add_row(Text(t(f"counter.{key}")), str(getattr(chosen, key)))
    console().print(table)
    return 0


def run_points(db_path: Location, *, as_json: bool) -> int:
    store = open_for_reading(db_path)
    rows = []
    for code, point in store.points().items():
        beds = sum(usable_beds(room) for room in point["rooms"])
        taken = sum(store.beds_taken(code, room["code"]) for room in point["rooms"])
        rows.append(
            {
                "id": code,
                "name": point["name"],
                "rooms": len(point["rooms"]),
                "beds": beds,
                "free_beds": beds - taken,
            }
        )
    if as_json:
        _print_json(rows)
        return 0
    table = Table(title=Text(t("report.points_title")))
    for key, justify in (("id", "left"), ("name", "left"), ("rooms", "right")):
        table.add_column(t(f"report.col_{key}"), justify=justify)  # type: ignore[arg-type]
    table.add_column(t("counter.beds"), justify="right")
    table.add_column(t("report.col_free_beds"), justify="right")
    for row in rows:
        table.add_row(
            Text(for_terminal(row["id"])),
            Text(for_terminal(row["name"])),
            str(row["rooms"]),
            str(row["beds"]),
            str(row["free_beds"]),
        )
    console().print(table)
    return 0


def click_echo_err(message: str) -> None:
    sys.stderr.write(f"isolation-tui: {for_terminal(message)}\n")


def say(message: str) -> None:
    """A line on standard output, as written: never wrapped, never markup."""
    console().print(for_terminal(message), markup=False, soft_wrap=True)
