"""Demo data: Dandong's 32 isolation points in spring 2022, as the seed article tells it.

The article reports 10 border points and 22 county-level points, 1371 people
received from abroad, 1186 released home after isolation and 11 emergencies
handled; the demo reproduces exactly those counters (times ``--scale``), with the
rest of the people still in isolation or transferred, a few incidents still open,
some releases due today and some overdue.

Everyone is checked in two rounds a day (about 38,000 checks at scale 1: a few
missed or refused, a few fevers) and tested on the planned days. Everyone released
home has a negative last test, the two positives went to hospital, and the people
still in isolation have their past tests negative and the rest pending (but for a
few held past their release date on a retest). A fever or a positive opens a draft
incident, as it would for a supervisor: the real ones were confirmed and handled,
false alarms dismissed, and yesterday afternoon's still waits to be confirmed.

The data is planned first (pure, seeded, dates relative to today), then written
through the :class:`Store` API in one transaction, so every rule is checked and
every record audited exactly as if supervisors had typed it in. This module holds
the command that does so; the parts live apart: the tables in :mod:`.demo_data`,
the points and rooms in :mod:`.demo_points`, the planned records and the people
maker in :mod:`.demo_people`, the rounds and tests in :mod:`.demo_health`, the
planner in :mod:`.demo_plan`, the events in :mod:`.demo_timeline` and the writer
that stores them in :mod:`.demo_writer`.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import tempfile
import time
from collections.abc import Collection, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..i18n import current_language, set_language, t
from ..storage.actor import current_actor
from ..storage.backend import Location, remove_store, store_exists
from ..storage.engine import put_in_place
from ..storage.repository import Store, open_store
from .demo_people import Event
from .demo_plan import Plan, make_plan, only_points
from .demo_staff import with_staff
from .demo_timeline import timeline
from .demo_writer import DemoClock, Writer

# Progress bars only pay for themselves when the run takes a while.
PROGRESS_FROM_SCALE = 5

_TEXT = {
    "zh": {
        "exists": "{path}：此处已有数据库；要替换它请加 --force",
        "title": "演示数据已写入",
        "path": "数据库",
        "documents": "存储文档",
        "seconds": "用时",
        "writing": "写入演示数据",
        "saving": "正在保存",
        "incidents_draft": "待确认事件",
        "checks": "健康监测记录",
        "missed_checks": "今日漏测",
        "tests": "计划检测",
        "tests_due": "今日及逾期待检",
    },
    "en": {
        "exists": "{path}: a database already exists here; use --force to replace it",
        "title": "Demo data written",
        "path": "Database",
        "documents": "Stored documents",
        "seconds": "Time",
        "writing": "Writing demo data",
        "saving": "Saving",
        "incidents_draft": "Draft incidents to confirm",
        "checks": "Health checks",
        "missed_checks": "Checks missed today",
        "tests": "Planned tests",
        "tests_due": "Tests due or overdue",
    },
}


def _text(key: str, **params: Any) -> str:
    return _TEXT.get(current_language(), _TEXT["en"])[key].format(**params)


class _Bar:
    """A progress bar, or nothing when nobody is watching a terminal."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress = progress
        self.task = progress.add_task(_text("writing"), total=total) if progress else None

    def advance(self) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task)

    def saving(self) -> None:
        # The commit (one large fsynced journal entry, then compaction) takes a
        # while at large scales; say so rather than sit on a full bar.
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, description=_text("saving"))


