"""Demo data: Dandong's 32 isolation points in spring 2022, as the seed article tells it.

The article reports 10 border points and 22 county-level points, 1371 people
received from abroad, 1186 released home after isolation and 11 emergencies
handled; the demo reproduces exactly those counters, with the
rest of the people still in isolation or transferred, a few incidents still open,
some releases due today and some overdue. ``--scale N`` puts N - 1 earlier periods
of history before it, finished and sealed (a point that has run N times as long).

Everyone is checked in two rounds a day (about 38,000 checks at scale 1: a few
missed or refused, a few fevers) and tested on the planned days. Everyone released
home has a negative last test, the two positives went to hospital, and the people
still in isolation have their past tests negative and the rest pending (but for a
few held past their release date on a retest). A fever or a positive opens a draft
incident, as it would for a supervisor: the real ones were confirmed and handled,
false alarms dismissed, and yesterday afternoon's still waits to be confirmed.

The data is planned first (pure, seeded, dates relative to today), then written
through the :class:`Store` API (today's period in one transaction, an earlier one a
month at a time, sealed as it goes), so every rule is checked and
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
import itertools
import sys
import time
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
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
from ..storage.index import MARKS
from ..storage.repository import Store, open_store
from ..storage.sealing import default_until, seal_history
from ..storage.tables import CHECKS, TESTS
from .demo_folder import demo_folder
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
    periods = _periods(now, scale, points)
    first = next(periods)
    periods = itertools.chain([first], periods)
    console = Console()
    # The points were set up the day before the first bus came.
    clock = DemoClock(first[1][0][0] - timedelta(days=1))
    # Months of history written by the account, as it would have been: not by the
    # person who starts the demo (``--demo --as NAME``), who did none of it.
    actor = replace(current_actor(), on_duty="")
    show = console.is_terminal and scale >= PROGRESS_FROM_SCALE
    if not isinstance(db_path, Path):
        # PostgreSQL: one transaction, so a demo stopped midway stores nothing (and
        # nothing to seal: its history is rows the server reads by query).
        remove_store(db_path)
        writer = _DemoWriter(
            open_store(db_path, create=True, actor=actor, clock=clock), clock, now, seal=False
        )
        try:
            # The commit too, with the collector paused: it walks every record.
            with (
                _no_gc(),
                _progress(console, show, scale) as writer.bar,
                writer.store.transaction(),
            ):
                writer.write_all(periods)
            counts, documents = writer.summary()
        finally:
            writer.store.close()
        _summary(console, db_path, counts, documents, time.perf_counter() - started)
        return 0
    # Written elsewhere, then put in place as one file (and its sealed history): a
    # demo stopped at any moment leaves nothing at ``db_path`` that a retry would
    # need --force for.
    with demo_folder() as folder:
        store = open_store(folder / "demo.db", create=True, actor=actor, clock=clock)
        writer = _DemoWriter(store, clock, now, seal=True)
        try:
            with _progress(console, show, scale) as writer.bar:
                writer.write_all(periods)
            counts, documents = writer.summary()
            try:
                put_in_place(writer.store.db.storage, db_path, replace=force)
            except FileExistsError:
                print("isolation-tui: " + _text("exists", path=db_path), file=sys.stderr)
                return 1
        finally:
            writer.store.close()
    _summary(console, db_path, counts, documents, time.perf_counter() - started)
    return 0


Period = tuple[Plan, list[Event], bool]
"""A period's plan, its events, and whether it is an earlier one (history)."""


def _periods(now: datetime, scale: int, points: Collection[str] | None) -> Iterator[Period]:
    """The periods of the demo, oldest first, each planned only when its turn comes:
    ``scale - 1`` earlier ones run to their end (history), then today's."""
    for period in range(scale - 1, 0, -1):
        plan = make_plan(now.date(), period)
        if points is not None:
            plan = only_points(plan, points)
        end = max(event[0] for event in plan.events) + timedelta(days=1)
        yield plan, timeline(plan, end, supplies=False), True
    plan = make_plan(now.date())
    if points is not None:
        plan = only_points(plan, points)
    yield plan, with_staff(timeline(plan, now), plan, now), False


class _DemoWriter:
    """Writes the periods through the Store, each event at its own time. Today's
    period is one transaction; an earlier one a transaction a month, its history
    sealed when the month after next begins (``seal``, as a point's monthly seal
    would) and the store opened again, so that memory holds the live set only."""

    def __init__(self, store: Store, clock: DemoClock, now: datetime, *, seal: bool) -> None:
        self.store = store
        self.clock = clock
        self.now = now
        self.bar = _Bar(None, 0)
        self.seal = seal
        # What sealed history holds, counted before each seal (it is out of memory).
        self.sealed: Counter[str] = Counter()

    def write_all(self, periods: Iterator[Period]) -> None:
        first = True
        for plan, events, history in periods:
            writer = Writer(self.store, plan, self.clock)
            past = history and self.seal
            with _no_gc(), _records_in_chinese():
                for month, chunk in _by_month(events) if past else [("", events)]:
                    if month:
                        self._seal(default_until(date.fromisoformat(month + "-01")), writer)
                    with self.store.transaction():
                        if first:
                            writer.points()
                            first = False
                        for at, _order, _seq, what in chunk:
                            writer.write(at, what)
                        if not history:
                            self.clock.now = self.now
                            self.bar.saving()
                if past:
                    # All of it: today's period is not written yet.
                    self._seal(_month_after(events[-1][0].date()), writer)
            self.bar.advance()
            del writer, events, plan
            gc.collect()

    def _seal(self, until: str, writer: Writer) -> None:
        before = _live_tally(self.store)
        if not seal_history(self.store.db.storage, until, MARKS):
            return
        self.sealed += before
        self.sealed -= _live_tally(self.store)
        # Opened again, the store holds only the live set (a store that had
        # nothing sealed holds all of it, and keeps what it seals in memory).
        storage = self.store.db.storage
        self.store.close()
        self.store = open_store(storage.path, actor=self.store.actor, clock=self.clock)
        writer.store = self.store
        # The store just closed is cyclic garbage, and the collector is paused.
        gc.collect()

    def summary(self) -> tuple[dict[str, int], int]:
        """The counters, and the checks, tests and documents written."""
        counts = self.store.counters()["*"].as_dict()
        written = self.sealed + _live_tally(self.store)
        counts["checks"] = written["checks"]
        counts["tests"] = written["tests"]
        return counts, written["documents"]


def _live_tally(store: Store) -> Counter[str]:
    """Checks, tests not voided and documents in memory."""
    live = store.db.storage.live_tables()
    return Counter(
        checks=len(live.get(CHECKS, {})),
        tests=sum(1 for test in live.get(TESTS, {}).values() if not test.get("voided")),
        documents=sum(len(rows) for rows in live.values()),
    )


def _by_month(events: list[Event]) -> Iterator[tuple[str, list[Event]]]:
    """The events in runs of one month each (in time order, as they are)."""
    month, chunk = "", []
    for event in events:
        at = f"{event[0]:%Y-%m}"
        if at != month and chunk:
            yield month, chunk
            chunk = []
        month = at
        chunk.append(event)
    if chunk:
        yield month, chunk


def _month_after(day: date) -> str:
    return f"{day.year + day.month // 12:04d}-{day.month % 12 + 1:02d}"


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
