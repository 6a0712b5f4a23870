"""The terminal program: four screens (modes) over one store, live counters."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import partial
from typing import ClassVar

from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.content import Content
from textual.filter import LineFilter
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.signal import Signal
from textual.timer import Timer
from textual.widgets._toast import Toast

from .domain.counters import Counters, for_point
from .domain.health import next_boundary
from .domain.supplies import alert as supply_alert
from .headless.compact import BackgroundFolds
from .headless.seal import start_background_seal
from .i18n import t
from .screens.arrivals import ArrivalsScreen
from .screens.base import MainScreen
from .screens.confirm import ConfirmScreen
from .screens.discharges import DischargesScreen
from .screens.handover import HandoverScreen
from .screens.incidents import IncidentsScreen
from .screens.messages import MessagesScreen, Said
from .screens.on_duty import OnDutyScreen
from .screens.overview import OverviewScreen
from .screens.palette import Palette
from .screens.staff import StaffScreen
from .screens.supplies import SuppliesScreen
from .screens.too_small import too_small
from .storage.engine import Changes
from .storage.errors import StoreError, StoreUnavailable
from .storage.repository import Store
from .storage.sealing import default_until
from .storage.tables import DUTY, POINTS
from .widgets.key_order import KeysInOrder
from .widgets.keys import translate_bindings
from .widgets.message_line import one_line
from .widgets.safe_output import ControlCharacterFilter
from .widgets.terminal_input import tolerate_undecodable_input

POLL_SECONDS = 0.25
# The messages F9 shows: a shift's worth.
KEPT_MESSAGES = 200
# A message's line: the screen's width less the mark at its left and its padding.
TOAST_FRAME = 3
# A session looks whether history waits to be sealed this long after it starts
# (after its first frame), then whenever a month turns.
SEAL_LOOK_AFTER = 60.0
tolerate_undecodable_input()


class IsolationApp(KeysInOrder):
    """Run with an open :class:`Store`; ``point`` is the supervisor's own point;
    ``ask_name``: ask at start who is on duty."""

    CSS_PATH = "app.tcss"
    TITLE = "isolation-tui"
    MODES: ClassVar[dict[str, type[Screen[None]]]] = {  # type: ignore[assignment]
        "overview": OverviewScreen,
        "arrivals": ArrivalsScreen,
        "discharges": DischargesScreen,
        "incidents": IncidentsScreen,
        "handover": HandoverScreen,
        "staff": StaffScreen,
        "supplies": SuppliesScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "f1", "go('overview')", "ui.key_overview", id="go.overview", priority=True, show=False
        ),
        Binding(
            "f2", "go('arrivals')", "ui.key_arrivals", id="go.arrivals", priority=True, show=False
        ),
        Binding(
            "f3",
            "go('discharges')",
            "ui.key_discharges",
            id="go.discharges",
            priority=True,
            show=False,
        ),
        Binding(
            "f4",
            "go('incidents')",
            "ui.key_incidents",
            id="go.incidents",
            priority=True,
            show=False,
        ),
        Binding(
            "f5", "go('handover')", "ui.key_handover", id="go.handover", priority=True, show=False
        ),
        Binding("f7", "go('staff')", "ui.key_staff", id="go.staff", priority=True, show=False),
        Binding(
            "f8", "go('supplies')", "ui.key_supplies", id="go.supplies", priority=True, show=False
        ),
        Binding("f9", "messages", "ui.key_messages", id="messages", priority=True, show=False),
        Binding("f6", "toggle_scope", "ui.key_scope", id="scope", priority=True, show=False),
        Binding("ctrl+q", "quit", "ui.key_quit", id="quit", priority=True, show=False),
        Binding(
            "ctrl+p", "command_palette", "ui.key_palette", id="palette", priority=True, show=False
        ),
    ]

    def __init__(self, store: Store, point: str | None = None, ask_name: bool = False) -> None:
        super().__init__()
        translate_bindings(self)
        self.store = store
        self.ask_name = ask_name
        self._safe_output = ControlCharacterFilter()
        points = store.points()
        # Without --point the bar shows the whole city; F1 then enter picks a point.
        self.all_points = point not in points
        # Without --point, the round and the forms start at a point with people in it.
        busy = [code for code in points if store.open_stays(code)]
        self.point: str | None = point if point in points else next(iter(busy or points), None)
        self.counters: dict[str, Counters] = {}
        self.data_changed: Signal[frozenset[str]] = Signal(self, "data_changed")
        self.animation_level = "none"
        self._pending: set[str] = set()
        # When the link to the database went down (by the store's clock), or None.
        self.link_down_since: datetime | None = None
        # The database went bad under this session: it reads no more, writes nothing.
        self.store_failed = False
        # Every message of this session, whole, newest last: the F-key line shows one
        # line of the newest; F9 shows them all.
        self.said: list[Said] = []
        # The month before which history was last looked at to be sealed, and the
        # process sealing it (kept to be reaped).
        self._sealed_before = ""
        self.sealer: subprocess.Popen[bytes] | None = None
        # A save that takes the journal over the compaction line has it folded in a
        # process of its own: no save and no frame waits for a compaction.
        self.folds = BackgroundFolds(store)
        store.db.storage.add_listener(self._on_store_change)

    def get_line_filters(self) -> Sequence[LineFilter]:
        return [*super().get_line_filters(), self._safe_output]

    # ------------------------------------------------------------------ live data

    async def on_mount(self) -> None:
        self._recount()
        self._boundary_timer = self._wait_for_boundary()
        await self.switch_mode("overview")
        # Reading others' commits and reconnecting never hold up the screen.
        self.store.db.storage.follow_in_background()
        self._poller = self.set_interval(POLL_SECONDS, self._poll)
        self.set_timer(SEAL_LOOK_AFTER, self.seal_when_due)
        # A journal left over the line (its writer was killed before folding it).
        self.folds.if_over_the_line()
        if self.ask_name:
            await self.push_screen(OnDutyScreen(self.store.actor.os_user), self.set_on_duty)

    def set_on_duty(self, name: str | None) -> None:
        """From now on this session's changes name ``name`` beside the OS account."""
        if name:
            self.store.actor = dataclasses.replace(self.store.actor, on_duty=name)
            self.data_changed.publish(frozenset())

    def _wait_for_boundary(self) -> Timer:
        """Counters change with the clock too (a round over at 10:00 makes its
        unchecked people missed; midnight makes tomorrow's releases due today). One
        timer waits for the next such moment, which the domain names, by the store's
        clock (so a test, or a clock set right, moves it). Someone on duty going over
        their point's limit is such a moment too."""
        now = self.store.clock()
        flag = self.store.staff.next_flag(now)
        self._boundary = min(next_boundary(now), flag) if flag else next_boundary(now)
        return self.set_timer((self._boundary - now).total_seconds(), self._at_boundary)

    def seal_when_due(self) -> None:
        """Once a month has turned (and at start): when the live set holds history
        finished before the months kept live, seal it in a process of its own (see
        ``start_background_seal``); this session reads the result as it reads any
        other session's work."""
        until = default_until(self.store.clock().date())
        if until == self._sealed_before:
            return
        self._sealed_before = until
        if self.sealer is not None and self.sealer.poll() is None:
            return  # still at it (a session left open for months)
        self.sealer = start_background_seal(self.store, until)

    def _at_boundary(self) -> None:
        """Recount once at the moment, with no write needed."""
        if self.store.clock() >= self._boundary:
            self._recount()
            self.data_changed.publish(frozenset({"*"}))
            self.seal_when_due()
        # Else the timer woke early (the event loop's clock drifts from the wall
        # clock): wait on for the same moment.
        self._boundary_timer = self._wait_for_boundary()

    def _poll(self) -> None:
        if self.store.clock() >= self._boundary:
            # The clock jumped past the moment (a machine resumed from sleep, a clock
            # set right): one comparison per poll, the recount only then.
            self._boundary_timer.stop()
            self._at_boundary()
        try:
            self.store.refresh()
        except StoreUnavailable as exc:
            # The database server is away: say so once and on the counter bar, keep
            # polling (the store reconnects by itself), and say so when it is back.
            if self.link_down_since is None:
                self.link_down_since = self.store.clock()
                self.notify(str(exc), severity="warning", timeout=3600, markup=False)
                self.data_changed.publish(frozenset())
            return
        except StoreError as exc:
            # The files went bad under us (damage, a disk gone): stop reading them,
            # change nothing more, and keep what is on screen for the supervisor.
            self._poller.stop()
            self.store.db.storage.read_only = True
            self.store_failed = True
            self.data_changed.publish(frozenset())
            self.notify(
                f"{exc}\n{t('ui.store_failed')}", severity="error", timeout=3600, markup=False
            )
            return
        if self.link_down_since is not None:
            self.link_down_since = None
            self.clear_notifications()
            self.notify(t("ui.store_back"), markup=False)
            self.data_changed.publish(frozenset())

    def _on_store_change(self, changes: Changes) -> None:
        """Called for every staged document too: coalesce a burst into one recount."""
        first = not self._pending
        self._pending |= changes.tables() or {"*"}
        if first:
            self.call_later(self._apply_changes)

    def apply_changes_now(self) -> None:
        """After this session's own save: the counters change at once."""
        self._apply_changes()

    def _apply_changes(self) -> None:
        if not self._pending:
            return
        if self.store.db.storage.in_transaction:
            self.call_later(self._apply_changes)
            return
        tables = frozenset(self._pending)
        self._pending.clear()
        self._recount()
        if tables & {DUTY, POINTS, "*"}:
            # Someone went on duty (or a period or a limit changed): the next moment
            # someone goes over the limit may now come before the one waited for.
            self._boundary_timer.stop()
            self._boundary_timer = self._wait_for_boundary()
        self.data_changed.publish(tables)

    def _recount(self) -> None:
        self.counters = self.store.counters()

    @property
    def scope_counters(self) -> Counters:
        return for_point(self.counters, None if self.all_points else self.point)

    @property
    def scope_label(self) -> str:
        if self.all_points or self.point is None:
            return t("ui.scope_all", count=len(self.store.points()))
        point = self.store.point(self.point)
        return point["name"] if point else self.point

    def alerts(self) -> list[str]:
        """The flags the counter bar shows beside the people on duty, for the scope
        shown: the ways to say them, the longest first."""
        point = None if self.all_points else self.point
        return supply_alert(self.store.supplies.short(point), with_point=point is None)

    def set_point(self, code: str) -> None:
        self.point = code
        self.all_points = False
        self.data_changed.publish(frozenset({"*"}))

    # ------------------------------------------------------------------ actions

    async def action_go(self, mode: str) -> None:
        """Bring ``mode``'s main view: the views opened over the screen in front (the
        round, tests due…) close when it is left, so a key there can never act
        unseen later; text typed in one is discarded only when the user says so.
        Forms stay open on their screen."""
        if too_small(self.size):
            return
        views = self._views_in_front()

        async def go() -> None:
            for _ in views:
                await self.pop_screen()
            if mode != self.current_mode:
                await self.switch_mode(mode)

        if not any(view.has_unsaved() for view in views):
            await go()
            return

        async def answered(discard: bool | None) -> None:
            if discard:
                await go()

        await self.push_screen(ConfirmScreen(t("ui.discard_question")), answered)

    def _views_in_front(self) -> list[MainScreen]:
        """The views over the current mode's main screen, from the top down to the
        first form (or the main screen)."""
        views: list[MainScreen] = []
        for screen in reversed(self.screen_stack[1:]):
            if not (isinstance(screen, MainScreen) and screen.closes_on_leave):
                break
            views.append(screen)
        return views

    def action_toggle_scope(self) -> None:
        if self.point is None:
            return
        self.all_points = not self.all_points
        self.data_changed.publish(frozenset({"*"}))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for mode in self.MODES:
            yield SystemCommand(
                t(f"ui.title_{mode}"), t(f"ui.help_{mode}"), lambda m=mode: self.action_go(m)
            )
        yield SystemCommand(t("ui.key_scope"), t("ui.help_scope"), self.action_toggle_scope)
        yield SystemCommand(t("ui.key_messages"), t("ui.help_messages"), self.action_messages)
        for mode, screen_class in self.MODES.items():
            for name, help_key, action in screen_class.PALETTE:
                where = t(f"ui.title_{mode}")
                yield SystemCommand(
                    f"{t(name)} ({where})", t(help_key), partial(self._run_in_mode, mode, action)
                )
        # A screen opened over a mode (the round, tests due…): its own actions too.
        if screen not in (stack[0] for stack in self._screen_stacks.values() if stack):
            for name, help_key, action in getattr(screen, "PALETTE", ()):
                yield SystemCommand(t(name), t(help_key), partial(screen.run_action, action))
        yield SystemCommand(t("ui.key_quit"), t("ui.help_quit"), self.action_quit)

    async def _run_in_mode(self, mode: str, action: str) -> None:
        """A palette command from any screen: go to its screen, then do it there."""
        await self.action_go(mode)
        if isinstance(self.screen, ConfirmScreen):
            return  # asked first about text typed in a view; the answer decides
        base = self._screen_stacks[mode][0]
        await base.run_action(action)

    async def action_quit(self) -> None:
        """Ask first when a form, on any screen, holds something typed and not saved."""
        typed = any(
            isinstance(screen, MainScreen) and screen.has_unsaved()
            for stack in self._screen_stacks.values()
            for screen in stack
        )
        if not typed:
            self.exit()
            return

        def answered(quit_anyway: bool | None) -> None:
            if quit_anyway:
                self.exit()

        await self.push_screen(ConfirmScreen(t("ui.quit_question")), answered)

    def action_command_palette(self) -> None:
        if not CommandPalette.is_open(self):
            self.push_screen(
                Palette(placeholder=t("ui.palette_placeholder"), id="--command-palette")
            )

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """One message at a time on the F-key line, one line high: a new message
        replaces the one shown, even a lasting one (the link down: the counter bar says
        that for as long as it lasts). A message longer than the line shows its start,
        cut where a line may break, and says that F9 shows it whole."""
        if markup:
            message = Content.from_markup(message).plain
        if title:
            message = f"{title}: {message}"
        said = Said(self.store.clock(), severity, message)
        self.said = [*self.said[-(KEPT_MESSAGES - 1) :], said]
        for shown in list(self._notifications):
            self._unnotify(shown, refresh=False)
        for toast in self.screen.query(Toast) if self.screen_stack else ():
            # Its holder too, or the empty holder keeps the old message's line.
            if toast.parent is not None:
                toast.parent.remove()
        line, _ = one_line(message, self.size.width - TOAST_FRAME, t("ui.more_in_messages"))
        super().notify(line, severity=severity, timeout=timeout, markup=False)
        if isinstance(self.screen, MessagesScreen):
            self.screen.reload()

    def lasting_state(self) -> str:
        """What holds for as long as it lasts, said on the counter bar's top line."""
        if self.store_failed:
            return t("ui.store_failed_line")
        if self.link_down_since is not None:
            return t("ui.link_down", time=f"{self.link_down_since:%H:%M}")
        return ""

    async def action_messages(self) -> None:
        """This session's messages, whole, newest first, over the screen in front."""
        if too_small(self.size) or not isinstance(self.screen, MainScreen):
            return
        if isinstance(self.screen, MessagesScreen):
            return
        self.clear_notifications()  # read whole below: its line and hint are done with
        await self.push_screen(MessagesScreen(self.current_mode))

    def refuse_if_read_only(self) -> bool:
        """True (and a message) when this session may not write."""
        if self.store.read_only:
            self.notify(t("ui.read_only"), severity="warning")
            return True
        return False
