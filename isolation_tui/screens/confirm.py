"""A yes/no question over the current screen: y is yes; n or escape is no.

Enter answers nothing: in the bus rhythm (name ↵ ID ↵ phone ↵) it is pressed out of
habit, and a question that stores a shared room or discards typed text must be
answered on purpose. It rings instead."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ..i18n import t
from ..widgets.keys import translate_bindings


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "ui.key_yes"),
        Binding("n,escape", "answer(False)", "ui.key_no"),
        Binding("enter", "unanswered", show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        translate_bindings(self)
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self.question, markup=False)
            yield Static(t("ui.yes_no"), classes="dim", markup=False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def action_unanswered(self) -> None:
        self.app.bell()
