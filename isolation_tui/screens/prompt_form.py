"""A short form for one action on one record: extend, void, add an action, close…"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..widgets.form import FieldSpec
from .base import FormScreen

Save = Callable[[dict[str, str]], str]


class PromptFormScreen(FormScreen):
    """``save`` gets the fields' text and returns the message to show."""

    def __init__(
        self,
        mode_name: str,
        title: str,
        specs: Sequence[FieldSpec],
        save: Save,
        values: dict[str, str] | None = None,
    ) -> None:
        self.mode_name = mode_name
        super().__init__()
        self._title = title
        self._specs = list(specs)
        self._save = save
        self._values = dict(values or {})

    def heading(self) -> str:
        return self._title

    def specs(self) -> Sequence[FieldSpec]:
        return self._specs

    def initial_values(self) -> dict[str, str]:
        return self._values

    def save(self, values: dict[str, str]) -> str:
        return self._save(values)
