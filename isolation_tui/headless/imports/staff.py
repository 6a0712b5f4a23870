"""Staff: the people who work at a point, with their role and phone."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...domain.records import is_live
from ...domain.staff import MAX_NAME, MAX_PHONE, staff_from_fields
from ...storage.repository import Store
from ...storage.tables import STAFF
from .base import Importer, Outcome
from .reading import Column, Row, Table


def _same(person: Mapping[str, Any]) -> tuple[str, str, str]:
    """What makes two rows one person: a file sent twice, or a row repeated."""
    return (person["point"], person["name"], person["phone"])


class StaffImporter(Importer):
    columns = (
        Column("point", ("隔离点", "隔离点编号", "隔离点代码"), True),
        Column("name", ("姓名",), True, MAX_NAME),
        Column("role", ("岗位", "职务", "类别", "人员类别"), True),
        Column("phone", ("电话", "联系电话", "手机", "手机号", "手机号码"), False, MAX_PHONE),
        Column("notes", ("备注",)),
        Column("id", ("编号", "人员编号")),
        Column("voided", ("作废",)),
    )

    reads = frozenset({"points", STAFF})
    record_table = STAFF

    def __init__(self, store: Store, table: Table, outcome: Outcome) -> None:
        super().__init__(store, table, outcome)
        # Staff are never sealed: the live set has them all.
        self.known = {_same(doc) for doc in store.live_rows(STAFF).values() if is_live(doc)}

    def apply(self, row: Row) -> int | None:
        fields = dict(row.fields)
        if self.skip(fields):
            return None
        self.point_code(fields)
        fields.pop("id", None)
        same = _same(staff_from_fields(fields, self.store.points()))
        if same in self.known:
            self.outcome.skipped += 1
            return None
        staff_id = self.store.staff.add_staff(fields)
        self.known.add(same)
        return staff_id
