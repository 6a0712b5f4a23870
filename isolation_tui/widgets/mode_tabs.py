"""The F-key line: where each screen is, and which one is in front."""

from __future__ import annotations

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
    def __init__(self, current: str, read_only: bool = False) -> None:
        super().__init__(id="mode-tabs")
        self.current = current
        self.read_only = read_only

    def on_mount(self) -> None:
        # Two spaces between tabs and none around them: the English line is exactly 80.
        text = Text(no_wrap=True, overflow="ellipsis")
        for key, mode in MODES:
            style = "reverse bold" if mode == self.current else ""
            text.append(f"{key} {t(f'ui.title_{mode}')}", style=style)
            text.append("  ")
        if self.read_only:
            # Said on every screen, where the F6 hint would be: nothing here can be changed.
            text.append(t("ui.read_only_badge"), style="bold reverse")
        else:
            text.append(f"F6 {t('ui.key_scope')}", style="dim")
        self.update(text)
