"""Shown instead of a garbled layout when the terminal is below 80×24."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.widgets import Static

from ..i18n import t

MIN_WIDTH, MIN_HEIGHT = 80, 24


def too_small(size: Size) -> bool:
    return size.width < MIN_WIDTH or size.height < MIN_HEIGHT


class TooSmallScreen(ModalScreen[None]):
    """Pushed by a screen that finds itself too small; leaves when the window grows."""

    def on_resize(self, event: events.Resize) -> None:
        if not too_small(event.size) and self.is_current:
            self.dismiss()

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static(
                t("ui.too_small", width=MIN_WIDTH, height=MIN_HEIGHT),
                id="too-small",
                markup=False,
            )
