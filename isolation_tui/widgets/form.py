"""A keyboard-first form: one row per field, the error beside it, enter moves on.

Fields are named by the domain's English field names, so what the form returns
goes straight to the rules, and the rules' errors come straight back to the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Footer, Input, Label, Select, Static
from textual.widgets._select import SelectOverlay

from ..domain.codes import CodeSet
from ..domain.errors import FieldError
from ..domain.rules import strip_controls
from ..i18n import t
from .breaking_static import BreakingStatic
from .keys import translate_bindings

Options = Sequence[tuple[str, str]]
# The width of a field (as in the style sheet), and the most a choice may take at 80
# columns beside an 18-column label.
CONTROL_WIDTH = 28
CHOICE_MAX_WIDTH = 40


def _plain(label: object) -> str:
    return label.plain if isinstance(label, Text) else str(label)


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
    unlettered: frozenset[str] = frozenset()
    """Choices a typed letter never picks (a grave discharge kind): only the list does."""

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
    every field); space or an arrow key opens the list, and choosing from it moves on.
    Typing a letter or a character chooses the first choice that starts with what was
    typed (``p`` passport, ``女``, ``30`` room 301); the same letter again, the next one.
    A character that fits no choice means a word is being typed into the wrong field
    (seen: a reason typed into a discharge's kind picked "absconded" letter by letter):
    the choice goes back to what it was before the letters, a bell rings, and no more
    letters are taken until another key (backspace, an arrow) or another field.
    ``unlettered`` choices are never picked by a letter, only from the list.

    ``dummy_blank``: the blank shown before anything is chosen is not a choice: the
    list leaves it out (the field may still be empty, then a save names it)."""

    def __init__(
        self,
        *args: Any,
        dummy_blank: bool = False,
        unlettered: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> None:
        self._dummy_blank = dummy_blank
        super().__init__(*args, **kwargs)
        self._unlettered = unlettered
        self._typed = ""
        # The choice before the letters typed since another key; ``_refusing``: a
        # character fitted no choice, so the rest of the word is not taken.
        self._before: object = None
        self._refusing = False

    def _setup_variables_for_options(self, options: Any) -> None:
        super()._setup_variables_for_options(options)
        # Called by Select's __init__, before ``_dummy_blank`` is set: look it up safely.
        if getattr(self, "_dummy_blank", False) and self._allow_blank:
            # No choice stays a legal value; only the list entry standing for it goes,
            # and with it every index the list and its options share stays aligned.
            self._options = [(label, value) for label, value in self._options if value != self.NULL]

    def on_blur(self) -> None:
        self._end_letters()

    def _end_letters(self) -> None:
        self._typed, self._before, self._refusing = "", None, False

    def watch_value(self) -> None:
        _follow(self)

    def action_show_overlay(self) -> None:
        """Open the list on the current choice, or on the first real one."""
        super().action_show_overlay()
        overlay = self.query_one(SelectOverlay)
        if overlay.highlighted is None and overlay.option_count:
            overlay.highlighted = 0

    def watch_expanded(self, expanded: bool) -> None:
        if expanded:
            self._fit_list()

    def _fit_list(self) -> None:
        """The open list lies between the form's top and the footer, never over the
        footer (which says how to close it): below the field where it fits, else on
        the side with more room, scrolling what does not fit."""
        overlay = self.query_one(SelectOverlay)
        screen = self.screen
        footers = screen.query(Footer)
        bottom = footers.first().region.y if footers else screen.size.height
        forms = [a for a in self.ancestors if isinstance(a, RecordForm)]
        top = forms[0].region.y if forms else 0
        wanted = overlay.option_count + overlay.styles.gutter.height
        field = self.region
        below = bottom - field.bottom
        above = field.y - top
        if wanted <= below or below >= above:
            overlay.styles.max_height = max(min(wanted, below), 1)
            overlay.styles.offset = (0, 0)
        else:
            height = min(wanted, above)
            overlay.styles.max_height = height
            overlay.styles.offset = (0, -(height + field.height))

    def on_key(self, event: events.Key) -> None:
        character = event.character
        # A space opens the list, but in a word being refused it is part of the word.
        if (
            self.expanded
            or not event.is_printable
            or not character
            or (character == " " and not self._refusing)
        ):
            self._end_letters()
            return
        event.stop()
        event.prevent_default()
        if self._refusing:
            return
        if not self._typed:
            self._before = self.value
        found = self.match(self._typed + character)
        if found is not None:
            self._typed += character
        elif self._typed and set(self._typed) == {character}:
            found = self.match(character, after=self.value)  # the same letter: the next
        if found is None:
            # A word, not a choice: undo what its first letters chose, and say so.
            self.app.bell()
            self._refusing = True
            if self._before is not None and self._before != self.value:
                self.value = self._before  # type: ignore[assignment]
        elif found != self.value:
            self.value = found

    def match(self, typed: str, after: object = None) -> str | None:
        """The first choice whose label or code starts with ``typed``; with ``after``,
        the first one after that choice (round to the top)."""
        key = typed.casefold()
        hits = [
            value
            for label, value in self._options
            if isinstance(value, str)
            and value not in self._unlettered
            and (_plain(label).casefold().startswith(key) or value.casefold().startswith(key))
        ]
        if not hits:
            return None
        if after in hits:
            return hits[(hits.index(after) + 1) % len(hits)]
        return hits[0]

    def choice_for(self, text: str, codes: CodeSet | None) -> str | None:
        """The choice a pasted cell names: its code, its label, or a word the code set
        knows (``女``, ``护照``)."""
        key = text.strip().casefold()
        for label, value in self._options:
            if isinstance(value, str) and key in (value.casefold(), _plain(label).casefold()):
                return value
        parsed = codes.parse(text) if codes is not None else None
        return parsed if parsed in {v for _, v in self._options} else None

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
        # Moved at once, not by the app's queue (``focus()``) nor after a refresh: keys
        # are handled in order (widgets/key_order.py), so the next key must find the
        # cursor already on the next field (a donation's donor, shown by this choice).
        self.screen.set_focus(self)
        self.screen.focus_next()


class TextField(Input):
    """Text as typed, without control characters (they would corrupt the terminal).

    The cursor does not blink: over SSH every blink is bytes on a weak link.
    A paste of several lines or cells is never cut to its first: in a form it fills
    the fields (the form decides), elsewhere it is refused with a message.
    """

    class Pasted(Message):
        """Several lines, or cells separated by tabs, pasted into ``field``."""

        def __init__(self, field: TextField, lines: list[str]) -> None:
            super().__init__()
            self.field = field
            self.lines = lines

    def on_mount(self) -> None:
        self.cursor_blink = False

    def watch_value(self) -> None:
        _follow(self)

    def insert_text_at_cursor(self, text: str) -> None:
        super().insert_text_at_cursor(strip_controls(text))

    def restricted(self) -> None:
        """A key past the field's limit: said, not only rung (a bell may be off)."""
        super().restricted()
        if self.max_length and len(self.value) >= self.max_length:
            self.notify(t("ui.typed_too_long", limit=self.max_length), severity="warning")

    def _on_paste(self, event: events.Paste) -> None:
        lines = event.text.splitlines()
        while lines and not lines[-1].strip():
            lines.pop()  # a copied cell or a card reader ends with a line break
        if len(lines) <= 1 and "\t" not in event.text:
            return  # one line: Input's own handler takes it
        event.stop()
        event.prevent_default()
        if any(isinstance(node, RecordForm) for node in self.ancestors):
            self.post_message(self.Pasted(self, lines))
        else:
            self.notify(t("ui.paste_one_line"), severity="warning", markup=False)


def _follow(control: Widget) -> None:
    """Tell the form a field's value changed, at once: not by a message, which would
    be handled after the keys of the same burst (a field shown or hidden by this one
    would then be shown or hidden after those keys went past it)."""
    form = next((node for node in control.ancestors if isinstance(node, RecordForm)), None)
    row = control.parent
    if form is not None and isinstance(row, FieldRow) and not row.quiet:
        form.changed(row.spec.name, row.value())


class FieldRow(Horizontal):
    def __init__(self, spec: FieldSpec, value: str) -> None:
        super().__init__(classes="field-row", id=f"row-{spec.name}")
        self.spec = spec
        self.initial = value
        # What is shown, so that a save redraws only what it changes: every update
        # of a message or of a list of choices lays the form out again.
        self._options: list[tuple[str, str]] = []
        self._error = ("", False)
        self.quiet = False
        """Set while the choices are replaced: the blank in between is no change."""

    def on_descendant_focus(self) -> None:
        # Marked by hand: the label beside the cursor must always be the one lit.
        self.add_class("-current")

    def on_descendant_blur(self) -> None:
        self.remove_class("-current")

    def compose(self) -> ComposeResult:
        yield Label(t(f"field.{self.spec.name}"), classes="field-label", markup=False)
        if self.spec.is_choice:
            options = self._options = list(self.spec.choices())
            values = {v for _, v in options}
            choice = ChoiceField(
                options,
                value=self.initial if self.initial in values else Select.NULL,
                allow_blank=bool(self.spec.blank_label) or self.initial not in values,
                prompt=t(self.spec.blank_label) if self.spec.blank_label else "—",
                dummy_blank=not self.spec.blank_label,
                unlettered=self.spec.unlettered,
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
        yield BreakingStatic("", classes="field-error", id=f"error-{self.spec.name}", markup=False)

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
            options = list(self.spec.choices())
            if options == self._options:
                return
            current = self.value()
            self._options = options
            self.quiet = True
            try:
                control.set_options(options)
                if current in {v for _, v in options}:
                    control.value = current
            finally:
                self.quiet = False
            if self.value() != current:
                _follow(control)

    def show_error(self, message: str, hint: bool = False) -> None:
        if (message, hint) == self._error:
            return
        self._error = (message, hint)
        error = self.query_one(".field-error", Static)
        error.update(message)
        error.set_class(bool(message) and not hint, "-error")
        error.set_class(hint, "-hint")


class RecordForm(VerticalScroll, can_focus=False):
    """The fields of one record. ``values()`` gives text by field name."""

    def __init__(
        self,
        specs: Sequence[FieldSpec],
        values: dict[str, str],
        paste_columns: Sequence[str] = (),
        follow: Callable[[str, str], None] | None = None,
        **kwargs: str,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.specs = list(specs)
        self._follow = follow
        self._initial = {spec.name: spec.default for spec in self.specs} | values
        self.paste_columns = tuple(paste_columns)

    def compose(self) -> ComposeResult:
        for spec in self.specs:
            yield FieldRow(spec, self._initial.get(spec.name, ""))

    def rows(self) -> Iterable[FieldRow]:
        return self.query(FieldRow)

    def row(self, name: str) -> FieldRow:
        return self.query_one(f"#row-{name}", FieldRow)

    def changed(self, name: str, value: str) -> None:
        """A field's value changed (typed, chosen, pasted or set): what depends on it
        (fields shown, choices offered, a hint) follows before the next key."""
        if self._follow is not None and self.is_mounted:
            self._follow(name, value)

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

    def paste(self, start: str, lines: list[str]) -> tuple[str, bool]:
        """Fill fields from a paste, all or nothing: lines (a card reader, a copied
        column) go one each into ``start`` and the fields after it; one row of cells
        separated by tabs (a copied spreadsheet row) into ``paste_columns`` in order,
        or the fields from ``start`` on. An empty cell leaves its field as it is.
        Returns the message to show and whether the paste was refused."""
        names = [spec.name for spec in self.specs]
        following = names[names.index(start) :]
        if len(lines) == 1:
            cells = lines[0].split("\t")
            targets = list(self.paste_columns) or following
        elif any("\t" in line for line in lines):
            return t("ui.paste_one_row"), True
        else:
            cells, targets = lines, following
        if len(cells) > len(targets):
            return t("ui.paste_too_many", count=len(cells), fields=len(targets)), True
        values: dict[str, str] = {}
        for name, raw in zip(targets, cells, strict=False):
            cell = strip_controls(raw).strip()
            if not cell:
                continue
            if name not in names:
                return t("ui.paste_no_field", field=name, value=cell), True
            row = self.row(name)
            control = row.control
            label = t(f"field.{name}")
            if isinstance(control, ChoiceField):
                choice = control.choice_for(cell, row.spec.codes)
                if choice is None:
                    return t("ui.paste_no_choice", field=label, value=cell), True
                values[name] = choice
            elif len(cell) > row.spec.max_length:
                return t("ui.paste_too_long", field=label, limit=row.spec.max_length), True
            else:
                values[name] = cell
        for name, value in values.items():
            self.row(name).set_value(value)
        filled = ", ".join(t(f"field.{name}") for name in values)
        return t("ui.pasted", count=len(values), fields=filled), False
