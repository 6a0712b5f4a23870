"""This session's messages, whole and newest first (F9): the F-key line shows only
one line of the newest, and a long one (a file's full path, the steps after a
failure) is read here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.notifications import SeverityLevel
from textual.widgets import Static

from ..i18n import t
from .base import MainScreen

SEVERITY_STYLE = {"information": "", "warning": "bold", "error": "bold red"}


@dataclass(frozen=True)
class Said:
    """One message as it was said."""

    at: datetime
    severity: SeverityLevel
    message: str


class MessagesScreen(MainScreen):
    closes_on_leave = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "ui.key_back"),
    ]

    def __init__(self, mode_name: str) -> None:
        self.mode_name = mode_name
        super().__init__()

    def compose_body(self) -> ComposeResult:
        yield Static(t("ui.title_messages"), id="screen-title", markup=False)
        with VerticalScroll(id="detail"):
            yield Static(id="messages-text", markup=False)

    def focus_first(self) -> None:
        self.query_one("#detail").focus()

    def reload(self) -> None:
        text = Text()
        for entry in reversed(self.iso_app.said):
            text.append(f"{entry.at:%H:%M:%S} ", style="dim")
            text.append(f"{entry.message}\n", style=SEVERITY_STYLE.get(entry.severity, ""))
        self.query_one("#messages-text", Static).update(text or t("ui.no_messages"))

    def action_back(self) -> None:
        self.dismiss()
