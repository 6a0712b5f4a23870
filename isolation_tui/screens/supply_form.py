"""A receipt, an issue, a transfer or a count of supplies at the supervisor's point.

It stays open after a save, as the arrival form does for a bus: at a handover the
issues of a shift are entered item after item, and the time (and for receipts the
kind, donor and other point) stays filled."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.widgets import Select

from ..domain.codes import CodeSet
from ..domain.supplies import MOVEMENT, RECEIPTS, item_label, unit_label
from ..i18n import t
from ..storage.tables import SUPPLIES, SUPPLY_ITEMS
from ..widgets.form import FieldSpec, Options
from .base import FormScreen

# The kinds of receipt offered in the form: the labels are the movements' own.
RECEIPT = CodeSet(MOVEMENT.name, RECEIPTS, MOVEMENT.aliases)
# The form's action, and the movement it stores when the form has no kind field.
FORMS = {"receive": "", "issue": "issue", "transfer": "transfer_out", "count": "adjustment"}


class SupplyFormScreen(FormScreen):
    mode_name = "supplies"
    watched_tables = frozenset({SUPPLIES, SUPPLY_ITEMS})

    def __init__(self, action: str, point: str, item: str = "") -> None:
        super().__init__()
        self.action = action
        self.point = point
        self.item = item

    def heading(self) -> str:
        point = self.store.point(self.point)
        return t(f"ui.title_supply_{self.action}", point=point["name"] if point else self.point)

    def _items(self) -> Options:
        return [
            (f"{item_label(item)} ({unit_label(unit)})", item)
            for item, unit, _ in self.store.supplies.items(self.point)
        ]

    def _other_points(self) -> Options:
        return [
            (f"{code} {p['name']}", code)
            for code, p in self.store.points().items()
            if code != self.point
        ]

    def specs(self) -> Sequence[FieldSpec]:
        # What changes from one entry to the next comes first: the item and its figure.
        # A choice always holds one: the last item stays, a letter chooses the next.
        item = FieldSpec("item", options=self._items, sticky=True)
        at = FieldSpec("at", hint="ui.hint_time", sticky=True)
        notes = FieldSpec("notes")
        if self.action == "receive":
            return [
                item,
                FieldSpec("quantity", max_length=9),
                FieldSpec("kind", codes=RECEIPT, sticky=True),
                FieldSpec("donor", sticky=True, hint="ui.hint_donor"),
                FieldSpec("other_point", options=self._other_points, sticky=True),
                at,
                notes,
            ]
        if self.action == "transfer":
            return [
                item,
                FieldSpec("quantity", max_length=9),
                FieldSpec("other_point", options=self._other_points, sticky=True),
                at,
                notes,
            ]
        if self.action == "count":
            return [item, FieldSpec("counted", max_length=9), FieldSpec("reason"), at]
        return [item, FieldSpec("quantity", max_length=9), at, notes]

    def initial_values(self) -> dict[str, str]:
        values = {"at": t("ui.now"), "item": self.item}
        if self.action == "receive":
            values["kind"] = "delivery"
        return values

    def on_mount(self) -> None:
        if self.action == "receive":
            self._fields_follow_the_kind("delivery")

    @on(Select.Changed, "#field-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        self._fields_follow_the_kind(str(event.value))

    def _fields_follow_the_kind(self, kind: str) -> None:
        """A donor for a donation, the other point for a transfer: nothing else asks.
        A kind chosen from the open list has already moved the cursor on, past the
        field that only now shows: it goes back there."""
        names = [spec.name for spec in self.form.specs]
        focused = (self.focused.id or "").removeprefix("field-") if self.focused else ""
        for name, shown in (("donor", kind == "donation"), ("other_point", kind == "transfer_in")):
            row = self.form.row(name)
            appears = shown and not row.display
            row.display = shown
            if not shown:
                row.set_value("")
            if appears and focused in names and names.index(focused) > names.index(name):
                self.form.focus_field(name)

    def save(self, values: dict[str, str]) -> str:
        kind = values.pop("kind", "") or FORMS[self.action]
        fields = {**values, "point": self.point}
        movement_id = self.store.supplies.record(kind, fields)
        label = item_label(fields["item"])
        if not movement_id:
            return t("ui.saved_count_matches", item=label)
        quantity = fields.get("quantity") or fields.get("counted", "")
        return t(
            "ui.saved_supply",
            id=movement_id,
            kind=MOVEMENT.label(kind),
            item=label,
            quantity=quantity,
        )

    def after_save(self) -> None:
        """The next item of the same delivery, shift or count."""
        self.form.reset(keep_sticky=True)
        self.form.focus_field("item")
