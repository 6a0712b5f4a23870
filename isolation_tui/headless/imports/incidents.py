"""Incidents: what happened at a point, open or already handled."""

from __future__ import annotations

from .base import Importer
from .reading import Column, Row


class IncidentsImporter(Importer):
    columns = (
        Column("point", ("隔离点", "隔离点编号"), True),
        Column("occurred_at", ("发生时间",), True),
        Column("kind", ("事件类型", "类型"), True),
        Column("severity", ("严重程度", "级别"), True),
        Column("summary", ("概要", "事件概要", "摘要"), True),
        Column("status", ("状态", "处置状态")),
        Column("handled_at", ("处置时间",)),
        Column("resolution", ("处置结果",)),
        Column("reported_to", ("上报", "报告对象", "上报单位")),
        Column("id", ("编号", "记录号")),
        Column("stays", ("涉及人员",)),
        Column("actions", ("处置过程",)),
        Column("voided", ("作废",)),
    )

    def apply(self, row: Row) -> int | None:
        fields = dict(row.fields)
        if self.skip(fields):
            return None
        self.point_code(fields)
        for informational in ("id", "stays", "actions", "voided"):
            fields.pop(informational, None)
        return self.store.open_incident(fields)
