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
    ("F7", "staff"),
)


class ModeTabs(Static):
    """F1–F5 with the screen in front marked; at the right end, the person on duty
    when one is named, then whose counters the bar shows (this point or all points),
    which F6 switches.

    Over a view or a form (``over``) the mode's tab is only underlined: the title line
    below names what is in front, and the tab must not claim the mode's list is."""

    def __init__(self, current: str, read_only: bool = False, over: bool = False) -> None:
        super().__init__(id="mode-tabs")
        self.current = current
        self.read_only = read_only
        self.over = over
        self.scope = ""
        self.short = ""
        self.on_duty = ""

    def show_scope(self, scope: str, short: str = "", on_duty: str = "") -> None:
        if (scope, short, on_duty) != (self.scope, self.short, self.on_duty):
            self.scope, self.short, self.on_duty = scope, short, on_duty
            self._draw()

    def on_mount(self) -> None:
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _end(self, scope: str, padded: bool = True) -> Text:
        """The READ-ONLY badge, said on every screen, the person on duty, then
        "F6 <scope>"."""
        end = Text(no_wrap=True, overflow="ellipsis")
        if self.read_only:
            end.append(t("ui.read_only_badge"), style="bold reverse")
            end.append(" ")
        if self.on_duty:
            badge = t("ui.on_duty_badge", name=self.on_duty)
            end.append(badge if padded else badge.strip(), style="reverse")
            end.append(" ")
        end.append("F6 ", style="dim")
        end.append(scope or t("ui.key_scope"), style="bold")
        return end

    def _draw(self) -> None:
        width = self.size.width or self.app.size.width
        full = [(f"{key} {t(f'ui.title_{mode}')}", mode == self.current) for key, mode in MODES]
        # What gives way first, never cutting a word: the gap between tabs, the
        # room around the name on duty, the scope's long name (a point's code, "All",
        # instead), then the names of the tabs not in front one by one from the right
        # (their keys stay): as many whole names as the line has room for.
        variants = [full]
        for index in reversed(range(len(MODES))):
            _, current = variants[-1][index]
            if not current:
                shorter = list(variants[-1])
                shorter[index] = (MODES[index][0], current)
                variants.append(shorter)
        scopes = [scope for scope in dict.fromkeys((self.scope, self.short)) if scope]
        choices = [
            (tabs, self._end(scope, padded), gap)
            for tabs in variants
            for scope in scopes or [""]
            for padded in (True, False)
            for gap in ("  ", " ")
        ]
        tabs, end, gap = next(
            (
                (tabs, end, gap)
                for tabs, end, gap in choices
                if sum(cell_len(label) for label, _ in tabs) + len(gap) * len(tabs) + end.cell_len
                <= width
            ),
            choices[-1],
        )
        current_style = "underline bold" if self.over else "reverse bold"
        text = Text(no_wrap=True, overflow="ellipsis")
        for label, current in tabs:
            text.append(label, style=current_style if current else "")
            text.append(gap)
        room = width - text.cell_len
        if room > 3:
            if end.cell_len > room:
                end.truncate(room, overflow="ellipsis")
            text.append(" " * (room - end.cell_len))
            text.append_text(end)
        self.update(text)
