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
    def __init__(self, current: str) -> None:
        super().__init__(id="mode-tabs")
        self.current = current

    def on_mount(self) -> None:
        # Two spaces between tabs and none around them: the English line is exactly 80.
        text = Text(no_wrap=True, overflow="ellipsis")
        for key, mode in MODES:
            style = "reverse bold" if mode == self.current else ""
            text.append(f"{key} {t(f'ui.title_{mode}')}", style=style)
            text.append("  ")
        text.append(f"F6 {t('ui.key_scope')}", style="dim")
        self.update(text)
