"""The F-key line: where each screen is, and which one is in front."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from ..i18n import t

MODES = (
    ("F1", "overview"),
    ("F2", "arrivals"),
    ("F3", "discharges"),
    ("F4", "incidents"),
    ("F5", "handover"),
)


class ModeTabs(Static):
    """F1–F5 with the screen in front marked; at the right end, the person on duty
    when one is named, then whose counters the bar shows (this point or all points),
    which F6 switches."""

    def __init__(self, current: str, read_only: bool = False) -> None:
        super().__init__(id="mode-tabs")
        self.current = current
        self.read_only = read_only
        self.scope = ""
        self.on_duty = ""

    def show_scope(self, scope: str, on_duty: str = "") -> None:
        if (scope, on_duty) != (self.scope, self.on_duty):
            self.scope, self.on_duty = scope, on_duty
            self._draw()

    def on_mount(self) -> None:
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width = self.size.width or self.app.size.width
        tabs = [(f"{key} {t(f'ui.title_{mode}')}", mode == self.current) for key, mode in MODES]
        # The end: the READ-ONLY badge, said on every screen, the person on duty, then
        # "F6 <scope>".
        badge = t("ui.read_only_badge") if self.read_only else ""
        end = Text(no_wrap=True, overflow="ellipsis")
        if badge:
            end.append(badge, style="bold reverse")
            end.append(" ")
        if self.on_duty:
            end.append(t("ui.on_duty_badge", name=self.on_duty), style="reverse")
            end.append(" ")
        end.append("F6 ", style="dim")
        end.append(self.scope or t("ui.key_scope"), style="bold")
        # Two spaces between tabs where there is room, else one; the scope name is
        # cut (…) before the name on duty, and that before any tab.
        gap = "  "
        length = sum(cell_len(label) for label, _ in tabs)
        if length + 2 * len(tabs) + min(end.cell_len, 16) > width:
            gap = " "
        text = Text(no_wrap=True, overflow="ellipsis")
        for label, current in tabs:
            text.append(label, style="reverse bold" if current else "")
            text.append(gap)
        room = width - text.cell_len
        if room > 3:
            if end.cell_len > room:
                end.truncate(room, overflow="ellipsis")
            text.append(" " * (room - end.cell_len))
            text.append_text(end)
        self.update(text)
