"""Arrivals: a bus of people registered at once, each with a room and a period."""

from __future__ import annotations

from collections.abc import Callable

from ...domain.errors import FieldError
from ...domain.idnumber import MAX_ID_NUMBER
from ...domain.records import person_key
from ...domain.rules import clean_text
from ...storage.rebase import Affects
from ...storage.repository import Store
from ...storage.tables import STAYS, TESTS
from .base import Doc, Importer, Outcome
from .reading import Column, Row, Table

_STAY_OPEN = {"", "open", "在隔", "隔离中"}
_STAY_CLOSED = {"discharged", "已解除", "已离开", "解除"}


class ArrivalsImporter(Importer):
    columns = (
        Column("point", ("隔离点", "隔离点编号", "隔离点代码"), True),
        Column("room", ("房间", "房间号", "房号")),
        Column("name", ("姓名",), True),
        Column("sex", ("性别",)),
        Column("birth_date", ("出生日期", "出生年月日", "生日")),
        Column("id_type", ("证件类型",)),
        Column("id_number", ("证件号码", "证件号", "身份证号", "身份证号码"), True, MAX_ID_NUMBER),
        Column("nationality", ("国籍", "国家/地区")),
        Column("phone", ("电话", "联系电话", "手机", "手机号", "手机号码")),
        Column("origin", ("来源地", "出发地", "来源")),
        Column("transport", ("交通工具", "航班号", "车次", "航班/车次", "交通方式")),
        Column("category", ("类别", "人员类别"), True),
        Column("arrived_at", ("到达时间", "入住时间", "抵达时间"), True),
        Column("quarantine_days", ("隔离天数",)),
        Column("notes", ("备注",)),
        Column("shares_room", ("同住", "同户同住", "合住")),
        Column("id", ("编号", "记录号")),
        Column("status", ("状态", "在隔状态", "隔离状态")),
        Column("release_due", ("解除日期", "应解除日期", "到期日期")),
        Column("voided", ("作废",)),
    )

    reads = frozenset({"points", "stays", "tests"})
    record_table = "stays"

    def __init__(self, store: Store, table: Table, outcome: Outcome) -> None:
        super().__init__(store, table, outcome)
        # Where the rows placed people: the rooms, by point, and the points where
        # a row left the room to the first free one.
        self.placed: dict[str, set[str]] = {}
        self.chosen: set[str] = set()

    def affects(self) -> Affects:
        """What others change meanwhile matters to the rows only when it is about a
        person the file names, a room the rows put someone in, a room freed at a
        point where a row took the first free room, or a point; new tests are of
        other people's stays."""
        people, placed, chosen = self.people, self.placed, self.chosen

        def touches(table: str, before: Doc | None, after: Doc | None) -> bool:
            if table == TESTS:
                return False
            if table != STAYS:
                return True
            for stay in (before, after):
                if stay is None:
                    continue
                person = stay.get("person") or {}
                if person_key(person.get("id_type", ""), person.get("id_number", "")) in people:
                    return True
                if stay.get("status") != "open":
                    continue
                point, room = stay.get("point", ""), stay.get("room", "")
                if room in placed.get(point, ()) or (stay is before and point in chosen):
                    return True
            return False

        return touches

    def kept(self, table: str) -> Callable[[Doc], Doc] | None:
        """Of the stays made, what later rows' checks read (who, where, still open);
        the tests planned for them are read only by their own row."""
        if table == STAYS:
            return _stay_stub
        return None if table == TESTS else super().kept(table)

    def apply(self, row: Row) -> int | None:
        fields = dict(row.fields)
        raw_status = clean_text(fields.get("status", ""))
        status = raw_status.lower()
        if self.skip(fields):
            return None
        if status in _STAY_CLOSED:
            self.outcome.skipped += 1
            return None
        if status not in _STAY_OPEN:
            raise FieldError(
                "status", "error.unknown_code", value=raw_status, choices="open, discharged"
            )
        self.point_code(fields)
        key = self.person(row)
        for informational in ("id", "status", "release_due", "voided"):
            fields.pop(informational, None)
        stay_id = self.store.stays.register(fields)
        if key:
            self.people[key] = row.line
        stay = self.store.get(STAYS, stay_id) or {}
        self.placed.setdefault(stay.get("point", ""), set()).add(stay.get("room", ""))
        if not clean_text(fields.get("room", "")):
            self.chosen.add(stay.get("point", ""))
        return stay_id


_STUB_FIELDS = ("point", "room", "status", "shares_with", "voided")
# Of the person: who they are (the index of people in isolation) and how a message
# about a room they are in names them.
_STUB_PERSON = ("name", "sex", "id_type", "id_number")


def _stay_stub(stay: Doc) -> Doc:
    stub = {name: stay[name] for name in _STUB_FIELDS if name in stay}
    stub["person"] = {name: stay["person"][name] for name in _STUB_PERSON}
    return stub
