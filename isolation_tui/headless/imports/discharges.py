"""Discharges: people leaving, found by their ID number's open stay."""

from __future__ import annotations

from ...domain.errors import Collector
from ...domain.idnumber import MAX_ID_NUMBER
from ...domain.rules import clean_text
from .base import Importer
from .reading import Column, Row


class DischargesImporter(Importer):
    columns = (
        Column("id_type", ("证件类型",)),
        Column("id_number", ("证件号码", "证件号", "身份证号", "身份证号码"), True, MAX_ID_NUMBER),
        Column("name", ("姓名",)),
        Column("point", ("隔离点", "隔离点编号")),
        Column("discharged_at", ("解除时间", "离开时间", "解除隔离时间"), True),
        Column("kind", ("去向类型", "类型"), True),
        Column("destination", ("去向", "目的地")),
        Column("negative_test", ("核酸阴性", "核酸检测阴性")),
        Column("certificate", ("证明编号", "解除隔离证明编号")),
        Column("notes", ("备注",)),
        Column("override", ("放行理由", "特批理由", "特批放行理由")),
        Column("id", ("编号", "记录号")),
        Column("stay", ("入住编号",)),
        Column("voided", ("作废",)),
    )

    reads = frozenset({"points", "stays", "tests", "discharges"})
    record_table = "discharges"

    def apply(self, row: Row) -> int | None:
        fields = dict(row.fields)
        if self.skip(fields):
            return None
        key = self.person(row)
        # Never look a stay up by an exported stay id: ids differ between databases.
        for informational in ("id", "stay", "voided"):
            fields.pop(informational, None)
        stay_id = self.store.find_open_stay(fields)
        stay = self.store.get("stays", stay_id) if stay_id is not None else None
        if stay is not None:
            errors = Collector()
            name = clean_text(fields.get("name", ""))
            if name and name != stay["person"]["name"]:
                errors.add("name", "import.name_mismatch", name=stay["person"]["name"])
            self.point_code(fields)
            point = clean_text(fields.get("point", ""))
            if point and point != stay["point"]:
                errors.add("point", "import.point_mismatch", point=stay["point"])
            errors.raise_if_any()
        discharge_id = self.store.stays.discharge(fields)
        if key:
            self.people[key] = row.line
        return discharge_id
