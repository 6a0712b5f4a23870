"""Shown instead of a garbled layout when the terminal is below 80×24."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.screen import ModalScreen
from textual.widgets import Static

from ..i18n import t

MIN_WIDTH, MIN_HEIGHT = 80, 24


class TooSmallScreen(ModalScreen[None]):
    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Static(
                t("ui.too_small", width=MIN_WIDTH, height=MIN_HEIGHT),
                id="too-small",
                markup=False,
            )
