"""A short form for one action on one record: extend, void, add an action, close…"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..widgets.form import FieldSpec
from .base import FormScreen

Save = Callable[[dict[str, str]], str]
Ask = Callable[[dict[str, str]], tuple[str, dict[str, str], str] | None]


class PromptFormScreen(FormScreen):
    """``save`` gets the fields' text and returns the message to show; ``context``
    is what the person must read before answering (shown above the fields, scrolled
    when long: tab goes into it); ``ask``, a question to answer before saving (as
    :meth:`FormScreen.confirm_first`)."""

    def __init__(
        self,
        mode_name: str,
        title: str,
        specs: Sequence[FieldSpec],
        save: Save,
        values: dict[str, str] | None = None,
        context: RenderableType | None = None,
        ask: Ask | None = None,
    ) -> None:
        self.mode_name = mode_name
        super().__init__()
        self._read_first = context
        self._ask = ask
        self._title = title
        self._specs = list(specs)
        self._save = save
        self._values = dict(values or {})

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            yield widget
            if widget.id == "screen-title" and self._read_first is not None:
                self.add_class("-with-context")
                with VerticalScroll(id="prompt-context"):
                    yield Static(self._read_first, id="prompt-context-text")

    def heading(self) -> str:
        return self._title

    def specs(self) -> Sequence[FieldSpec]:
        return self._specs

    def initial_values(self) -> dict[str, str]:
        return self._values

    def confirm_first(self, values: dict[str, str]) -> tuple[str, dict[str, str], str] | None:
        return self._ask(values) if self._ask is not None else None

    def save(self, values: dict[str, str]) -> str:
        return self._save(values)
