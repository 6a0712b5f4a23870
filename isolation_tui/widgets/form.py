"""A keyboard-first form: one row per field, the error beside it, enter moves on.

Fields are named by the domain's English field names, so what the form returns
goes straight to the rules, and the rules' errors come straight back to the field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static
from textual.widgets._select import SelectOverlay

from ..domain.codes import CodeSet
from ..domain.errors import FieldError
from ..domain.rules import strip_controls
from ..i18n import t
from .keys import translate_bindings

Options = Sequence[tuple[str, str]]
# The width of a field (as in the style sheet), and the most a choice may take at 80
# columns beside an 18-column label.
CONTROL_WIDTH = 28
CHOICE_MAX_WIDTH = 40


@dataclass(frozen=True)
class FieldSpec:
    """One field: ``name`` is the domain field; choices come from a code set or a
    function (for lists that change, like free rooms)."""

    name: str
    codes: CodeSet | None = None
    options: Callable[[], Options] | None = None
    sticky: bool = False
    blank_label: str = ""
    hint: str = ""
    max_length: int = 200
    default: str = ""

    @property
    def is_choice(self) -> bool:
        return self.codes is not None or self.options is not None

    def choices(self) -> list[tuple[Text, str]]:
        """Each choice's label as plain Text: a point or room named ``a[/]b`` is a name,
        not markup (Select reads plain strings as markup)."""
        if self.options is not None:
            pairs = self.options()
        else:
            assert self.codes is not None
            pairs = [(self.codes.label(code), code) for code in self.codes.codes]
        return [(Text(label), value) for label, value in pairs]


class ChoiceField(Select[str]):
    """A compact select. Enter keeps the choice and moves on (the form does that, as in
    every field); space or an arrow key opens the list, and choosing from it moves on."""

    def on_mount(self) -> None:
        # The open list's keys show in the footer: in the user's language.
        translate_bindings(self.query_one(SelectOverlay))

    @on(SelectOverlay.UpdateSelection)
    def _choose_and_move_on(self, event: SelectOverlay.UpdateSelection) -> None:
        event.stop()
        event.prevent_default()
        value = self._options[event.option_index][1]
        if value != self.value:
            self.value = value
        self.expanded = False
        self.focus()
        self.call_after_refresh(self.screen.focus_next)


class TextField(Input):
    """Text as typed, without control characters (they would corrupt the terminal).

    The cursor does not blink: over SSH every blink is bytes on a weak link.
    """

    def on_mount(self) -> None:
        self.cursor_blink = False

    def insert_text_at_cursor(self, text: str) -> None:
        super().insert_text_at_cursor(strip_controls(text))


class FieldRow(Horizontal):
    def __init__(self, spec: FieldSpec, value: str) -> None:
        super().__init__(classes="field-row", id=f"row-{spec.name}")
        self.spec = spec
        self.initial = value

    def on_descendant_focus(self) -> None:
        # Marked by hand: the label beside the cursor must always be the one lit.
        self.add_class("-current")

    def on_descendant_blur(self) -> None:
        self.remove_class("-current")

    def compose(self) -> ComposeResult:
        yield Label(t(f"field.{self.spec.name}"), classes="field-label", markup=False)
        if self.spec.is_choice:
            options = list(self.spec.choices())
            values = {v for _, v in options}
            choice = ChoiceField(
                options,
                value=self.initial if self.initial in values else Select.NULL,
                allow_blank=bool(self.spec.blank_label) or self.initial not in values,
                prompt=t(self.spec.blank_label) if self.spec.blank_label else "—",
                compact=True,
                id=f"field-{self.spec.name}",
                classes="field-control",
            )
            # As wide as its longest choice (a point's full name), up to what leaves
            # the message column room: a choice is read whole, not cut.
            longest = max((label.cell_len for label, _ in options), default=0)
            choice.styles.width = min(CHOICE_MAX_WIDTH, max(CONTROL_WIDTH, longest + 4))
            yield choice
        else:
            yield TextField(
                value=self.initial,
                placeholder=t(self.spec.hint) if self.spec.hint else "",
                compact=True,
                max_length=self.spec.max_length,
                id=f"field-{self.spec.name}",
                classes="field-control",
            )
        yield Static("", classes="field-error", id=f"error-{self.spec.name}", markup=False)

    @property
    def control(self) -> Widget:
        return self.query_one(".field-control")

    def value(self) -> str:
        control = self.control
        if isinstance(control, Select):
            return "" if control.value is Select.NULL else str(control.value)
        assert isinstance(control, Input)
        return control.value

    def set_value(self, value: str) -> None:
        control = self.control
        if isinstance(control, Select):
            if value in {v for _, v in control._options}:
                control.value = value
            elif control._allow_blank:
                control.clear()
        else:
            assert isinstance(control, Input)
            control.value = value

    def refresh_options(self) -> None:
        control = self.control
        if isinstance(control, Select) and not control.expanded:
            current = self.value()
            options = list(self.spec.choices())
            control.set_options(options)
            if current in {v for _, v in options}:
                control.value = current

    def show_error(self, message: str, hint: bool = False) -> None:
        error = self.query_one(".field-error", Static)
        error.update(message)
        error.set_class(bool(message) and not hint, "-error")
        error.set_class(hint, "-hint")


class RecordForm(VerticalScroll, can_focus=False):
    """The fields of one record. ``values()`` gives text by field name."""

    def __init__(self, specs: Sequence[FieldSpec], values: dict[str, str], **kwargs: str) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.specs = list(specs)
        self._initial = {spec.name: spec.default for spec in self.specs} | values

    def compose(self) -> ComposeResult:
        for spec in self.specs:
            yield FieldRow(spec, self._initial.get(spec.name, ""))

    def rows(self) -> Iterable[FieldRow]:
        return self.query(FieldRow)

    def row(self, name: str) -> FieldRow:
        return self.query_one(f"#row-{name}", FieldRow)

    async def settled(self) -> None:
        """Wait until every field has taken the keys already sent to it.

        ctrl+s is handled as soon as it arrives; in a burst of typing (a fast typist,
        an ID card reader) the last characters may still be queued in a field.
        """
        waits = []
        for row in self.rows():
            done = asyncio.Event()
            row.control.call_later(done.set)
            waits.append(done.wait())
        await asyncio.gather(*waits)

    def values(self) -> dict[str, str]:
        return {row.spec.name: row.value() for row in self.rows()}

    @property
    def dirty(self) -> bool:
        return any(row.value() != self._initial.get(row.spec.name, "") for row in self.rows())

    def show_errors(self, errors: Sequence[FieldError]) -> None:
        """Each message beside its field; the cursor goes to the first one in the form."""
        by_field = {e.field: e.message for e in reversed(errors)}
        first: FieldRow | None = None
        for row in self.rows():
            message = by_field.get(row.spec.name, "")
            row.show_error(message)
            if message and first is None:
                first = row
        if first is not None:
            self.screen.set_focus(first.control)

    def clear_errors(self) -> None:
        for row in self.rows():
            row.show_error("")

    def reset(self, keep_sticky: bool = True) -> None:
        """Empty the fields for the next record; sticky fields keep what was typed."""
        values = self.values()
        self._initial = {
            spec.name: values[spec.name] if keep_sticky and spec.sticky else spec.default
            for spec in self.specs
        }
        for row in self.rows():
            row.refresh_options()
            row.set_value(self._initial.get(row.spec.name, ""))
            row.show_error("")

    def mark_saved(self) -> None:
        self._initial = self.values()

    def focus_field(self, name: str) -> None:
        self.screen.set_focus(self.row(name).control)