@contextlib.contextmanager
def _progress(console: Console, enabled: bool, total: int) -> Iterator[_Bar]:
    if not enabled:
        yield _Bar(None, total)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        yield _Bar(progress, total)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cycle collector while the bulk of records is written.

    The records are acyclic dicts, so the collector frees nothing, but its full
    passes walk every live object again and again: about 40% of the time at
    ``--scale 20``.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_demo(
    db_path: Location, *, force: bool, scale: int, points: Collection[str] | None = None
) -> int:
    """Write the demo database at ``db_path``; 0 when written, 1 when one is there.
    ``points``: only these points' part of the demo (the benchmarks' smaller stores)."""
    started = time.perf_counter()
    if not force and store_exists(db_path):
        print("isolation-tui: " + _text("exists", path=db_path), file=sys.stderr)
        return 1
    now = datetime.now()
    plan = make_plan(now.date(), scale)
    if points is not None:
        plan = only_points(plan, points)

    console = Console()
    events = with_staff(timeline(plan, now), plan, now)
    # The points were set up the day before the first bus came.
    clock = DemoClock(events[0][0] - timedelta(days=1))
    # Months of history written by the account, as it would have been: not by the
    # person who starts the demo (``--demo --as NAME``), who did none of it.
    actor = replace(current_actor(), on_duty="")
    if not isinstance(db_path, Path):
        # PostgreSQL: one transaction, so a demo stopped midway stores nothing.
        remove_store(db_path)
        store = open_store(db_path, create=True, actor=actor, clock=clock)
        try:
            counts, documents = _write_demo(store, plan, events, clock, now, console, scale)
        finally:
            store.close()
        _summary(console, db_path, counts, documents, time.perf_counter() - started)
        return 0
    # Written elsewhere, then put in place as one file: a demo stopped at any moment
    # leaves nothing at ``db_path`` that a retry would need --force for.
    with tempfile.TemporaryDirectory(prefix="isolation-tui-demo-") as folder:
        store = open_store(Path(folder) / "demo.db", create=True, actor=actor, clock=clock)
        try:
            counts, documents = _write_demo(store, plan, events, clock, now, console, scale)
            try:
                put_in_place(store.db.storage, db_path, replace=force)
            except FileExistsError:
                print("isolation-tui: " + _text("exists", path=db_path), file=sys.stderr)
                return 1
        finally:
            store.close()
    _summary(console, db_path, counts, documents, time.perf_counter() - started)
    return 0


@contextlib.contextmanager
def _records_in_chinese() -> Iterator[None]:
    """The demo is Dandong's records, typed in Chinese: what the program writes into
    them (a draft incident's summary, why a test was replanned) is Chinese too,
    whatever the language of the session that writes the demo."""
    was = current_language()
    set_language("zh")
    try:
        yield
    finally:
        set_language(was)


def _summary(
    console: Console, db_path: Location, counts: dict[str, Any], documents: int, seconds: float
) -> None:
    table = Table(title=_text("title"), show_header=False, box=None, title_justify="left")
    table.add_column(justify="left")
    table.add_column(justify="right")
    for key in (
        "points",
        "beds",
        "received",
        "released_home",
        "transferred",
        "other_exits",
        "in_isolation",
        "due_today",
        "overdue",
        "incidents_handled",
        "incidents_open",
    ):
        table.add_row(t(f"counter.{key}"), str(counts[key]))
    for key in ("incidents_draft", "checks", "missed_checks", "tests", "tests_due"):
        table.add_row(_text(key), str(counts[key]))
    table.add_row(_text("documents"), str(documents))
    table.add_row(_text("seconds"), f"{seconds:.1f} s")
    console.print(table)
    # Unwrapped, so that a long path stays one piece to copy (or to grep for).
    console.print(Text(f"{_text('path')}: {db_path}"), soft_wrap=True)


def _write_demo(
    store: Store,
    plan: Plan,
    events: list[Event],
    clock: DemoClock,
    now: datetime,
    console: Console,
    scale: int,
) -> tuple[dict[str, int], int]:
    """Write ``plan`` into ``store`` in one transaction, each event at its own time;
    the counters and the number of documents written."""
    writer = Writer(store, plan, clock)
    show = console.is_terminal and scale >= PROGRESS_FROM_SCALE
    with (
        _no_gc(),
        _progress(console, show, len(events)) as bar,
        _records_in_chinese(),
        store.transaction(),
    ):
        writer.points()
        for at, _order, _seq, what in events:
            writer.write(at, what)
            bar.advance()
        clock.now = now
        bar.saving()
    counts = store.counters()["*"].as_dict()
    counts["checks"] = len(store.rows("checks"))
    counts["tests"] = sum(1 for test in store.rows("tests").values() if not test.get("voided"))
    documents = sum(len(store.rows(name)) for name in store.db.storage.tables())
    return counts, documents
