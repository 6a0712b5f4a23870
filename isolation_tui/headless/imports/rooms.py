"""Rooms: set a point up (or change its rooms) from a list of rooms."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ...domain.errors import Collector, FieldError, ValidationFailed
from ...domain.records import Room
from ...domain.rules import clean_code, clean_text, parse_bool
from ...i18n import t
from .base import MAX_CODE, Importer
from .reading import Column, Problem, Row

MAX_BEDS = 100
_BLOCKED_WORDS = {"blocked": True, "停用": True, "封闭": True, "可用": False, "启用": False}


class RoomsImporter(Importer):
    columns = (
        Column("point", ("隔离点", "隔离点编号", "隔离点代码", "点位编号"), True, MAX_CODE),
        Column("point_name", ("隔离点名称", "名称", "点位名称")),
        Column("room", ("房间", "房间号", "房号"), True, MAX_CODE),
        Column("floor", ("楼层",), limit=MAX_CODE),
        Column("beds", ("床位", "床位数", "床数"), True),
        Column("blocked", ("停用", "封闭", "是否停用")),
        Column("address", ("地址",)),
    )

    reads = frozenset({"points", "stays"})

    def run(self, rows: list[Row], tick: Callable[[], None], *, spill: bool = False) -> None:
        """Rooms are saved one point at a time (one audited change per point), so rows
        are checked first and grouped; a point's problem goes back to its room's row.
        A point's rooms are one record: nothing to spill."""
        groups: dict[str, list[tuple[Row, Room]]] = {}
        names: dict[str, tuple[str, int]] = {}
        addresses: dict[str, str] = {}
        seen: dict[tuple[str, str], int] = {}
        for row in rows:
            tick()
            if self.too_long(row) or self.skip(row.fields):
                continue
            try:
                code, room = self._room(row, names, addresses, seen)
            except ValidationFailed as exc:
                for error in exc.errors:
                    self.fail(row.line, error.field, error.message)
                continue
            groups.setdefault(code, []).append((row, room))
        for code, members in groups.items():
            try:
                self.store.save_point(
                    code,
                    names.get(code, ("", 0))[0],
                    [room for _, room in members],
                    address=addresses.get(code, ""),
                )
            except FieldError as exc:
                rows_by_room = {room["code"]: r.line for r, room in members}
                line = rows_by_room.get(str(exc.params.get("room", "")), members[0][0].line)
                self.fail(line, exc.field, exc.message)
                continue
            except Exception as exc:  # the promise: no traceback, whatever the file holds
                message = t("import.unexpected", error=f"{type(exc).__name__}: {exc}")
                self.outcome.problems.append(Problem(members[0][0].line, "", message))
                continue
            self.outcome.points += 1
            self.outcome.rows += len(members)

    def _room(
        self,
        row: Row,
        names: dict[str, tuple[str, int]],
        addresses: dict[str, str],
        seen: dict[tuple[str, str], int],
    ) -> tuple[str, Room]:
        fields = row.fields
        errors = Collector()
        code = self._short(errors, fields, "point")
        room_code = self._short(errors, fields, "room")
        floor = self._code(errors, fields, "floor")
        beds = 0
        raw_beds = clean_text(fields.get("beds", ""))
        if not raw_beds:
            errors.add("beds", "error.required")
        elif not (raw_beds.isascii() and raw_beds.isdigit()):
            errors.add("beds", "error.not_number", value=raw_beds)
        elif int(raw_beds) > MAX_BEDS:
            errors.add("beds", "error.out_of_range", value=int(raw_beds), low=0, high=MAX_BEDS)
        else:
            beds = int(raw_beds)
        raw_blocked = clean_text(fields.get("blocked", ""))
        blocked = _BLOCKED_WORDS.get(raw_blocked.lower())
        if blocked is None:
            blocked = parse_bool(errors, "blocked", raw_blocked)
        name = clean_text(fields.get("point_name", ""))
        if code and name:
            first = names.setdefault(code, (name, row.line))
            if first[0] != name:
                errors.add("point_name", "import.point_name_differs", row=first[1], name=first[0])
        address = clean_text(fields.get("address", ""))
        if code and address:
            addresses.setdefault(code, address)
        if code and room_code:
            earlier = seen.setdefault((code, room_code), row.line)
            if earlier != row.line:
                errors.add("room", "import.duplicate_room", row=earlier)
        errors.raise_if_any()
        return code, Room(code=room_code, floor=floor, beds=beds, blocked=blocked)

    @classmethod
    def _short(cls, errors: Collector, fields: Mapping[str, str], name: str) -> str:
        value = cls._code(errors, fields, name)
        if not value and not errors.has(name):
            errors.add(name, "error.required")
        return value

    @staticmethod
    def _code(errors: Collector, fields: Mapping[str, str], name: str) -> str:
        try:
            return clean_code(fields.get(name, ""), name)
        except FieldError as exc:
            errors.errors.append(exc)
            return ""
