"""At start, when configured: who is on duty (one OS account may serve a whole point)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ..domain.errors import FieldError
from ..domain.identity import ON_DUTY_MAX, on_duty_name
from ..i18n import t
from ..widgets.form import TextField
from ..widgets.keys import translate_bindings


class OnDutyScreen(ModalScreen[str | None]):
    """Returns the name given, or None (escape: changes name the account only)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "skip", "ui.key_cancel")]

    def __init__(self, account: str) -> None:
        super().__init__()
        translate_bindings(self)
        self.account = account

    def compose(self) -> ComposeResult:
        with Vertical(id="on-duty-box"):
            yield Static(t("ui.on_duty_question", account=self.account), markup=False)
            yield TextField(max_length=ON_DUTY_MAX, id="on-duty-name")
            yield Static("", id="on-duty-error", markup=False)
            yield Static(t("ui.on_duty_hint"), classes="dim", markup=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            name = on_duty_name(event.value)
        except FieldError as exc:
            self.query_one("#on-duty-error", Static).update(f"{t('field.on_duty')}: {exc.message}")
            return
        self.dismiss(name)

    def action_skip(self) -> None:
        self.dismiss(None)
